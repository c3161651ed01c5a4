"""Milliseconds per training step (forward + backward + AdamW) of each family x scheme at a tiny size,
and the guard at the ML-1M size: the step next to the time of its own matmuls run alone.

Run:
    python benchmarks/train_step.py             # batch 32, sessions up to 16 items, hidden 32, 2 layers
    python benchmarks/train_step.py --steps 3   # the size the tests run
    python benchmarks/train_step.py --guard     # GPT-2 + clm and BERT + mlm at the ML-1M size

Uses the tiny configs of the test suite; median over ``--steps`` steps after 5 warm-up steps.

The guard (``--guard``): batch 64 x 200 items, hidden 64, 2 layers, 3,418 items, 2 threads. One step
is run under a dispatch mode that records every matrix multiply (mm, addmm, bmm, baddbmm: forward and
backward, attention, feed-forward and item head) with its shapes; those multiplies are then timed
alone, on fresh tensors of the same shapes, in the same process. The ratio step / matmuls says how
much of a step is spent outside the multiplies (the target: <= 1.3x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests._tiny import PAIRS, collator, sessions, tiny_model


def step_times(family: str, scheme: str, options: dict, steps: int) -> float:
    torch.manual_seed(0)
    model = tiny_model(family, scheme)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    collate = collator(scheme, **options)
    data = sessions(32 * (steps + 5))
    times = []
    for i in range(steps + 5):
        batch = collate(data[i * 32 : (i + 1) * 32])
        start = time.perf_counter()
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 5:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


MATMULS = ("mm.default", "addmm.default", "bmm.default", "baddbmm.default")


class MatmulRecorder(TorchDispatchMode):
    """Records (op, argument shapes and dtypes, scalar arguments) of every matrix multiply it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if str(func.__name__) in MATMULS:
            shapes = tuple((tuple(a.shape), a.dtype) if torch.is_tensor(a) else a for a in args)
            self.calls.append((func, shapes, dict(kwargs or {})))
        return func(*args, **(kwargs or {}))


def ml1m_model_and_batches(
    family: str,
    scheme: str,
    length: int,
    batch_size: int,
    count: int,
    dropout: str = "default",
    fused: bool = False,
    last_layer: bool = False,
) -> tuple:
    """A model of the ML-1M size (3,418 items, hidden 64, 2 layers, 2 heads; SDPA attention) for
    sequences of ``length`` and ``count`` training batches of ``batch_size`` random full-length sequences.
    ``dropout``: the configs' own 0.1 everywhere (``"default"``), 0.1 everywhere with attention dropout
    per key (``"key"``: ``SeqRecConfig.attention_dropout_unit``), none on the attention weights
    (``"no attention"``), or none at all (``"none"``); ``fused``: ``SeqRecConfig.fused_loss``; ``last_layer``:
    ``SeqRecConfig.last_layer_at_scored_positions`` (mlm)."""
    from transformers import BertConfig, GPT2Config

    from hf_seqmask import SCHEMES, SeqRecConfig, SeqRecModel

    vocab = 3_418 + 2
    attention = 0.0 if dropout in ("no attention", "none") else 0.1
    rest = 0.0 if dropout == "none" else 0.1
    if family == "gpt2":
        backbone = GPT2Config(
            vocab_size=vocab, n_positions=length, n_embd=64, n_layer=2, n_head=2,
            attn_pdrop=attention, resid_pdrop=rest, embd_pdrop=rest,
        )  # fmt: skip
    else:
        backbone = BertConfig(
            vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
            max_position_embeddings=length, attention_probs_dropout_prob=attention, hidden_dropout_prob=rest,
        )  # fmt: skip
    torch.manual_seed(0)
    unit = "key" if dropout == "key" else "weight"
    config = SeqRecConfig(
        backbone_config=backbone, scheme=scheme, max_seq_length=length, fused_loss=fused, attention_dropout_unit=unit,
        last_layer_at_scored_positions=last_layer,
    )  # fmt: skip
    model = SeqRecModel(config)
    collate = SCHEMES[scheme](vocab_size=vocab, mask_token_id=1, seed=0, max_length=length)
    generator = torch.Generator().manual_seed(0)
    batches = [
        collate(
            [{"input_ids": torch.randint(2, vocab, (length,), generator=generator).tolist()} for _ in range(batch_size)]
        )
        for _ in range(count)
    ]
    return model, batches


def guard(
    family: str,
    scheme: str,
    steps: int,
    profile_ops: int = 0,
    compile_backend: str | None = None,
    bf16: bool = False,
    dropout_variants: bool = False,
    fused_loss: bool = False,
    length: int = 200,
    batch_size: int = 64,
) -> dict:
    """(step ms, matmuls-alone ms, ratio) of ``family`` + ``scheme`` at the ML-1M size; with
    ``compile_backend`` also the step of ``torch.compile(model, backend=...)`` on the same batches;
    ``bf16``: also the eager step under ``torch.autocast("cpu", torch.bfloat16)`` (what ``--bf16`` does);
    ``dropout_variants``: also the eager step without attention dropout, and without any dropout;
    ``fused_loss``: also the eager step with the item head and loss fused (with ``bf16``: also under autocast).
    ``length`` and ``batch_size``: the batches' shape (the ML-1M guard's 200 x 64 unless a test shrinks it).
    The levers together, timed in turns: ``benchmarks/step_levers.py``."""
    model, batches = ml1m_model_and_batches(family, scheme, length, batch_size, steps + 2)
    step = step_of(model)
    step(batches[0])  # warm-up
    recorder = MatmulRecorder()
    with recorder:
        step(batches[1])
    times = []
    for batch in batches[2:]:
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
    step_ms = 1000 * statistics.median(times)
    bf16_ms = eager_step_ms(model, batches, bf16=True) if bf16 else None
    dropout_ms = {}
    if dropout_variants:  # the same step and batches, the dropout that costs less (or none: the ceiling)
        for variant in ("no attention", "none"):
            other = ml1m_model_and_batches(family, scheme, length, batch_size, 0, dropout=variant)[0]
            dropout_ms[variant] = eager_step_ms(other, batches)
    fused_ms = {}
    if fused_loss:  # (unfused, fused) on the same batches, timed alike and back to back
        fused = ml1m_model_and_batches(family, scheme, length, batch_size, 0, fused=True)[0]
        for variant in ("fp32", "bf16 autocast") if bf16 else ("fp32",):
            autocast = variant != "fp32"
            unfused_ms = eager_step_ms(model, batches, bf16=autocast)
            fused_ms[variant] = (unfused_ms, eager_step_ms(fused, batches, bf16=autocast))
    compiled_ms = compiled_dynamic_ms = None
    if compile_backend:
        compiled_ms = compiled_step_ms(model, step, batches, compile_backend, dynamic_targets=False)
        compiled_dynamic_ms = compiled_step_ms(model, step, batches, compile_backend, dynamic_targets=True)
    matmul_ms = 1000 * matmuls_alone(recorder.calls, steps)
    profile = None
    if profile_ops:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            step(batches[-1])
        profile = profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=profile_ops)
    return {
        "step_ms": step_ms,
        "matmul_ms": matmul_ms,
        "ratio": step_ms / matmul_ms,
        "matmuls": len(recorder.calls),
        "profile": profile,
        "compiled_ms": compiled_ms,
        "compiled_dynamic_ms": compiled_dynamic_ms,
        "bf16_ms": bf16_ms,
        "dropout_ms": dropout_ms,
        "fused_ms": fused_ms,
    }


def step_of(model):
    """A training step of ``model`` with its own AdamW: ``step(batch, forward=model)``."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(batch: dict, forward=model) -> None:
        loss = forward(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def eager_step_ms(model, batches: list, warmup: int = 2, bf16: bool = False) -> float:
    """Median ms of a fresh AdamW step of ``model`` over ``batches[warmup:]`` (the first ones warm it up);
    ``bf16``: the forward under ``torch.autocast("cpu", torch.bfloat16)`` (what the job's ``--bf16`` does)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for index, batch in enumerate(batches):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def compiled_step_ms(model, step, batches: list, backend: str, *, dynamic_targets: bool) -> float:
    """Median ms of ``step`` through ``torch.compile(model, backend=backend)``; ``dynamic_targets``: traced
    with data-dependent shapes on, so the loss scores the T targets (as eager) instead of every position."""
    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=dynamic_targets):
        compiled = torch.compile(model, backend=backend)
        step(batches[0], compiled)  # compiles (the batches share one shape; T varies, symbolic when dynamic)
        times = []
        for batch in batches[2:]:
            start = time.perf_counter()
            step(batch, compiled)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def matmuls_alone(calls: list[tuple], repeats: int) -> float:
    """Seconds the recorded multiplies take when run alone (median of ``repeats`` passes over all)."""
    prepared = []
    for func, shapes, kwargs in calls:
        arguments = [torch.randn(shape, dtype=dtype) if isinstance(shape, tuple) else shape for shape, dtype in
                     (s if isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], tuple) else (s, None)
                      for s in shapes)]  # fmt: skip
        prepared.append((func, arguments, kwargs))
    passes = []
    for _ in range(max(repeats, 3)):
        start = time.perf_counter()
        for func, arguments, kwargs in prepared:
            func(*arguments, **kwargs)
        passes.append(time.perf_counter() - start)
    return statistics.median(passes)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--guard", action="store_true", help="the ML-1M-size guard instead of the tiny grid")
    parser.add_argument("--profile", type=int, default=0, help="--guard: also print the N costliest ops of a step")
    parser.add_argument("--compile", default=None, help="--guard: also time the step compiled with this backend")
    parser.add_argument("--bf16", action="store_true", help="--guard: also time the eager step under bf16 autocast")
    parser.add_argument(
        "--dropout-variants", action="store_true", help="--guard: also time the step without attention dropout / any"
    )
    parser.add_argument(
        "--fused-loss", action="store_true", help="--guard: also time the step with the item head and loss fused"
    )
    parser.add_argument("--length", type=int, default=200, help="--guard: the sequence length (the guard's 200)")
    parser.add_argument("--batch-size", type=int, default=64, help="--guard: the batch size (the guard's 64)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    if args.guard:
        compiled_head = (
            f" compiled ({args.compile}) ms / step | eager / compiled | compiled, dynamic targets ms / step |"
            f" eager / compiled, dynamic targets |"
            if args.compile
            else ""
        )
        print(f"| model | scheme | ms / step | its matmuls alone, ms | step / matmuls | matmuls |{compiled_head}")
        print("|---|---|---|---|---|---|" + ("---|---|---|---|" if args.compile else ""))
        results: dict[str, float] = {}
        profiles: list[str] = []
        for family, scheme in (("gpt2", "clm"), ("bert", "mlm")):
            measured = guard(
                family, scheme, min(args.steps, 10), args.profile, args.compile, args.bf16, args.dropout_variants,
                args.fused_loss, args.length, args.batch_size,
            )  # fmt: skip
            for variant, (unfused, ms) in measured["fused_ms"].items():
                ratio = ms / measured["matmul_ms"]
                print(f"{family} + {scheme}: fused loss, {variant}: {ms:.0f} ms / step against {unfused:.0f} unfused "
                      f"({unfused / ms:.2f}x faster; {ratio:.2f}x the matmuls)")  # fmt: skip
            for variant, ms in measured["dropout_ms"].items():
                print(f"{family} + {scheme}: dropout {variant}: {ms:.0f} ms / step "
                      f"({measured['step_ms'] / ms:.2f}x faster than dropout 0.1 everywhere)")  # fmt: skip
            if measured["bf16_ms"]:
                print(f"{family} + {scheme}: bf16 autocast {measured['bf16_ms']:.0f} ms / step "
                      f"({measured['step_ms'] / measured['bf16_ms']:.2f}x the fp32 step)")  # fmt: skip
            results[f"{family}-{scheme}"] = measured["ratio"]
            compiled = measured["compiled_ms"]
            dynamic = measured["compiled_dynamic_ms"]
            compiled_cells = (
                f" {compiled:.0f} | {measured['step_ms'] / compiled:.2f}x | {dynamic:.0f} |"
                f" {measured['step_ms'] / dynamic:.2f}x |"
                if compiled
                else ""
            )
            print(
                f"| {family} | {scheme} | {measured['step_ms']:.0f} | {measured['matmul_ms']:.0f} | "
                f"{measured['ratio']:.2f}x | {measured['matmuls']} |{compiled_cells}"
            )
            if measured["profile"]:
                profiles.append(
                    f"\n{family} + {scheme}, the costliest ops of one step (self CPU time):\n{measured['profile']}"
                )
        print("".join(profiles))
        return results
    results = {}
    print("| model | scheme | ms / step |\n|---|---|---|")
    for family, scheme, options in PAIRS:
        results[f"{family}-{scheme}"] = ms = step_times(family, scheme, options, args.steps)
        print(f"| {family} | {scheme} | {ms:.1f} |")
    return results


if __name__ == "__main__":
    main()
