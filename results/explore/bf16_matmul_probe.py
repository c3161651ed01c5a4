"""Probe (session 38, issue 24): are bf16 matmuls fast on this host? The three matmul shapes that dominate
the GPT-2 + clm L=200 step of docs/time_to_quality.md's timed recipe (batch 32, hidden 64, 3,416 items):
a block of 1,024 targets' logits against the item table, its item-table gradient, and an MLP projection
over 6,400 positions; float32 against bfloat16, 1 thread, medians of 20 (run beside two 1-thread training
runs: compare within the run only). Session 38's VM is a Zen 3 EPYC (AVX2, no AVX512-BF16, no AMX) under
the same "AMD EPYC" model name as the Zen 4 host (avx512_bf16) on which --bf16 took 14-25% off the step."""

import functools
import time

import torch


def median_ms(function, repeats=20):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[repeats // 2]


if __name__ == "__main__":
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    print(
        f"torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}, "
        f"oneDNN bf16 {torch.ops.mkldnn._is_mkldnn_bf16_supported()}"
    )
    shapes = {
        "logits (1024x64 @ 64x3416)": ((1024, 64), (64, 3416)),
        "item gradient (3416x1024 @ 1024x64)": ((3416, 1024), (1024, 64)),
        "MLP (6400x64 @ 64x256)": ((6400, 64), (64, 256)),
    }
    print("| matmul | float32 ms | bfloat16 ms | bf16 / fp32 |\n|---|---|---|---|")
    for name, (left, right) in shapes.items():
        a, b = torch.randn(left, generator=generator), torch.randn(right, generator=generator)
        fp32 = median_ms(functools.partial(torch.matmul, a, b))
        a16, b16 = a.bfloat16(), b.bfloat16()
        bf16 = median_ms(functools.partial(torch.matmul, a16, b16))
        print(f"| {name} | {fp32:.1f} | {bf16:.1f} | {bf16 / fp32:.1f}x |")
