"""Probe (session 39, issue 24): two of BERT's elementwise costs on one activation of the guard's size,
1 thread, medians of 21 (run beside three 1-thread training runs: compare within the run only).

- dropout's mask: ``F.dropout`` (a Bernoulli draw, ``bernoulli_``) against a mask from ``torch.rand`` (the
  same distribution, another stream of draws), forward and backward on (64, 200, 64);
- GELU: the exact (erf) form BERT uses against the tanh approximation, on (64, 200, 256).
"""

import time

import torch
import torch.nn.functional as F


def median_ms(function, repeats=21):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[repeats // 2]


def rand_mask_dropout(x, p=0.1):
    keep = torch.rand(x.shape, dtype=x.dtype, generator=GENERATOR).ge_(p)
    return x * keep.mul_(1 / (1 - p))


GENERATOR = torch.Generator().manual_seed(0)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    hidden = torch.randn(64, 200, 64, requires_grad=True)
    grad = torch.randn(64, 200, 64)
    for name, dropout in (("F.dropout", lambda x: F.dropout(x, 0.1, True)), ("torch.rand mask", rand_mask_dropout)):
        both = median_ms(lambda dropout=dropout: torch.autograd.grad(dropout(hidden), hidden, grad))
        print(f"{name} forward + backward: {both:.1f} ms")
    inner = torch.randn(64, 200, 256, requires_grad=True)
    grad = torch.randn(64, 200, 256)
    for approximate in ("none", "tanh"):
        both = median_ms(lambda a=approximate: torch.autograd.grad(F.gelu(inner, approximate=a), inner, grad))
        print(f"gelu (approximate={approximate!r}) forward + backward: {both:.1f} ms")


if __name__ == "__main__":
    main()
