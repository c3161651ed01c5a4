"""Evaluation as the catalogue grows: (B x V) scores vs ranking in chunks with a running top-k.

Run (each configuration in its own process, so peak memory is that configuration's own):
    python benchmarks/eval_scale.py --output docs/eval_scale.md
    python benchmarks/eval_scale.py --items 1000 --batches 1   # a quick look

What the Trainer does per eval batch: the model's forward on an eval batch (GPT-2, 1 layer, hidden
64, 256 rows of 20 items) and ``preprocess_logits_for_metrics`` (top-10 ids and the target's
pessimistic rank with and without the history). Materialised: ``softmax_chunk_size=None``, the model
returns (B, V) scores. Chunked: ``softmax_chunk_size`` set, the model returns (B, H) and the catalogue
is ranked in chunks. Reported: median seconds per batch after a warm-up, the process's peak resident
memory, and whether both give the same ids and ranks (checked where both fit).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHUNK = 65_536


def one_configuration(items: int, chunk: int | None, batches: int, rows: int = 256) -> dict:
    import numpy as np
    import torch
    from transformers import GPT2Config

    from hf_seqmask import SeqRecConfig, SeqRecModel
    from hf_seqmask.metrics import make_preprocess_logits_for_metrics

    torch.manual_seed(0)
    torch.set_num_threads(2)
    vocab = items + 2
    backbone = GPT2Config(
        vocab_size=vocab, n_positions=32, n_embd=64, n_layer=1, n_head=2, bos_token_id=None, eos_token_id=None
    )
    model = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme="clm", softmax_chunk_size=chunk)).eval()
    collator = model.data_collator("eval", seed=0)
    preprocess = make_preprocess_logits_for_metrics(10, model.reserved_ids.tolist(), model=model)
    rng = np.random.default_rng(0)
    times, digest = [], []
    with torch.no_grad():
        for step in range(batches + 1):
            batch = collator([{"input_ids": rng.integers(2, vocab, 20).tolist()} for _ in range(rows)])
            start = time.perf_counter()
            output = model(**batch)
            first = output.logits if output.logits is not None else output.prediction_hidden
            top, ranks, ranks_with_history = preprocess((first, output.seen_ids), batch["labels"])
            if step:
                times.append(time.perf_counter() - start)
            digest.append([top.tolist(), ranks.tolist(), ranks_with_history.tolist()])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds_per_batch": statistics.median(times), "peak_mb": peak_mb, "digest": digest}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--chunked-only-items", nargs="*", type=int, default=[10_000_000])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--output", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_configuration(**json.loads(args.child))))
        return []
    runs = [(items, chunk) for items in args.items for chunk in (None, CHUNK)]
    runs += [(items, CHUNK) for items in args.chunked_only_items]
    rows = []
    for items, chunk in runs:
        spec = {"items": items, "chunk": chunk, "batches": args.batches}
        result = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=True
        )
        rows.append({"items": items, "chunk": chunk, **json.loads(result.stdout.strip().splitlines()[-1])})
        print(f"{items:,} items, chunk {chunk}: {rows[-1]['seconds_per_batch']:.3f} s, {rows[-1]['peak_mb']:.0f} MB")
    lines = [
        "# Evaluation over large catalogues: (B x V) scores vs ranking in chunks",
        "",
        f"Command: `{' '.join(['python benchmarks/eval_scale.py', *(argv or [])])}`",
        "",
        "Per eval batch as the Trainer runs it: GPT-2 (1 layer, hidden 64) forward on 256 rows of 20 items,",
        "then top-10 ids and the target's pessimistic rank with and without the history; 2 CPU threads;",
        f"median of {args.batches} batches after a warm-up; peak = the process's maximum resident memory",
        "(the model's item table included: V x 64 floats).",
        "",
        "| items | scores | s per batch | peak MB | same ids and ranks as materialised |",
        "|---|---|---|---|---|",
    ]
    by_key = {(r["items"], r["chunk"]): r for r in rows}
    for r in rows:
        materialised = by_key.get((r["items"], None))
        same = "—" if r["chunk"] is None or materialised is None else str(r["digest"] == materialised["digest"]).lower()
        kind = "materialised (B x V)" if r["chunk"] is None else f"chunked ({r['chunk']:,} items)"
        lines.append(f"| {r['items']:,} | {kind} | {r['seconds_per_batch']:.3f} | {r['peak_mb']:.0f} | {same} |")
    for items in args.items:
        full, chunked = by_key.get((items, None)), by_key.get((items, CHUNK))
        if full and chunked:
            lines.append(
                f"\nAt {items:,} items: chunked {chunked['seconds_per_batch'] / full['seconds_per_batch']:.2f}x the "
                f"time, {chunked['peak_mb'] / full['peak_mb']:.2f}x the peak memory of the materialised scores."
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return rows


if __name__ == "__main__":
    main()
