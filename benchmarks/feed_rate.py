"""Do the collators keep an accelerator fed? Training steps per second on the device next to the batches
per second a DataLoader with our collator delivers with 0, 2 and 4 workers, at the ML-1M size.

Run:
    python benchmarks/feed_rate.py --output docs/feed_rate.md          # on the GPU machine (cuda if present)
    python benchmarks/feed_rate.py --tiny                               # a CPU smoke run (what the tests run)

The step: GPT-2 + clm and BERT + mlm, batch 64 x 200 items, hidden 64, 2 layers, 3,418 items (ML-1M
after the 5-rating filter), forward + backward + AdamW on pre-collated batches already on the device,
timed with the device synchronised. The loader: the same collator (``model.data_collator("train")``) over
synthetic ML-1M-like histories (lengths drawn to ML-1M's mean of about 165 ratings, cut at 200; Zipf-like
item popularity), ``pin_memory`` on CUDA, batches per second after a warm-up. Target: the loader
delivers at least 2x the batches the device consumes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import BertConfig, GPT2Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hf_seqmask import SeqRecConfig, SeqRecModel

ITEMS = 3_418  # ML-1M's vocabulary: 3,416 items + pad + mask


def histories(count: int, max_length: int, seed: int = 0) -> list[dict]:
    """ML-1M-like rows: lengths log-normal around 165 (>= 20), cut at ``max_length``; Zipf-like items."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(100), 0.9, count).astype(int), 20, max_length)
    popularity = 1.0 / np.arange(1, ITEMS - 1)
    popularity /= popularity.sum()
    return [{"input_ids": (rng.choice(ITEMS - 2, size=n, p=popularity) + 2).tolist()} for n in lengths]


def build_model(family: str, hidden: int, layers: int, max_length: int) -> SeqRecModel:
    common = dict(vocab_size=ITEMS, pad_token_id=0)
    if family == "gpt2":
        backbone = GPT2Config(n_positions=max_length, n_embd=hidden, n_layer=layers, n_head=2,
                              bos_token_id=None, eos_token_id=None, **common)  # fmt: skip
        scheme = "clm"
    else:
        backbone = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                              intermediate_size=4 * hidden, max_position_embeddings=max_length, **common)  # fmt: skip
        scheme = "mlm"
    masking = {"mlm_probability": 0.2} if scheme == "mlm" else {}
    return SeqRecModel(
        SeqRecConfig(backbone_config=backbone, scheme=scheme, max_seq_length=max_length, masking=masking)
    )


def steps_per_second(
    model: SeqRecModel,
    rows: list[dict],
    batch: int,
    steps: int,
    device: torch.device,
    mode: str = "eager",
    backend: str = "inductor",
) -> float:
    """Training steps per second of ``model`` on ``device``: eager (``mode="eager"``, batches as wide as
    their longest row), or ``torch.compile(model, backend=backend, mode=mode)`` ("default",
    "reduce-overhead": CUDA graphs) on batches padded to ``max_seq_length``, so every step has one shape
    (what CUDA graphs replay). Compiled, the loss is traced with static shapes: it scores every position
    (the same mean loss), where eager and the main job's ``--torch_compile`` (dynamic targets) score the
    T targets only -- the same work for GPT-2 + clm, about five times the item head for BERT + mlm."""
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = device_batches(model, rows, batch, steps, device, fixed_shape=mode != "eager")
    torch._dynamo.reset()
    options = {"mode": mode} if backend == "inductor" else {}
    forward = model if mode == "eager" else torch.compile(model, backend=backend, **options)

    def run(count: int) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(count):
            optimizer.zero_grad(set_to_none=True)
            forward(**batches[i % len(batches)]).loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return count / (time.perf_counter() - start)

    run(3)  # warm-up: kernels, allocator (and, compiled, the graphs: CUDA graphs record on later calls)
    return statistics.median(run(steps) for _ in range(3))


def device_batches(
    model: SeqRecModel, rows: list[dict], batch: int, steps: int, device: torch.device, fixed_shape: bool
) -> list[dict]:
    """Up to ``steps`` training batches of ``batch`` rows collated by the model's own collator, on
    ``device``; ``fixed_shape``: padded to ``max_seq_length`` (one shape for every batch)."""
    fixed = {"pad_to_multiple_of": model.config.max_seq_length} if fixed_shape else {}
    collate = model.data_collator("train", seed=0, **fixed)
    return [
        {k: v.to(device) for k, v in collate(rows[i * batch : (i + 1) * batch]).items() if torch.is_tensor(v)}
        for i in range(min(steps, len(rows) // batch))
    ]


def loader_batches_per_second(model: SeqRecModel, rows: list[dict], batch: int, workers: int, count: int) -> float:
    loader = DataLoader(
        rows, batch_size=batch, shuffle=True, collate_fn=model.data_collator("train", seed=0), num_workers=workers,
        pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    iterator = iter(loader)
    for _ in range(min(3, count)):  # warm-up: workers started, first batches out
        next(iterator)
    start = time.perf_counter()
    for _ in range(count):
        try:
            next(iterator)
        except StopIteration:
            iterator = iter(loader)
            next(iterator)
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="hidden 16, 1 layer, L=20, few batches: a smoke run")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 2, 4])
    parser.add_argument("--output", default=None)
    parser.add_argument(
        "--compile-modes", nargs="*", default=[], help='also the step compiled in these torch.compile modes '
        '("default", "reduce-overhead"), on batches padded to max_length',
    )  # fmt: skip
    args = parser.parse_args(argv)
    hidden, layers, length, batch, steps, loader_batches = (
        (16, 1, 20, 8, 3, 6) if args.tiny else (64, 2, 200, 64, 30, 60)
    )
    device = torch.device(args.device)
    rows = histories(batch * (loader_batches + 8), length)
    lines = [
        "# Feeding the device: training steps vs DataLoader batches",
        "",
        f"Command: `{' '.join(['python benchmarks/feed_rate.py', *(argv if argv is not None else sys.argv[1:])])}`  ",
        f"Device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'}; "
        f"torch {torch.__version__}; {torch.get_num_threads()} torch threads in the main process.  ",
        f"Batch {batch} x {length} items, hidden {hidden}, {layers} layers, {ITEMS:,} items.",
        "",
        "| model + scheme | device steps/s | "
        + " | ".join(f"loader {w} workers batches/s" for w in args.workers)
        + " | best loader / steps |"
        + "".join(f" compiled {m} steps/s | {m} / eager |" for m in args.compile_modes),
        "|---|---|" + "---|" * len(args.workers) + "---|" + "---|---|" * len(args.compile_modes),
    ]
    notes = (
        ["", "Compiled: batches padded to max_length, the loss traced with static shapes (every position "
         "scored: BERT + mlm's item head runs on about five times eager's rows)."]
        if args.compile_modes else []
    )  # fmt: skip
    for family in ("gpt2", "bert"):
        model = build_model(family, hidden, layers, length)
        rate = steps_per_second(model, rows, batch, steps, device)
        model.cpu()
        loads = [loader_batches_per_second(model, rows, batch, w, loader_batches) for w in args.workers]
        compiled = [steps_per_second(model, rows, batch, steps, device, mode) for mode in args.compile_modes]
        label = "GPT-2 + clm" if family == "gpt2" else "BERT + mlm"
        lines.append(
            f"| {label} | {rate:.1f} | "
            + " | ".join(f"{v:.1f}" for v in loads)
            + f" | {max(loads) / rate:.1f}x |"
            + "".join(f" {c:.1f} | {c / rate:.2f}x |" for c in compiled)
        )
        text = "\n".join(lines + notes) + "\n"
        if args.output:  # after each row: a run cut short (a device's time limit) keeps what it measured
            Path(args.output).write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
