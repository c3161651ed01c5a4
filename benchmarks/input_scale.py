"""Input at scale: the main job on a generated interactions CSV with 1% corrupt rows, under both
``--bad-rows`` policies, its wall time per phase and its peak memory.

    python benchmarks/input_scale.py                        # 10,000,000 rows (docs/reliability.md)
    python benchmarks/input_scale.py --rows 20000 --users 500 --items 200 --output /tmp/x.json   # a quick look

The file: ``--rows`` interactions of ``--users`` users (activity log-normal) and ``--items`` items
(popularity Zipf-like, exponent 1.0), one line per interaction in time order, seeded numpy; then
``--corrupt`` of the lines (1%) corrupted, in equal parts of five kinds: a line with an extra field, a
line with a field missing, an empty user, an empty item, a time that is not one (``noon``).

The job runs in a subprocess (a tiny GPT-2 + clm, ``--max-steps`` updates, ``--threads 1``, a fresh
``datasets`` cache), once with ``--bad-rows error`` (it must stop at the first bad row, naming it) and
once with ``--bad-rows skip`` (it must train and count every kind exactly). Wall time per phase comes
from the time each marker line of the job's output appears; peak RSS of the job from ``os.wait4``
(``ru_maxrss``; the file is generated in another process, whose peak a child would inherit) and, per
phase, from /proc/PID/status sampled every 0.2 s. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("extra field", "missing field", "empty user", "empty item", "time not a time")
# What the job reports for each kind (the two of a wrong width count together).
REPORTED = {
    "wrong number of fields": ("extra field", "missing field"),
    "empty 'user_id'": ("empty user",),
    "empty 'item_id'": ("empty item",),
    "'timestamp' not a time": ("time not a time",),
}
# Phases: (name, the output line that ends it). Data ends with the description line.
MARKERS = (
    ("data", re.compile(r"^\S+: [\d,]+ users, ")),
    ("first update", re.compile(r"^\{'loss'")),
    ("training", re.compile(r"^\{'train_runtime'")),
    ("test", re.compile(r"^\| scheme ")),
    ("saved", re.compile(r"^saved the model")),
)


def generate(path: Path, rows: int, users: int, items: int, corrupt: float, seed: int) -> dict[str, int]:
    """Write the CSV; returns the corrupt lines of each kind."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, users)
    user = rng.choice(users, size=rows, p=activity / activity.sum())
    popularity = 1.0 / np.arange(1, items + 1)
    item = rng.permutation(items)[rng.choice(items, size=rows, p=popularity / popularity.sum())]
    when = 1_600_000_000 + np.sort(rng.integers(0, 30 * 86_400, size=rows))  # a month, in time order
    bad = rng.choice(rows, size=round(rows * corrupt), replace=False)
    kind = np.arange(len(bad)) % len(KINDS)
    counts = {name: int((kind == k).sum()) for k, name in enumerate(KINDS)}
    lines = np.char.add(
        np.char.add(np.char.add(np.char.add(user.astype(str), ","), item.astype(str)), ","), when.astype(str)
    )
    lines = lines.astype(object)
    for position, k in zip(bad.tolist(), kind.tolist(), strict=True):
        u, i, t = str(user[position]), str(item[position]), str(when[position])
        lines[position] = (f"{u},{i},{t},x", f"{u},{i}", f",{i},{t}", f"{u},,{t}", f"{u},{i},noon")[k]
    with open(path, "w") as handle:
        handle.write("user_id,item_id,timestamp\n")
        for start in range(0, rows, 1_000_000):
            handle.write("\n".join(lines[start : start + 1_000_000]) + "\n")
    return counts


def run_job(command: list[str], env: dict[str, str]) -> dict:
    """Run the job; its exit status, wall time per phase, peak RSS (whole run and per phase), last lines."""
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
                rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
                samples.append((time.time() - started, rss))
            except (OSError, StopIteration):
                pass
            time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    marks: dict[str, float] = {}
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line.rstrip("\n"))
        for name, pattern in MARKERS:
            if name not in marks and pattern.search(line):
                marks[name] = round(time.time() - started, 1)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = round(time.time() - started, 1)
    done.set()
    poller.join()
    phases, previous, peaks = {}, 0.0, {}
    for name, _ in MARKERS:
        if name in marks:
            phases[name] = round(marks[name] - previous, 1)
            window = [rss for at, rss in samples if previous <= at <= marks[name]]
            peaks[name] = round(max(window) / 1024) if window else None
            previous = marks[name]
    return {
        "exit_status": process.returncode,
        "wall_seconds": wall,
        "seconds_by_phase": phases,
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # ru_maxrss is in KiB on Linux
        "peak_rss_mib_by_phase": peaks,
        "output": [line for line in output if "Warning" not in line][-12:],
    }


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--generate-to"]:  # (the generating subprocess)
        path, rows, users, items, corrupt, seed = argv[1:7]
        counts = generate(Path(path), int(rows), int(users), int(items), float(corrupt), int(seed))
        print(json.dumps(counts))
        return counts
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--corrupt", type=float, default=0.01, help="share of the lines corrupted")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="where the CSV and the runs go (default: a temporary folder)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "input_scale.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        work_path = Path(work)
        csv = work_path / "interactions.csv"
        started = time.time()
        # In a process of its own: a child's ru_maxrss starts at its parent's peak (Linux copies the
        # high-water mark at fork), so this process must never hold the 10M lines itself.
        sizes = [str(v) for v in (args.rows, args.users, args.items, args.corrupt, args.seed)]
        written = subprocess.run([sys.executable, __file__, "--generate-to", str(csv), *sizes], check=True,
                                 capture_output=True, text=True)  # fmt: skip
        corrupted = json.loads(written.stdout)
        generated = round(time.time() - started, 1)
        print(
            f"generated {csv} ({csv.stat().st_size / 2**20:.0f} MiB, {args.rows:,} rows) in {generated} s: {corrupted}"
        )
        runs = {}
        for policy in ("error", "skip"):
            command = [
                sys.executable, "-m", "hf_seqmask.cli", "--dataset", str(csv), "--bad-rows", policy,
                "--scheme", "clm", "--model", "gpt2", "--hidden-size", "16", "--layers", "1", "--heads", "1",
                "--max-length", "20", "--batch-size", "64", "--max-steps", str(args.max_steps),
                "--per_device_eval_batch_size", "1024", "--threads", "1", "--quiet",
                "--output-dir", str(work_path / f"out-{policy}"),
            ]  # fmt: skip
            env = {**os.environ, "HF_DATASETS_CACHE": str(work_path / f"cache-{policy}"), "PYTHONPATH": str(ROOT)}
            runs[policy] = {"command": " ".join(command[1:]).replace(str(work_path), "$WORK"), **run_job(command, env)}
            run = runs[policy]
            print(f"--bad-rows {policy}: exit {run['exit_status']}, {run['wall_seconds']} s, "
                  f"peak RSS {run['peak_rss_mib']} MiB, phases {run['seconds_by_phase']}")  # fmt: skip
            metrics = work_path / f"out-{policy}" / "metrics.json"
            if metrics.is_file():
                runs[policy]["bad_rows"] = json.loads(metrics.read_text())["bad_rows"]
                runs[policy]["data"] = json.loads(metrics.read_text())["data"]
        expected = {kind: sum(corrupted[k] for k in parts) for kind, parts in REPORTED.items()}
        reported = (runs["skip"].get("bad_rows") or {}).get("by_kind")
        summary = {
            "rows": args.rows, "users": args.users, "items": args.items, "corrupt_share": args.corrupt,
            "corrupt_rows_by_kind": corrupted, "file_mib": round(csv.stat().st_size / 2**20),
            "generate_seconds": generated, "expected_counts": expected, "counts_match": reported == expected,
            "error_stopped_at_a_bad_row": runs["error"]["exit_status"] != 0
            and any("a bad row" in line for line in runs["error"]["output"]),
            "runs": runs, "cpu": os.cpu_count(), "command": " ".join(["python benchmarks/input_scale.py", *argv]),
        }  # fmt: skip
        summary = json.loads(json.dumps(summary).replace(str(work_path), "$WORK"))  # (a temporary folder)
    Path(args.output).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"counts match: {summary['counts_match']}; error policy stopped at a bad row: "
          f"{summary['error_stopped_at_a_bad_row']}; written to {args.output}")  # fmt: skip
    return summary


if __name__ == "__main__":
    main()
