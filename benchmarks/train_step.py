"""Milliseconds per training step (forward + backward + AdamW) of each family x scheme at a tiny size.

Run:
    python benchmarks/train_step.py             # batch 32, sessions up to 16 items, hidden 32, 2 layers
    python benchmarks/train_step.py --steps 3   # the size the tests run

Uses the tiny configs of the test suite; median over ``--steps`` steps after 5 warm-up steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

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


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    results = {}
    print("| model | scheme | ms / step |\n|---|---|---|")
    for family, scheme, options in PAIRS:
        results[f"{family}-{scheme}"] = ms = step_times(family, scheme, options, args.steps)
        print(f"| {family} | {scheme} | {ms:.1f} |")
    return results


if __name__ == "__main__":
    main()
