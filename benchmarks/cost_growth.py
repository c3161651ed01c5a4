"""How a training step's time and memory grow with sequence length and batch size (GPT-2 + clm, BERT + mlm).

Each point runs in a fresh process (so its peak memory is its own): the ML-1M-size model of
``benchmarks/train_step.py`` (3,418 items, hidden 64, 2 layers, 2 heads, SDPA attention), random
full-length sequences, AdamW; the median step (forward + backward + update) over ``--steps`` steps
after one warm-up, and the step's peak memory: the process's peak resident set after the steps minus
its resident set once the model, optimizer and batches exist (activations, gradients, optimizer state
and the allocator's slack). Beside each point, the share of the forward multiply-adds in attention's
two L x L products (QK^T and the weighted sum: ``4 B L^2 d`` per layer), against the projections and
feed-forward (``24 B L d^2`` per layer) and the item head (``2 B L d V`` for clm, which scores every
position; mlm scores its ~20% hidden ones): the length at which the quadratic part takes over::

    python benchmarks/cost_growth.py --output docs/cost_growth.json    # the grid, then the picture
    python benchmarks/cost_growth.py --lengths 20 --batches 4 --steps 2 # the size CI runs

Timings depend on the machine and its load: the JSON records threads, CPU and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = (("gpt2", "clm"), ("bert", "mlm"))
HIDDEN, LAYERS, ITEMS = 64, 2, 3_418 + 2


def attention_share(
    scheme: str, length: int, hidden: int = HIDDEN, items: int = ITEMS, mlm_share: float = 0.2
) -> float:
    """The share of a forward pass's multiply-adds spent in attention's L x L products.

    Example:
        >>> round(attention_share("clm", 200), 3), round(attention_share("clm", 2000), 3)
        (0.139, 0.617)
    """
    quadratic = 4 * length * length * hidden * LAYERS
    linear = 24 * length * hidden * hidden * LAYERS
    head = 2 * length * hidden * items * (1.0 if scheme == "clm" else mlm_share)
    return quadratic / (quadratic + linear + head)


def resident_mib() -> float:
    """This process's resident set now (Linux ``/proc/self/statm``), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def one_point(family: str, scheme: str, length: int, batch_size: int, steps: int, threads: int) -> dict:
    """Time and memory of one (length, batch) point, measured in this process."""
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from train_step import eager_step_ms, ml1m_model_and_batches

    torch.set_num_threads(threads)
    model, batches = ml1m_model_and_batches(family, scheme, length, batch_size, steps + 1)
    before = resident_mib()
    step_ms = eager_step_ms(model, batches, warmup=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "model": family,
        "scheme": scheme,
        "length": length,
        "batch": batch_size,
        "step_ms": round(step_ms, 2),
        "ms_per_1k_positions": round(step_ms / (length * batch_size) * 1000, 3),
        "step_peak_mib": round(peak - before, 1),
        "process_peak_mib": round(peak, 1),
        "attention_share": round(attention_share(scheme, length), 4),
    }


def grid(lengths: list[int], batches: list[int], steps: int, threads: int, max_positions: int) -> list[dict]:
    """Every (pair, length, batch) point with ``length * batch <= max_positions``, each in its own process."""
    points = []
    for family, scheme in PAIRS:
        for length in lengths:
            for batch_size in batches:
                if length * batch_size > max_positions:
                    continue
                command = [sys.executable, __file__, "--point", family, scheme, str(length), str(batch_size),
                           "--steps", str(steps), "--threads", str(threads)]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise SystemExit(f"error: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
                points.append(json.loads(done.stdout.strip().splitlines()[-1]))
                point = points[-1]
                print(
                    f"{family}-{scheme} L={length:>5} B={batch_size:>4}: {point['step_ms']:9.1f} ms/step, "
                    f"{point['ms_per_1k_positions']:7.3f} ms per 1k positions, +{point['step_peak_mib']:8.1f} MiB, "
                    f"attention {100 * point['attention_share']:4.1f}% of the forward multiply-adds",
                    flush=True,
                )
    return points


def picture(points: list[dict], path: Path) -> Path:
    """Step time and peak memory against length, one line per (pair, batch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for family, scheme in PAIRS:
        for batch_size in sorted({p["batch"] for p in points}):
            line = sorted(
                (p for p in points if p["model"] == family and p["batch"] == batch_size), key=lambda p: p["length"]
            )
            if not line:
                continue
            lengths = [p["length"] for p in line]
            label = f"{family}+{scheme}, batch {batch_size}"
            left.plot(lengths, [p["step_ms"] for p in line], marker="o", label=label)
            right.plot(lengths, [p["step_peak_mib"] for p in line], marker="o", label=label)
    for axes, title in ((left, "ms per training step"), (right, "step peak memory, MiB")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("sequence length")
        axes.set_title(title)
        axes.grid(alpha=0.3, which="both")
    left.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> list[dict] | dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=4, metavar=("FAMILY", "SCHEME", "LENGTH", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--lengths", default="50,200,1000")
    parser.add_argument("--batches", default="16,64,256")
    parser.add_argument("--max-positions", type=int, default=64_000, help="skip points with length x batch above")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None, help="JSON report (and a .png beside it)")
    args = parser.parse_args(argv)
    if args.point:
        family, scheme, length, batch_size = args.point
        point = one_point(family, scheme, int(length), int(batch_size), args.steps, args.threads)
        print(json.dumps(point))
        return point
    lengths = [int(v) for v in args.lengths.split(",")]
    batches = [int(v) for v in args.batches.split(",")]
    started = time.time()
    points = grid(lengths, batches, args.steps, args.threads, args.max_positions)
    if args.output:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "unknown")  # fmt: skip
        report = {
            "command": "python benchmarks/cost_growth.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "threads": args.threads,
            "cpu": cpu,
            "logical_cores": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "minutes": round((time.time() - started) / 60, 1),
            "points": points,
        }
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        picture(points, args.output.with_suffix(".png"))
    return points


if __name__ == "__main__":
    main()
