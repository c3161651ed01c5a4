"""Collators side by side on identical inputs: ours vs transformers', and two no-masking floors.

Run (the full grid, ~10 minutes on 2 cores; writes the Markdown report):
    python benchmarks/collate.py --output docs/benchmarks.md
    python benchmarks/collate.py --grid 8x10 --seconds 0.01 --loader-batches 2   # the size the tests run

Inputs: B sessions with lengths uniform in 2..L and item ids below 50,000, as lists of dicts of Python
lists and as dicts of int64 numpy arrays (what ``datasets`` yields with numpy format). transformers'
collators get an offline word-level tokenizer whose token id is the item id; its PLM collator needs an
even padded length, so the PLM rows of the report use the same sessions cut to even lengths for both
sides. Figures are medians of repeated calls after a warm-up call; ratios are taken within the run.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader
from transformers import (
    DataCollatorForLanguageModeling,
    DataCollatorForPermutationLanguageModeling,
    PreTrainedTokenizerFast,
)

from hf_seqmask import (
    CausalCollator,
    MaskedCollator,
    PermutationCollator,
    ReplacementCollator,
    expand_perm_order,
    identity_target_mapping,
)

VOCAB, PAD, MASK = 50_003, 0, 1


# ------------------------------------------------------------------------------------------ inputs
def item_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose token id is the item id (built offline, no hub)."""
    vocab = {str(i): i for i in range(VOCAB)} | {"[PAD]": PAD, "[MASK]": MASK}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[PAD]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", mask_token="[MASK]")


def sessions(batch: int, length: int, *, even: bool = False, seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    rows = [[rng.randrange(2, VOCAB) for _ in range(rng.randint(2, length))] for _ in range(batch)]
    return [row[: len(row) // 2 * 2] for row in rows] if even else rows


def as_lists(rows: list[list[int]]) -> list[dict]:
    return [{"input_ids": row} for row in rows]


def as_numpy(rows: list[list[int]]) -> list[dict]:
    return [{"input_ids": np.asarray(row, dtype=np.int64)} for row in rows]


# ------------------------------------------------------------------------------------------ floors
def pad_sequence_floor(features: list[dict]) -> torch.Tensor:
    """torch's own padding, no masking: one tensor per row, then pad_sequence."""
    return pad_sequence([torch.as_tensor(f["input_ids"]) for f in features], batch_first=True, padding_value=PAD)


def vectorised_pad_floor(features: list[dict]) -> torch.Tensor:
    """One flat np.fromiter over every item + one boolean scatter into the padded array, no masking."""
    rows = [f["input_ids"] for f in features]
    lengths = np.fromiter(map(len, rows), np.int64, len(rows))
    flat = np.fromiter(itertools.chain.from_iterable(rows), np.int64, int(lengths.sum()))
    padded = np.full((len(rows), int(lengths.max())), PAD, np.int64)
    padded[np.arange(padded.shape[1]) < lengths[:, None]] = flat
    return torch.from_numpy(padded)


# ---------------------------------------------------------------------------------------- measuring
def call_seconds(collate: Callable, features: list[dict], budget: float, max_calls: int = 50) -> list[float]:
    """Times of repeated calls after one warm-up call, about ``budget`` seconds in all."""
    start = time.perf_counter()
    collate(features)
    first = time.perf_counter() - start
    calls = int(min(max(budget / max(first, 1e-6), 3), max_calls))
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        collate(features)
        times.append(time.perf_counter() - start)
    return times


def median_seconds(collate: Callable, features: list[dict], budget: float) -> float:
    return statistics.median(call_seconds(collate, features, budget))


def output_bytes(batch) -> int:
    """Bytes actually held by a batch's tensors (a broadcast view counts its storage once)."""
    tensors = [batch] if isinstance(batch, torch.Tensor) else [v for v in batch.values() if isinstance(v, torch.Tensor)]
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


class _Rows(torch.utils.data.Dataset):
    def __init__(self, features: list[dict]) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict:
        return self.features[index]


def loader_batches_per_second(collate: Callable, features: list[dict], batch: int, workers: int, batches: int) -> float:
    """Batches per second through a DataLoader (first batch, with worker start-up, not timed)."""
    data = _Rows(features * max(1, (batches + 1) * batch // len(features) + 1))
    loader = DataLoader(data, batch_size=batch, num_workers=workers, collate_fn=collate, shuffle=False)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    elapsed = time.perf_counter() - start
    del iterator
    return batches / elapsed


# ------------------------------------------------------------------------------------------ the run
def collators(tokenizer) -> dict[str, tuple[str, Callable]]:
    """name -> (kind, collate); kind groups what is compared with what."""
    ours = dict(vocab_size=VOCAB, mask_token_id=MASK, pad_token_id=PAD, seed=0)
    return {
        "ours clm train": ("clm", CausalCollator(**ours)),
        "ours clm eval": ("clm", CausalCollator(mode="eval", **ours)),
        "ours mlm train": ("mlm", MaskedCollator(**ours)),
        "ours mlm eval": ("mlm", MaskedCollator(mode="eval", **ours)),
        "ours rtd train": ("mlm", ReplacementCollator(**ours)),
        "ours plm train dense": ("plm", PermutationCollator(**ours)),
        "ours plm train compact": ("plm", PermutationCollator(perm_format="compact", **ours)),
        "ours plm eval compact": ("plm", PermutationCollator(mode="eval", perm_format="compact", **ours)),
        "transformers mlm=False": ("clm", DataCollatorForLanguageModeling(tokenizer, mlm=False)),
        "transformers mlm=True": ("mlm", DataCollatorForLanguageModeling(tokenizer, mlm=True)),
        "transformers PLM": ("plm", DataCollatorForPermutationLanguageModeling(tokenizer)),
        "floor pad_sequence": ("floor", pad_sequence_floor),
        "floor vectorised pad": ("floor", vectorised_pad_floor),
    }


def run(grid: list[tuple[int, int]], budget: float, rounds: int = 5) -> dict[tuple[str, str, str], dict]:
    """{(collator, input kind, cell): {"seq_s": ..., "bytes": ...}}.

    Within a cell the collators are measured round-robin for ``rounds`` rounds and each median is
    taken over all its calls, so a slow spell of the machine hits every collator alike and the
    ratios stay honest.
    """
    table = collators(item_tokenizer())
    results = {}
    for batch, length in grid:
        cell = f"{batch}x{length}"
        for input_kind, convert in (("lists", as_lists), ("numpy", as_numpy)):
            plain, even = convert(sessions(batch, length)), convert(sessions(batch, length, even=True))
            times: dict[str, list[float]] = {name: [] for name in table}
            for _ in range(rounds):
                for name, (kind, collate) in table.items():
                    features = even if kind == "plm" else plain
                    try:
                        times[name] += call_seconds(collate, features, budget / rounds)
                    except Exception as error:  # e.g. an input type a collator does not take
                        results[(name, input_kind, cell)] = {"error": type(error).__name__}
            for name, (kind, collate) in table.items():
                if times[name]:
                    features = even if kind == "plm" else plain
                    results[(name, input_kind, cell)] = {
                        "seq_s": batch / statistics.median(times[name]),
                        "bytes": output_bytes(collate(features)),
                    }
    return results


def interleaved_seconds(
    table: dict, names: tuple[str, ...], features: list[dict], budget: float, rounds: int
) -> dict[str, list[float]]:
    """Call times of each named collator, timed in interleaved rounds (drift hits them alike) with torch
    at 1 thread, as inside DataLoader workers (torch runs each worker single-threaded)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    times: dict[str, list[float]] = {name: [] for name in names}
    try:
        for _ in range(rounds):
            for name in names:
                times[name] += call_seconds(table[name][1], features, budget / rounds)
    finally:
        torch.set_num_threads(threads)
    return times


def one_thread_ratios(cells: list[str], budget: float) -> list[tuple[str, float, float, float]]:
    """(cell, ours PLM compact seq/s, transformers PLM seq/s, ratio) with torch at 1 thread, as inside
    DataLoader workers (torch runs each worker single-threaded)."""
    table = collators(item_tokenizer())
    rows = []
    for cell in cells:
        batch, length = (int(v) for v in cell.split("x"))
        features = as_lists(sessions(batch, length, even=True))
        times = interleaved_seconds(table, ("ours plm train compact", "transformers PLM"), features, budget, 3)
        ours, theirs = (batch / statistics.median(times[n]) for n in times)
        rows.append((cell, ours, theirs, ours / theirs))
    return rows


GUARD_LIMIT = 2.0  # issue #15: the row checks cost nothing measurable; clm and mlm within 2x of the floor


def floor_guard(cells: list[str], budget: float, rounds: int = 5) -> list[tuple[str, str, float, float, float]]:
    """(cell, collator, its median us, the vectorised-pad floor's median us, ratio) with torch at 1 thread,
    as in DataLoader workers; the three are timed in interleaved rounds so drift hits them alike."""
    table = collators(item_tokenizer())
    names = ("ours clm train", "ours mlm train", "floor vectorised pad")
    rows = []
    for cell in cells:
        batch, length = (int(v) for v in cell.split("x"))
        times = interleaved_seconds(table, names, as_lists(sessions(batch, length)), budget, rounds)
        floor = statistics.median(times["floor vectorised pad"]) * 1e6
        for name in names[:2]:
            ours = statistics.median(times[name]) * 1e6
            rows.append((cell, name, ours, floor, ours / floor))
    return rows


def guard_lines(rows: list[tuple[str, str, float, float, float]]) -> list[str]:
    lines = [
        f"## Guard: clm and mlm train within {GUARD_LIMIT:g}x of the vectorised-pad floor (torch at 1 thread)",
        "",
        "| cell | collator | median us | floor median us | ratio | within |",
        "|---|---|---|---|---|---|",
    ]
    for cell, name, ours, floor, ratio in rows:
        lines.append(
            f"| {cell} | {name} | {ours:.0f} | {floor:.0f} | {ratio:.2f}x | {'yes' if ratio <= GUARD_LIMIT else 'NO'} |"
        )
    return lines


def expansion_ms(batch: int = 256, length: int = 200, repeats: int = 10) -> float:
    """The model wrapper's expansion of a compact PLM batch into XLNet's dense inputs (CPU, ms)."""
    compact = PermutationCollator(vocab_size=VOCAB, mask_token_id=MASK, seed=0, perm_format="compact")
    out = compact(as_lists(sessions(batch, length, even=True)))

    def expand():
        expand_perm_order(out["perm_order"], out["attention_mask"])
        identity_target_mapping(*out["perm_order"].shape)

    return 1000 * median_seconds(lambda _: expand(), [], budget=repeats * 0.05)


# ------------------------------------------------------------------------------------------ report
def _fmt_rate(value: float) -> str:
    return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k"


def report(results, grid, loader_rows, expand_ms, command: str, single_thread=(), guard=()) -> str:
    cells = [f"{batch}x{length}" for batch, length in grid]
    names = sorted({name for name, _, _ in results}, key=list(collators(item_tokenizer())).index)
    lines = [
        "# Collator benchmarks",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}.  ",
        "Sequences per second (median of repeated calls after a warm-up), sessions of 2..L items, ids < 50,000;"
        " PLM rows use the same sessions cut to even lengths (transformers' PLM collator needs them).",
        "",
    ]
    for input_kind in ("lists", "numpy"):
        lines += [f"## Throughput, {input_kind} inputs", "", "| collator | " + " | ".join(cells) + " |"]
        lines.append("|---|" + "---|" * len(cells))
        for name in names:
            values = []
            for cell in cells:
                entry = results.get((name, input_kind, cell), {})
                values.append(_fmt_rate(entry["seq_s"]) if "seq_s" in entry else entry.get("error", "-"))
            lines.append(f"| {name} | " + " | ".join(values) + " |")
        lines.append("")
    lines += ["## Ratios (lists inputs, same run)", "", "| ratio | " + " | ".join(cells) + " |"]
    lines.append("|---|" + "---|" * len(cells))
    ratio_rows = [
        ("clm train / transformers mlm=False", "ours clm train", "transformers mlm=False", False),
        ("mlm train / transformers mlm=True", "ours mlm train", "transformers mlm=True", False),
        ("plm dense / transformers PLM", "ours plm train dense", "transformers PLM", False),
        ("plm compact / transformers PLM", "ours plm train compact", "transformers PLM", False),
        ("clm train time / vectorised-pad time", "ours clm train", "floor vectorised pad", True),
        ("mlm train time / vectorised-pad time", "ours mlm train", "floor vectorised pad", True),
    ]
    for label, ours, theirs, time_ratio in ratio_rows:
        values = []
        for cell in cells:
            a, b = results.get((ours, "lists", cell), {}), results.get((theirs, "lists", cell), {})
            if "seq_s" in a and "seq_s" in b:
                values.append(f"{(b['seq_s'] / a['seq_s']) if time_ratio else (a['seq_s'] / b['seq_s']):.1f}x")
            else:
                values.append("-")
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    lines += ["", "## Output bytes per batch", "", "| collator | " + " | ".join(cells) + " |"]
    lines.append("|---|" + "---|" * len(cells))
    for name in names:
        values = [f"{results.get((name, 'lists', c), {}).get('bytes', 0) / 1e6:.2f} MB" for c in cells]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    plm_ratio = []
    for cell in cells:
        ours, theirs = (
            results.get(("ours plm train compact", "lists", cell), {}),
            results.get(("transformers PLM", "lists", cell), {}),
        )
        if "bytes" in ours and "bytes" in theirs:
            plm_ratio.append(f"{cell}: 1/{theirs['bytes'] / ours['bytes']:.0f}")
    lines += [
        "",
        f"Whole batch, compact PLM vs transformers' PLM: {', '.join(plm_ratio)}. Both batches also carry"
        " (B, L) int64 `input_ids` and `labels` (ours adds `attention_mask` and `mask_positions`), which"
        " bound the whole-batch ratio at short lengths; the permutation part alone (`perm_order`, (B, L)"
        " int64, vs `perm_mask` + `target_mapping`, 2 x (B, L, L) float32) is 1/L of the dense size.",
        "",
    ]
    lines += [
        "## Through a DataLoader (lists inputs, batches per second)",
        "",
        "| collator | cell | 0 workers | 2 workers |",
    ]
    lines.append("|---|---|---|---|")
    for name, cell, zero, two in loader_rows:
        lines.append(f"| {name} | {cell} | {zero:.1f} | {two:.1f} |")
    if single_thread:
        lines += ["", "## PLM compact vs transformers' PLM with torch at 1 thread (as in DataLoader workers)", ""]
        lines += ["| cell | ours compact | transformers PLM | ratio |", "|---|---|---|---|"]
        for cell, ours, theirs, ratio in single_thread:
            lines.append(f"| {cell} | {_fmt_rate(ours)} | {_fmt_rate(theirs)} | {ratio:.1f}x |")
    if guard:
        lines += ["", *guard_lines(list(guard))]
    lines += [
        "",
        f"Model-side expansion of a compact 256x200 PLM batch (perm_mask + target_mapping, CPU): {expand_ms:.1f} ms.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grid",
        nargs="+",
        default=["32x20", "32x50", "32x200", "256x20", "256x50", "256x200", "1024x20", "1024x50", "1024x200"],
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    parser.add_argument("--loader-batches", type=int, default=30)
    parser.add_argument("--loader-cells", nargs="+", default=["256x50", "1024x200"])
    parser.add_argument("--output", default=None, help="write the Markdown report here")
    parser.add_argument("--guard", action="store_true", help="only the floor guard (1 thread), printed")
    args = parser.parse_args(argv)
    if args.guard:
        text = "\n".join(guard_lines(floor_guard(args.loader_cells, max(args.seconds, 2.0))))
        print(text)
        return text
    torch.set_num_threads(2)
    grid = [tuple(int(v) for v in cell.split("x")) for cell in args.grid]
    results = run(grid, args.seconds)
    table = collators(item_tokenizer())
    loader_rows = []
    for cell in args.loader_cells:
        batch, length = (int(v) for v in cell.split("x"))
        for name in ("ours clm train", "ours mlm train", "ours plm train compact", "transformers mlm=True"):
            kind, collate = table[name]
            features = as_lists(sessions(batch, length, even=kind == "plm"))
            rates = [loader_batches_per_second(collate, features, batch, w, args.loader_batches) for w in (0, 2)]
            loader_rows.append((name, cell, *rates))
    command = "python benchmarks/collate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    single_thread = one_thread_ratios(args.loader_cells, args.seconds)
    guard = floor_guard(args.loader_cells, max(args.seconds, 2.0))
    text = report(results, grid, loader_rows, expansion_ms(), command.strip(), single_thread, guard)
    print(text)
    if args.output:
        output = Path(args.output)
        chart = output.with_name(output.stem + "_throughput.png")
        text = text.replace(
            "## Throughput, lists inputs", f"![throughput]({chart.name})\n\n## Throughput, lists inputs", 1
        )
        output.write_text(text)
        sys.path.insert(0, str(Path(__file__).parent))
        from charts import throughput_chart  # benchmarks/charts.py, beside this script

        throughput_chart(output, chart)
    return text


if __name__ == "__main__":
    main()
