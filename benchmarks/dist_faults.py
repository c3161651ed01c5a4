"""Distributed faults: the main job on 2 CPU processes (gloo), one rank killed or hung mid-epoch; the
other exits with an error, no hang; resumed on 2 ranks it ends bit for bit where an uninterrupted
2-rank run ends.

    python benchmarks/dist_faults.py                           # torchrun, about 2 minutes (docs/reliability.md)
    python benchmarks/dist_faults.py --launcher accelerate     # accelerate launch --multi_gpu (gloo on a CPU)
    python benchmarks/dist_faults.py --launcher plain          # 2 processes started by hand: no elastic agent

The data and the job are benchmarks/faults.py's (64 synthetic users, a tiny BERT + mlm, validating and
checkpointing every epoch: 2 updates an epoch on 2 ranks). It runs the job once straight through, then
once per fault -- rank 1 SIGKILLed (``kill``), or SIGSTOPped (``hang``: alive and silent) after the
backward pass of update ``--at`` -- each with ``--ddp_timeout`` ``--timeout``, and measures the
seconds from the fault to the surviving rank's one-line ``lost its peer`` error (or the launcher's
SIGTERM to it, whichever comes first), to its exit and to the launcher's exit. A hung rank outlives
the survivor: the launcher's agent waits 30 s for it to take SIGTERM before its SIGKILL; the harness
SIGKILLs it once the survivor has exited (``--leave-hung`` leaves it to the agent). Each faulted run
is then resumed on 2 ranks with ``--resume_from_checkpoint true`` and compared with the straight run
as faults.py compares: every final weight bit for bit, metrics.json but for wall-clock fields.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from faults import ROOT, compare, job_flags, write_interactions  # noqa: E402

LAUNCHERS = {
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"],
    "accelerate": ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port"],
}  # fmt: skip
LOST = re.compile(r"error: rank \d+ of \d+ lost its peer.*")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(launcher: str, folder: Path, flags: list[str], env: dict, log) -> list[subprocess.Popen]:
    """The launcher (one process), or for ``plain`` the 2 ranks themselves."""
    port = str(_free_port())
    if launcher == "plain":
        common = {**env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2"}
        return [
            subprocess.Popen(
                [sys.executable, "-m", "faulthook", *flags],
                cwd=folder,
                env={**common, "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": "2"},
                stdout=log,
                stderr=log,
            )
            for rank in range(2)
        ]
    command = [*LAUNCHERS[launcher], port, "-m", "faulthook", *flags]
    return [subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=log)]


def launch(
    launcher: str, folder: Path, flags: list[str], fault: str = "", leave_hung: bool = False, name: str = "log"
) -> dict:
    """One 2-rank run in ``folder``; ``fault``: ``kill@N`` or ``hang@N`` (rank 1, after update N)."""
    folder.mkdir(parents=True, exist_ok=True)
    events = folder / "events"
    events.unlink(missing_ok=True)
    kind, _, step = fault.partition("@")
    env = {**os.environ, "FAULT": f"step@{step}" if fault else "", "FAULT_RANK": "1", "FAULT_EVENTS": str(events)}
    env.update(FAULT_SIGNAL="STOP" if kind == "hang" else "", FAULT_BEACON="", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT), env.get("PYTHONPATH", "")])
    survivor_error = survivor_exit = None
    with open(folder / name, "w") as log:
        processes = _start(launcher, folder, flags, env, log)
        while any(p.poll() is None for p in processes):
            text = (folder / name).read_text(errors="replace")
            if fault and survivor_error is None and (LOST.search(text) or "closing signal SIGTERM" in text):
                survivor_error = time.time()  # its one-line error, or the agent's SIGTERM to it
            if survivor_error and survivor_exit is None and not _alive(_pid_of_rank(events, 0)):
                survivor_exit = time.time()
                if kind == "hang" and not leave_hung:  # once the survivor is gone: the stopped rank
                    os.kill(int(_fault_event(events)[1]), signal.SIGKILL)
            time.sleep(0.05)
        ended = time.time()
    output = (folder / name).read_text(errors="replace")
    record = {"launcher": launcher, "fault": fault or "none", "returncode": [p.returncode for p in processes]}
    record["aborted"] = "terminate called" in output  # a C++ abort at exit (see docs/reliability.md)
    if fault:
        at = float(_fault_event(events)[0])
        lost = LOST.search(output)
        record.update(
            survivor_error=lost.group(0)[:160] if lost else None,
            survivor_sigterm="closing signal SIGTERM" in output,
            seconds_to_survivor_error=round((survivor_error or ended) - at, 1),
            seconds_to_survivor_exit=round((survivor_exit or ended) - at, 1),
            seconds_to_launcher_exit=round(ended - at, 1),
        )
    return record | {"output": output}


def _pid_of_rank(events: Path, rank: int) -> int:
    return next(int(line.split()[2]) for line in events.read_text().splitlines() if line.startswith(f"rank {rank} "))


def _alive(pid: int) -> bool:
    """Running (not yet exited, or exited and reaped: a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _fault_event(events: Path) -> list[str]:
    for _ in range(200):
        lines = [line.split()[1:] for line in events.read_text().splitlines() if line.startswith("fault")]
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise RuntimeError(f"the fault never fired ({events})")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--launcher", choices=[*LAUNCHERS, "plain"], default="torchrun")
    parser.add_argument("--faults", nargs="+", default=["kill", "hang"], choices=["kill", "hang"])
    parser.add_argument("--at", type=int, default=5, help="the update after which rank 1 is hit")
    parser.add_argument("--timeout", type=int, default=10, help="the job's --ddp_timeout in the faulted runs")
    parser.add_argument("--leave-hung", action="store_true", help="leave the hung rank to the launcher's agent")
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default: a temporary folder")
    args = parser.parse_args(argv)
    if args.launcher == "accelerate" and shutil.which("accelerate") is None:
        parser.error("the accelerate command is not on PATH")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dist-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    write_interactions(workdir / "interactions.csv")
    flags = [*job_flags("mlm", "bert"), "--ddp_timeout", str(args.timeout)]
    started = time.time()
    straight = launch(args.launcher, workdir / "straight", flags)
    if straight["returncode"] != [0] * len(straight["returncode"]):
        raise RuntimeError(f"the uninterrupted run failed:\n{straight['output'][-3000:]}")
    runs = []
    for kind in args.faults:
        folder = workdir / kind
        record = launch(args.launcher, folder, flags, f"{kind}@{args.at}", args.leave_hung)
        resumed = launch(args.launcher, folder, [*flags, "--resume_from_checkpoint", "true"], name="log-resumed")
        if resumed["returncode"] != [0] * len(resumed["returncode"]):
            raise RuntimeError(f"the resumed run failed:\n{resumed['output'][-3000:]}")
        found = re.search(r"resuming from (\S+)", resumed["output"])
        record.update(resumed_from=Path(found.group(1)).name if found else None, resumed_aborted=resumed["aborted"])
        record.update(compare(workdir / "straight" / "out", folder / "out"))
        record["equal"] = not record["different_tensors"] and not record["different_metrics"]
        record.pop("output")
        print(json.dumps(record), flush=True)
        runs.append(record)
    summary = {"runs": runs, "seconds": round(time.time() - started), "workdir": str(workdir)}
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))
    return summary


if __name__ == "__main__":
    main()
