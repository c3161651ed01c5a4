"""Kill and resume: the main job SIGKILLed over and over, resumed each time, ends bit for bit where an
uninterrupted run ends.

    python benchmarks/faults.py --kills 24            # about 4 minutes on 2 busy cores (docs/reliability.md)
    python benchmarks/faults.py --kills 5             # the CI size (tests/job/test_faults.py)

It writes a seeded synthetic interactions CSV, runs the main job (``python -m hf_seqmask.cli``, a tiny
model validating, checkpointing and rotating its checkpoints every epoch of 4 updates) once straight
through, then runs it again with faults: each launch is SIGKILLed and relaunched with
``--resume_from_checkpoint true``, until ``--kills`` kills are spent and a last launch finishes.
The kills land at deterministic points, injected by ``benchmarks/faulthook.py`` -- mid-step, mid-
validation, half-way through each file of a checkpoint, while old checkpoints are deleted, mid-test
and half-way through the final model and metrics.json -- and at random times (the phase they hit is
read from the job's beacon file). It checks that

- every weight of the final ``model/`` equals the straight run's bit for bit;
- ``metrics.json`` equals the straight run's, but for the fields that measure one process's wall
  clock or speed (``train_seconds``; ``*_runtime`` and ``*_per_second`` of each logged evaluation
  and of the training summary) and the summary's ``train_loss``, which the Trainer computes over the
  updates of the last ``train()`` call only (after a resume: those since the checkpoint);
- no launch resumed from a checkpoint that a kill had torn, every torn checkpoint newer than the one
  a launch resumed from was named in a warning, and ``checkpoint_problem`` finds every checkpoint the
  faults tore (which ones they tore is tracked from the faults, not by reading the folders).

Prints one line per launch and a summary (``--markdown``: as the table docs/reliability.md shows).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hf_seqmask.checkpoints import checkpoint_problem, last_complete_checkpoint  # noqa: E402

UPDATES_PER_EPOCH = 4  # 64 users, batches of 16
EPOCHS = 12  # early stopping (patience 3) ends the run sooner
COURSE = ["step", "eval", "save:model.safetensors", "random", "save:optimizer.pt", "rotate",
          "save:trainer_state.json", "step", "save:rng_state.pth", "random", "save:scheduler.pt", "eval"]  # fmt: skip
FINAL = ["final:model", "test", "final:metrics"]
LAUNCH = "import faulthook; faulthook.install(); from hf_seqmask.cli import main; main()"
UNTIMED = re.compile(r"_runtime$|_per_second$")


def write_interactions(path: Path, users: int = 64, seed: int = 0) -> None:
    """A seeded CSV of ``users`` histories of 6..16 items drawn Zipf-like from about 60 items."""
    rng = np.random.default_rng(seed)
    lines = ["user_id,item_id,timestamp"]
    for user in range(users):
        for step in range(int(rng.integers(6, 17))):
            lines.append(f"u{user},i{int(rng.zipf(1.4)) % 60},{step}")
    path.write_text("\n".join(lines) + "\n")


def job_flags(scheme: str, model: str) -> list[str]:
    return [
        "--dataset", "../interactions.csv", "--scheme", scheme, "--model", model, "--hidden-size", "16",
        "--layers", "1", "--heads", "2", "--max-length", "16", "--batch-size", "16", "--epochs", str(EPOCHS),
        "--validate-every", "1", "--patience", "3", "--per_device_eval_batch_size", "16", "--threads", "1",
        "--quiet", "--output-dir", "out", "--report_to", "none",
    ]  # fmt: skip


def launch(
    folder: Path, flags: list[str], fault: str = "", kill_at: tuple[int, float] | None = None, broken: bool = False
) -> dict:
    """One run of the job in ``folder``; ``kill_at=(step, delay)``: SIGKILL ``delay`` seconds after the
    beacon shows update ``step`` (or a later phase). Returns the exit status, the phase it died in,
    the checkpoints it saved and its output."""
    beacon, events = folder / "beacon", folder / "events"
    for path in (beacon, events):
        path.unlink(missing_ok=True)
    env = {**os.environ, "FAULT": fault, "FAULT_BEACON": str(beacon), "FAULT_EVENTS": str(events)}
    env["FAULT_BREAK"] = "rng" if broken else ""
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT), env.get("PYTHONPATH", "")])
    with open(folder / "log", "w") as log:
        process = subprocess.Popen([sys.executable, "-c", LAUNCH, *flags], cwd=folder, env=env, stdout=log, stderr=log)
        while kill_at and process.poll() is None:
            phase = beacon.read_text() if beacon.exists() else ""
            if phase and (not phase.startswith("step") or int(phase.split()[1]) >= kill_at[0]):
                time.sleep(kill_at[1])
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait()
    return {
        "returncode": process.returncode,
        "phase": beacon.read_text().strip() if beacon.exists() else "startup",
        "events": events.read_text().splitlines() if events.exists() else [],
        "output": (folder / "log").read_text(),
    }


def torn_by(result: dict, torn: set[str]) -> set[str]:
    """The checkpoints torn after a launch, from what the faults did (not from reading the folders):
    those torn before and not saved again since, the one a kill interrupted while saving, the old one
    a kill interrupted while the Trainer deleted it."""
    torn = torn - {f"checkpoint-{line.split()[1]}" for line in result["events"] if line.startswith("saved")}
    torn |= {line.split()[1] for line in result["events"] if line.startswith("tore")}
    phase = result["phase"].split()
    # (a kill at a random time just after trainer_state.json was written, before the beacon moved on,
    # leaves a whole checkpoint: not counted as torn)
    if result["returncode"] == -signal.SIGKILL and phase[:1] == ["save"] and phase[2:] != ["trainer_state.json"]:
        torn.add(f"checkpoint-{phase[1]}")
    if phase and phase[0] == "rotate":
        torn.discard(f"checkpoint-{phase[1]}")  # trainer_state.json, its last file, is written
    return torn


def next_fault(
    kind: str, resumed_at: int, rng: random.Random, planned: int, end: int
) -> tuple[str, tuple[int, float] | None]:
    """The fault of a launch that resumes at update ``resumed_at``, aimed at about update ``planned``
    (the straight run stopped after update ``end``)."""
    if kind in FINAL:
        return kind, None
    if kind == "random":
        return "", (rng.randint(resumed_at + 1, min(max(planned, resumed_at + 1), end)), rng.uniform(0, 0.03))
    if kind == "step":
        return f"step@{rng.randint(resumed_at + 1, min(max(planned, resumed_at + 1), end))}", None
    # eval, save:FILE and rotate happen at the checkpoint steps (every epoch); the Trainer deletes
    # checkpoints once it has saved more than save_total_limit = 2 of them
    step = max(planned, resumed_at + 1, 3 * UPDATES_PER_EPOCH if kind == "rotate" else 0)
    step = min(-(-step // UPDATES_PER_EPOCH) * UPDATES_PER_EPOCH, end)
    return f"{kind}@{step}", None


def faulted_run(
    folder: Path, flags: list[str], kills: int, seed: int, end: int, show, broken: bool = False
) -> list[dict]:
    """Launch, kill, resume until ``kills`` kills are spent and a launch finishes; one record per launch
    (the straight run stopped after update ``end``: the kills are spread over updates 1 to ``end``)."""
    rng = random.Random(seed)
    finals = FINAL[: max(1, kills // 8)]
    plan = [COURSE[i % len(COURSE)] for i in range(kills - len(finals))] + finals
    course = len(plan) - len(finals)
    records: list[dict] = []
    torn: set[str] = set()
    resumed_at = 0
    for index in range(len(plan) + 1):
        kind = plan[index] if index < len(plan) else "none"
        if kind not in (*FINAL, "none") and resumed_at >= end:  # the course is done: only its end is left
            kind = FINAL[index % len(FINAL)]
        if kind == "none":
            fault, kill_at = "", None
        else:
            fault, kill_at = next_fault(kind, resumed_at, rng, (index + 1) * end // max(course, 1), end)
        before = {p.name for p in (folder / "out").glob("checkpoint-*")} if (folder / "out").is_dir() else set()
        result = launch(
            folder, [*flags, "--resume_from_checkpoint", "true"] if index else flags, fault, kill_at, broken
        )
        resumed = re.search(r"resuming from (\S+)", result["output"])
        record = {"launch": index + 1, "planned": kind, "fault": fault or (f"random@{kill_at[0]}" if kill_at else ""),
                  "killed": result["returncode"] == -signal.SIGKILL, "phase": result["phase"],
                  "resumed_from": Path(resumed.group(1)).name if resumed else None,
                  "returncode": result["returncode"]}  # fmt: skip
        if record["resumed_from"] in torn:
            raise AssertionError(f"launch {index + 1} resumed from the torn {record['resumed_from']}")
        warned = set(re.findall(r"skipping the torn checkpoint \S*?(checkpoint-\d+)", result["output"]))
        resume_step = int(record["resumed_from"].split("-")[1]) if record["resumed_from"] else 0
        unwarned = {name for name in torn & before if int(name.split("-")[1]) > resume_step} - warned
        if index and unwarned:
            raise AssertionError(f"launch {index + 1}: no warning named the torn {sorted(unwarned)}")
        record["warned"] = sorted(warned)
        torn = torn_by(result, torn)
        undetected = sorted(
            n for n in torn if (folder / "out" / n).is_dir() and not checkpoint_problem(folder / "out" / n)
        )
        if undetected:
            raise AssertionError(
                f"launch {index + 1}: checkpoint_problem finds nothing wrong with the torn {undetected}"
            )
        if not record["killed"] and result["returncode"] != 0:
            raise RuntimeError(f"launch {index + 1} failed ({result['returncode']}):\n{result['output'][-3000:]}")
        show(record)
        records.append(record)
        if not record["killed"] and kind != "none":
            raise AssertionError(f"launch {index + 1}: the fault {fault or kill_at} never fired")
        found = last_complete_checkpoint(folder / "out", warn=False)
        resumed_at = int(found.name.split("-")[1]) if found else 0
    return records


def compare(straight: Path, faulted: Path) -> dict:
    """Bit equality of every final weight, and equality of metrics.json but for the timed fields."""
    from safetensors.torch import load_file

    a, b = load_file(straight / "model" / "model.safetensors"), load_file(faulted / "model" / "model.safetensors")
    different = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or not _same_bits(a[k], b[k]))
    ma, mb = (_untimed(json.loads((folder / "metrics.json").read_text())) for folder in (straight, faulted))
    fields = sorted(k for k in ma.keys() | mb.keys() if ma.get(k) != mb.get(k))
    return {"tensors": len(a), "different_tensors": different, "different_metrics": fields}


def _same_bits(x, y) -> bool:
    return (
        x.dtype == y.dtype
        and x.shape == y.shape
        and x.contiguous().view(-1).numpy().tobytes() == (y.contiguous().view(-1).numpy().tobytes())
    )


def _untimed(summary: dict) -> dict:
    summary = {k: v for k, v in summary.items() if k != "train_seconds"}
    history = []
    for entry in summary["log_history"]:
        entry = {k: v for k, v in entry.items() if not UNTIMED.search(k)}
        if "train_loss" in entry and "total_flos" in entry:  # the training summary: over the last call only
            entry.pop("train_loss")
        history.append(entry)
    summary["log_history"] = history
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0, help="the faults' random choices")
    parser.add_argument("--scheme", default="mlm")
    parser.add_argument("--model", default="bert")
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default: a temporary folder")
    parser.add_argument("--markdown", action="store_true", help="the summary as docs/reliability.md shows it")
    parser.add_argument(
        "--break-rng-restore",
        action="store_true",
        help="negative control: the resumed launches restore no RNG state (the comparison must then fail)",
    )
    args = parser.parse_args(argv)
    if args.kills < 1:
        parser.error(f"--kills must be >= 1, got {args.kills}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="faults-"))
    for name in ("straight", "faulted"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    write_interactions(workdir / "interactions.csv")
    flags = job_flags(args.scheme, args.model)
    started = time.time()
    straight = launch(workdir / "straight", flags)
    if straight["returncode"] != 0:
        raise RuntimeError(f"the uninterrupted run failed:\n{straight['output'][-3000:]}")
    end = round(
        json.loads((workdir / "straight" / "out" / "metrics.json").read_text())["epochs_trained"] * UPDATES_PER_EPOCH
    )
    records = faulted_run(workdir / "faulted", flags, args.kills, args.seed, end, print_json, args.break_rng_restore)
    verdict = compare(workdir / "straight" / "out", workdir / "faulted" / "out")
    kills = [r for r in records if r["killed"]]
    summary = {
        "kills": len(kills),
        "launches": len(records),
        "phases": dict(Counter(r["phase"].split()[0] + _file(r["phase"]) for r in kills)),
        "torn_checkpoints_warned": sorted({name for r in records for name in r["warned"]}),
        **verdict,
        "equal": not verdict["different_tensors"] and not verdict["different_metrics"],
        "seconds": round(time.time() - started),
        "workdir": str(workdir),
    }
    print(_markdown(summary, args) if args.markdown else json.dumps(summary, indent=2))
    return summary


def print_json(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _file(phase: str) -> str:
    parts = phase.split()
    return f" {parts[2]}" if len(parts) > 2 else (f" {parts[1]}" if parts[0] == "final" else "")


def _markdown(summary: dict, args: argparse.Namespace) -> str:
    rows = "\n".join(f"| {phase} | {count} |" for phase, count in sorted(summary["phases"].items()))
    verdict = (
        "equal, bit for bit"
        if summary["equal"]
        else f"DIFFERENT: {summary['different_tensors']}, " + str(summary["different_metrics"])
    )
    return (
        f"`python benchmarks/faults.py --kills {args.kills} --seed {args.seed} --scheme {args.scheme} "
        f"--model {args.model}`: {summary['kills']} kills over {summary['launches']} launches "
        f"({summary['seconds']} s).\n\n| phase the kill hit | kills |\n|---|---|\n{rows}\n\n"
        f"Final weights ({summary['tensors']} tensors) and metrics.json: {verdict}. Torn checkpoints skipped "
        f"with a warning: {', '.join(summary['torn_checkpoints_warned']) or 'none'}."
    )


if __name__ == "__main__":
    main()
