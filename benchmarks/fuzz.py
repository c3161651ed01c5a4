"""Fuzzing at scale: random ragged batches through every scheme x mode x input kind, and the wrapper.

    python benchmarks/fuzz.py --batches 10000 --output docs/fuzz.md     # about 3 minutes on one core

Per scheme x mode x input kind (lists, numpy arrays of a random integer dtype, torch tensors) it
collates ``--batches`` random batches (0..8 rows of 0..14 items, random ``max_length``,
``pad_to_multiple_of``, options of the scheme, a side feature; one batch in ten carries a bad row:
a float, a negative or too large id, a reserved id, a side feature of the wrong length) and counts:

- crashes: an exception raised outside hf_seqmask's own checks (inside torch or numpy), or an error
  for a good batch, or no error for a bad one;
- pad/mask targets: a label equal to the pad or mask id;
- rows with a target but no visible item (training);
- NaN or infinite losses: every good training batch also goes through a tiny ``SeqRecModel`` of the
  family the scheme pairs with.

Not in CI (tests/collators/test_fuzz.py runs 2,000 batches there); its last run's counts are in docs/fuzz.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, ElectraConfig, GPT2Config, XLNetConfig

from hf_seqmask import IGNORE_INDEX, SCHEMES, SeqRecConfig, SeqRecModel

VOCAB, PAD, MASK = 40, 0, 1
MODES = ("train", "eval", "predict")
KINDS = ("lists", "numpy", "tensors")
FAMILY = {"clm": "gpt2", "mlm": "bert", "plm": "xlnet", "rtd": "electra"}
BAD = ("float", "negative", "too_large", "reserved", "side_length")


def tiny_model(scheme: str) -> SeqRecModel:
    family = FAMILY[scheme]
    common = {"vocab_size": VOCAB}
    if family == "gpt2":
        backbone = GPT2Config(n_positions=64, n_embd=16, n_layer=1, n_head=2, **common)
    elif family == "xlnet":
        backbone = XLNetConfig(d_model=16, n_layer=1, n_head=2, d_inner=32, **common)
    else:
        config_class = BertConfig if family == "bert" else ElectraConfig
        extra = {"embedding_size": 16} if family == "electra" else {}
        backbone = config_class(
            hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=64, **extra, **common,
        )  # fmt: skip
    torch.manual_seed(0)
    return SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme=scheme, side_features={"time": 0})).eval()


def options(scheme: str, mode: str, rng: np.random.Generator) -> dict:
    opts = {
        "vocab_size": VOCAB, "mask_token_id": MASK, "pad_token_id": PAD, "mode": mode,
        "seed": int(rng.integers(2**31)), "side_feature_keys": ("time",),
        "max_length": [None, 1, 2, 5, 9][int(rng.integers(5))],
        "pad_to_multiple_of": [None, None, 4][int(rng.integers(3))],
    }  # fmt: skip
    if scheme in ("mlm", "rtd"):
        opts["mlm_probability"] = float(rng.choice([0.0, 0.15, 0.5, 1.0]))
        opts["mask_last_item_prob"] = float(rng.choice([0.0, 0.3]))
    if scheme == "plm":
        opts.update(plm_probability=float(rng.choice([1 / 6, 0.5, 1.0])), max_span_length=int(rng.integers(1, 6)))
        opts["perm_format"] = "compact"
    if scheme == "clm" and mode == "train":
        opts["train_on_last_item_only"] = bool(rng.integers(2))
    return opts


def rows(kind: str, rng: np.random.Generator, bad: str | None) -> list[dict]:
    out = []
    for _ in range(int(rng.integers(0, 9))):
        items = rng.integers(2, VOCAB, int(rng.integers(0, 15)))
        times = np.arange(items.size, dtype=np.float64)
        if kind == "numpy":
            ids = items.astype(rng.choice([np.int32, np.int64, np.uint16]))
        elif kind == "tensors":
            ids = torch.as_tensor(items, dtype=torch.int64)
        else:
            ids = items.tolist()
        out.append({"input_ids": ids, "time": times.tolist()})
    if bad is not None:
        items = [5, 6, 7]
        row = {"input_ids": items, "time": [0.0, 1.0, 2.0]}
        if bad == "float":
            row["input_ids"] = [5, 6.5, 7]
        elif bad == "negative":
            row["input_ids"] = [5, -3, 7]
        elif bad == "too_large":
            row["input_ids"] = [5, VOCAB, 7]
        elif bad == "reserved":
            row["input_ids"] = [5, MASK, 7]
        else:
            row["time"] = [0.0]
        out.insert(int(rng.integers(0, len(out) + 1)), row)
    return out or [{"input_ids": [], "time": []}]


def ours(error: BaseException) -> bool:
    """Raised by hf_seqmask's own checks (its innermost frame is in hf_seqmask), not inside torch/numpy."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "hf_seqmask" in frames[-1].filename


def run(batches: int, seed: int) -> dict[tuple[str, str, str], Counter]:
    rng = np.random.default_rng(seed)
    models = {scheme: tiny_model(scheme) for scheme in SCHEMES}
    counts: dict[tuple[str, str, str], Counter] = {}
    for scheme in sorted(SCHEMES):
        for mode in MODES:
            for kind in KINDS:
                tally = Counter()
                for _ in range(batches):
                    bad = BAD[int(rng.integers(len(BAD)))] if rng.random() < 0.1 else None
                    features = rows(kind, rng, bad)
                    tally["batches"] += 1
                    try:
                        batch = SCHEMES[scheme](**options(scheme, mode, rng))(features)
                    except (ValueError, TypeError) as error:
                        tally["rejected" if bad and ours(error) else "crashes"] += 1
                        continue
                    except Exception:
                        tally["crashes"] += 1
                        continue
                    if bad:
                        tally["crashes"] += 1  # a bad row went through unnoticed
                        continue
                    check(scheme, mode, batch, models[scheme], tally)
                counts[(scheme, mode, kind)] = tally
                print(scheme, mode, kind, dict(tally), flush=True)
    return counts


def check(scheme: str, mode: str, batch: dict, model: SeqRecModel, tally: Counter) -> None:
    if "labels" in batch:
        labels = batch["labels"]
        targets = labels != IGNORE_INDEX
        tally["targets"] += int(targets.sum())
        tally["pad_or_mask_targets"] += int(((labels == PAD) | (labels == MASK)).sum())
        if mode == "train":
            visible = (batch["attention_mask"] == 1) & ~batch["mask_positions"]
            tally["rows_with_target_but_nothing_visible"] += int((targets.any(1) & ~visible.any(1)).sum())
    if mode != "train" or not (batch["labels"] != IGNORE_INDEX).any():
        return
    try:
        with torch.no_grad():
            loss = model(**batch).loss
    except Exception:
        tally["crashes"] += 1
        return
    tally["losses"] += 1
    tally["nan_or_inf_losses"] += int(not torch.isfinite(loss))


def report(counts: dict, batches: int, seconds: float, command: str) -> str:
    columns = ["batches", "rejected", "crashes", "targets", "pad_or_mask_targets",
               "rows_with_target_but_nothing_visible", "losses", "nan_or_inf_losses"]  # fmt: skip
    lines = [
        "# Fuzzing at scale",
        "",
        f"Command: `{command}` ({seconds / 60:.0f} min). {batches:,} random batches per scheme x mode x input kind;",
        "one in ten carries a bad row, which must be rejected by hf_seqmask's own checks (`rejected`).",
        "`crashes` counts exceptions inside torch/numpy, errors on good batches and bad rows let through.",
        "",
        "| scheme | mode | input | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 3),
    ]
    totals: Counter = Counter()
    for (scheme, mode, kind), tally in counts.items():
        totals.update(tally)
        lines.append(f"| {scheme} | {mode} | {kind} | " + " | ".join(f"{tally[c]:,}" for c in columns) + " |")
    lines.append("| **all** | | | " + " | ".join(f"**{totals[c]:,}**" for c in columns) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000, help="per scheme x mode x input kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.time()
    counts = run(args.batches, args.seed)
    command = "python benchmarks/fuzz.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(counts, args.batches, time.time() - started, command.strip())
    print(text)
    if args.output:
        args.output.write_text(text)
    return counts


if __name__ == "__main__":
    main()
