"""Probe (session 35, issue 24): can a dropout mask drawn as 16-bit integers (three per 64-bit random word,
compared with a threshold) beat F.dropout's Bernoulli draw on the CPU? One (64, 200, 64) activation, the
size of the guard's hidden dropout sites, 1 thread, medians of 20; run beside two 1-thread training runs
(compare within the run only). torch's int64 random_() leaves the top bit 0, so only the low three 16-bit
lanes of a word are uniform (checked here)."""

import time

import torch
import torch.nn.functional as F


def median_ms(function, repeats=20):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[repeats // 2]


def integer_mask_dropout(x, p=0.1):
    words = torch.empty((x.numel() + 2) // 3, dtype=torch.int64).random_()
    draws = words.view(torch.int16).view(-1, 4)[:, :3].reshape(-1)[: x.numel()].view(x.shape)
    return x * (draws >= -32768 + round(p * 65536)) * (1 / (1 - p))


if __name__ == "__main__":
    torch.set_num_threads(1)
    words = torch.empty(1_000_000, dtype=torch.int64).random_()
    lanes = words.view(torch.int16).view(-1, 4)
    shares = [round((lanes[:, i] < 0).float().mean().item(), 4) for i in range(4)]
    print("share of negative values per 16-bit lane:", shares)
    x = torch.randn(64, 200, 64)
    leaf = x.clone().requires_grad_()
    print(f"F.dropout forward: {median_ms(lambda: F.dropout(x, 0.1)):.1f} ms")
    print(f"integer mask forward: {median_ms(lambda: integer_mask_dropout(x)):.1f} ms")
    print(f"F.dropout forward + backward: {median_ms(lambda: F.dropout(leaf, 0.1).sum().backward()):.1f} ms")
    print(f"integer mask forward + backward: {median_ms(lambda: integer_mask_dropout(leaf).sum().backward()):.1f} ms")
