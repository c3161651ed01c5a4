"""Long-run stability: N collator batches through DataLoader workers, resident memory and open file
descriptors of the main process and of each worker sampled after a warm-up and at the end.

    python benchmarks/stability.py --batches 200000                      # the issue's size (docs/reliability.md)
    python benchmarks/stability.py --batches 2000 --contexts fork        # a quick look

For each multiprocessing context (``spawn``, ``fork``) it builds a ``torch.utils.data.DataLoader`` over
seeded synthetic sessions (1..50 items drawn Zipf-like from 1,000 items), with ``--workers`` workers,
``persistent_workers=True`` and the scheme's collator (``MaskedCollator`` for ``mlm``, seeded), and
iterates it for ``--epochs`` epochs of ``batches / epochs`` batches each (the workers persist across
epochs). RSS (``VmRSS`` of /proc/PID/status) and the number of open descriptors (/proc/PID/fd) of
the main process and of every worker are read once ``--warmup`` of the batches are done, every
``--every`` batches, and at the end; growth is end over warm-up, in percent. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hf_seqmask import SCHEMES

VOCAB, PAD, MASK = 1002, 0, 1


class Sessions(Dataset):
    """``length`` rows cycling over ``count`` seeded sessions (nothing grows with ``length``)."""

    def __init__(self, count: int, length: int, seed: int = 0, max_items: int = 50) -> None:
        rng = np.random.default_rng(seed)
        sizes = rng.integers(1, max_items + 1, size=count)
        self.rows = [{"input_ids": (rng.zipf(1.3, size=int(n)) % (VOCAB - 2) + 2).tolist()} for n in sizes]
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.rows[index % len(self.rows)]


def usage(pid: int) -> dict:
    """RSS in MiB and open file descriptors of ``pid``."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mib": round(rss / 1024, 2), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def sample(loader_iterator) -> dict:
    """The main process's and each worker's usage (workers by their order)."""
    pids = [worker.pid for worker in getattr(loader_iterator, "_workers", [])]
    return {"main": usage(os.getpid()), "workers": [usage(pid) for pid in pids], "pids": pids}


def run(context: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)  # the DataLoader's base seed: the same batches in every context
    per_epoch = max(1, args.batches // args.epochs)
    collate = SCHEMES[args.scheme](vocab_size=VOCAB, mask_token_id=MASK, pad_token_id=PAD, max_length=50, seed=0)
    loader = DataLoader(
        Sessions(4096, per_epoch * args.batch_size),
        batch_size=args.batch_size,
        num_workers=args.workers,
        persistent_workers=True,
        multiprocessing_context=context,
        collate_fn=collate,
        prefetch_factor=2,
    )
    warmup = max(1, int(args.batches * args.warmup))
    done, samples, checksum = 0, [], 0
    started = time.perf_counter()
    for _ in range(args.epochs):
        iterator = iter(loader)  # persistent: the same workers every epoch
        for batch in iterator:
            checksum += int(batch["input_ids"].sum())  # touch the batch like a training step would
            done += 1
            if done == warmup or (done > warmup and done % args.every == 0):
                samples.append({"batches": done, **sample(iterator)})
    samples.append({"batches": done, **sample(iterator)})
    seconds = time.perf_counter() - started
    del iterator, loader  # the persistent workers shut down
    first, last = samples[0], samples[-1]
    return {
        "context": context,
        "batches": done,
        "seconds": round(seconds, 1),
        "batches_per_second": round(done / seconds, 1),
        "warmup_batches": warmup,
        "main_rss_mib": [first["main"]["rss_mib"], last["main"]["rss_mib"]],
        "main_rss_growth_pct": _growth(first["main"]["rss_mib"], last["main"]["rss_mib"]),
        "workers_rss_mib": [[w["rss_mib"] for w in first["workers"]], [w["rss_mib"] for w in last["workers"]]],
        "workers_rss_growth_pct": [
            _growth(a["rss_mib"], b["rss_mib"]) for a, b in zip(first["workers"], last["workers"], strict=True)
        ],
        "main_fds": [first["main"]["fds"], last["main"]["fds"]],
        "workers_fds": [[w["fds"] for w in first["workers"]], [w["fds"] for w in last["workers"]]],
        "workers_max_fds": max((w["fds"] for s in samples for w in s["workers"]), default=0),
        "worker_pids_unchanged": all(s["pids"] == first["pids"] for s in samples),
        "samples": len(samples),
        "max_rss_growth_pct": max(_growth(first["main"]["rss_mib"], s["main"]["rss_mib"]) for s in samples),
        "checksum": checksum,
    }


def _growth(before: float, after: float) -> float:
    return round(100 * (after - before) / before, 2)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--scheme", choices=sorted(SCHEMES), default="mlm")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4, help="passes over the loader (persistent workers)")
    parser.add_argument("--warmup", type=float, default=0.05, help="fraction of the batches before the first sample")
    parser.add_argument("--every", type=int, default=10_000, help="batches between samples after the warm-up")
    parser.add_argument("--contexts", nargs="+", default=["spawn", "fork"], choices=["spawn", "fork", "forkserver"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    args = parser.parse_args(argv)
    if args.batches < args.epochs:
        parser.error(f"--batches must be >= --epochs ({args.epochs}), got {args.batches}")
    torch.set_num_threads(args.threads)
    results = []
    for context in args.contexts:
        result = run(context, args)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
