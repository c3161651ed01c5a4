"""A real full disk while the main job saves: what it says, what it leaves, and the relaunch.

    mount -t tmpfs -o size=8M tmpfs /mnt/small        # as root: a small file system to fill
    python benchmarks/full_disk.py --folder /mnt/small  # docs/reliability.md

In ``--folder`` (which it fills, then empties) the tiny main job (GPT-2 + clm, 4 updates, a checkpoint
every 2) runs twice with ``--resume_from_checkpoint true``, each time on a file system filled to leave
less room than it needs:

- ``checkpoint``: room for ``checkpoint-2`` and half of ``checkpoint-4`` (sizes measured by a first run);
- ``model``: no checkpoints, and room for half of the final ``model/``.

It records the exit status, the error line, what the output folder holds afterwards and whether every
checkpoint left there is whole; then it deletes the filler and runs the same command again, which must
resume from the last whole checkpoint (or start over) and finish. No simulation: the writes fail with
the file system's own ENOSPC, as torch.save and safetensors report it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hf_seqmask.checkpoints import checkpoint_problem, folder_bytes  # noqa: E402


def job(csv: Path, out: Path, checkpoints: bool) -> list[str]:
    command = [sys.executable, "-m", "hf_seqmask.cli", "--dataset", str(csv), "--scheme", "clm", "--model", "gpt2",
               "--hidden-size", "16", "--max-length", "12", "--batch-size", "8", "--max-steps", "4", "--threads", "1",
               "--quiet", "--output-dir", str(out), "--resume_from_checkpoint", "true"]  # fmt: skip
    return command + (["--save_strategy", "steps", "--save_steps", "2"] if checkpoints else [])


def run(command: list[str]) -> tuple[int, list[str]]:
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if "Warning" not in line]


def fill(folder: Path, leave: int) -> Path:
    """A file that leaves ``leave`` bytes free on ``folder``'s file system."""
    filler = folder / "filler"
    size = shutil.disk_usage(folder).free - leave
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * 2**16
        while size > 0:
            size -= handle.write(chunk[: min(len(chunk), size)])
    return filler


def case(folder: Path, csv: Path, name: str, checkpoints: bool, leave: int) -> dict:
    out = folder / f"out-{name}"
    filler = fill(folder, leave)
    status, lines = run(job(csv, out, checkpoints))
    left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    whole = {n: checkpoint_problem(out / n) is None for n in left if n.startswith("checkpoint-")}
    filler.unlink()
    again, relaunch = run(job(csv, out, checkpoints))
    resumed = next((line for line in relaunch if line.startswith("--resume_from_checkpoint")), None)
    shutil.rmtree(out)
    return {
        "bytes_free": leave, "exit_status": status, "error": next((x for x in lines if x.startswith("error:")), None),
        "left_in_output_dir": left, "checkpoints_whole": whole, "relaunch_exit_status": again,
        "relaunch": resumed, "relaunch_saved": any(line.startswith("saved the model") for line in relaunch),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", required=True, help="a small file system of its own (it is filled)")
    parser.add_argument("--output", default=None, help="write the results here as JSON")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from input_scale import generate

    csv = Path(tempfile.mkdtemp()) / "clicks.csv"  # not on the small file system
    generate(csv, rows=400, users=40, items=30, corrupt=0.0, seed=0)
    sizing = folder / "sizing"
    status, _ = run(job(csv, sizing, checkpoints=True))
    checkpoint, model = folder_bytes(sizing / "checkpoint-2"), folder_bytes(sizing / "model")
    shutil.rmtree(sizing)
    results = {
        "file_system": f"{shutil.disk_usage(folder).total:,} bytes",
        "checkpoint_bytes": checkpoint, "model_bytes": model, "sizing_exit_status": status,
        "checkpoint": case(folder, csv, "checkpoint", True, checkpoint + checkpoint // 2),
        "model": case(folder, csv, "model", False, model // 2),
    }  # fmt: skip
    shutil.rmtree(csv.parent)
    print(json.dumps(results, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
