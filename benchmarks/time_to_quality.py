"""Minutes to a validation NDCG@10 level: our recipes and RecBole's peers timed by one clock.

One command trains a named recipe on MovieLens with validation every epoch, in a child process whose
output lines are timestamped here as they arrive, so our main job and RecBole (``benchmarks/peers.py``,
in its own virtual environment) are timed by the same clock, from launch (data loading included)::

    python benchmarks/time_to_quality.py run gpt2-clm-L200 --threads 2
    python benchmarks/time_to_quality.py run gpt2-clm-L200 --name gpt2-clm-L200-bf16 -- --bf16
    python benchmarks/time_to_quality.py run recbole-SASRec-L50 --threads 2 --recbole-python /tmp/recbole/bin/python
    python benchmarks/time_to_quality.py report      # docs/time_to_quality.md's table + docs/time_to_quality.png
    python benchmarks/time_to_quality.py report --runs "*L50*" --picture docs/peers.png  # the L=50 runs

Extra main-job options go after ``--`` (``-- --max-minutes 30 --dataset ml-100k``). Each run writes
``<output>/<recipe>.json`` (default ``docs/time_to_quality/``): the machine, threads and device, every
validation as (minutes, epoch, NDCG@10), the minutes to each level of the recipe (``null``: not
reached), the final test metrics and the command. Timings never decide a test: CI runs one recipe at a
tiny size so the script cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "time_to_quality"
CLM_LEVELS = (0.15, 0.17, 0.18, 0.19)
MLM_LEVELS = (0.12, 0.14, 0.15)
# The main job prints "validation, epoch 3: ndcg@10 0.1234"; benchmarks/peers.py prints
# "SASRec epoch 3: validation NDCG@10 0.1234 at 1.2 min".
OURS_LINE = re.compile(r"^validation, epoch ([0-9.]+): ndcg@10 ([0-9.]+)")
PEER_LINE = re.compile(r"^\w+ epoch ([0-9.]+): validation NDCG@10 ([0-9.]+)")


@dataclass(frozen=True)
class Recipe:
    """A named training command: ``ours`` (main-job options) or ``recbole`` (``peers.py run`` options)."""

    kind: str
    options: str
    levels: tuple[float, ...]


# ML-1M named here: the main job's own default is ML-100K (a session-30 run measured ML-100K by mistake).
_OURS_COMMON = "--dataset ml-1m --validate-every 1 --batch-size 64 --dropout 0.2 --learning-rate 2e-3 --quiet"
RECIPES = {
    # GPT-2 + clm, item ids only, L=200: the CPU target of issue 24 (validation 0.18 in <= 15 minutes).
    "gpt2-clm-L200": Recipe(
        "ours", f"--model gpt2 --scheme clm --max-length 200 --epochs 40 --patience 5 {_OURS_COMMON}", CLM_LEVELS
    ),
    "gpt2-clm-L50": Recipe(
        "ours", f"--model gpt2 --scheme clm --max-length 50 --epochs 20 --patience 5 {_OURS_COMMON}", CLM_LEVELS
    ),
    # BERT + mlm, item ids only, hidden 128, L=50 (bert-mlm-L50-d128 of docs/results.md, validated every epoch).
    "bert-mlm-L50-d128": Recipe(
        "ours",
        f"--model bert --scheme mlm --max-length 50 --epochs 120 --mask-last-item-prob 0.1 --hidden-size 128 "
        f"--patience 30 {_OURS_COMMON}",
        MLM_LEVELS,
    ),
    # RecBole's own early stopping: 3 epochs without a better validation NDCG@10 (peers.py --patience).
    "recbole-SASRec-L50": Recipe("recbole", "--model SASRec --max-length 50 --patience 3", CLM_LEVELS),
    "recbole-BERT4Rec-L50": Recipe("recbole", "--model BERT4Rec --max-length 50 --patience 3", MLM_LEVELS),
    "recbole-SASRec-L200": Recipe("recbole", "--model SASRec --max-length 200 --patience 3", CLM_LEVELS),
    "recbole-BERT4Rec-L200": Recipe("recbole", "--model BERT4Rec --max-length 200 --patience 3", MLM_LEVELS),
}


def machine() -> dict:
    """What ran it: CPU model, vector unit and native bf16 (hosts of one name differ), cores, platform, python."""
    sys.path.insert(0, str(ROOT))
    from hf_seqmask._device import cpu_facts  # here, not at the top: `report` needs no model stack

    facts = cpu_facts()
    return {
        "cpu": facts["model"],
        "cpu_capability": facts["capability"],
        "native_bf16": facts["native_bf16"],
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def command_for(
    name: str, recipe: Recipe, threads: int, work: Path, extra: list[str], recbole_python: str
) -> list[str]:
    """The child process's argv (``extra``: more main-job or peers.py options, appended last)."""
    if recipe.kind == "ours":
        options = [*recipe.options.split(), "--threads", str(threads), "--output_dir", str(work / name), *extra]
        return [sys.executable, "-m", "hf_seqmask.cli", *options]
    script = str(ROOT / "benchmarks" / "peers.py")
    data = ["--data", str(work / "peers-data")]
    return [
        recbole_python,
        script,
        "run",
        *recipe.options.split(),
        *data,
        "--threads",
        str(threads),
        "--output",
        str(work / name),
        *extra,
    ]


def timed_validations(command: list[str], pattern: re.Pattern, log: Path) -> tuple[list[dict], int, float]:
    """Run ``command``, timestamping each validation line as it arrives; the child's output goes to
    ``log``. Returns the curve, the exit code and the total minutes."""
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    started, curve = time.monotonic(), []
    with (
        log.open("w") as sink,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, bufsize=1
        ) as child,
    ):
        assert child.stdout is not None
        for line in child.stdout:
            minutes = (time.monotonic() - started) / 60
            sink.write(line)
            found = pattern.match(line.strip())
            if found:
                curve.append({"minutes": round(minutes, 3), "epoch": float(found[1]), "ndcg@10": float(found[2])})
                print(f"{minutes:7.2f} min  epoch {found[1]:>6}  validation NDCG@10 {float(found[2]):.4f}", flush=True)
        code = child.wait()
    return curve, code, (time.monotonic() - started) / 60


def minutes_to(curve: list[dict], levels: tuple[float, ...]) -> dict[str, float | None]:
    """The minutes at the first validation at or above each level (``None``: never reached).

    Example:
        >>> minutes_to([{"minutes": 1.0, "ndcg@10": 0.1}, {"minutes": 2.5, "ndcg@10": 0.16}], (0.15, 0.17))
        {'0.15': 2.5, '0.17': None}
    """
    return {f"{level:g}": next((p["minutes"] for p in curve if p["ndcg@10"] >= level), None) for level in levels}


def test_metrics(recipe: Recipe, folder: Path) -> dict:
    """The final test metrics the child wrote (ours: the history-excluded row of metrics.json)."""
    if recipe.kind == "ours":
        path = folder / "metrics.json"
        if not path.exists():
            return {}
        rows = json.loads(path.read_text())["test"]
        row = next(r for r in rows if r.get("history") == "excluded" and r.get("model") != "popularity")
        return {key: row[key] for key in ("ndcg@10", "recall@10", "mrr@10")}
    peers = list(folder.glob("*.json"))
    return json.loads(peers[0].read_text())["test"] if peers else {}


def run(
    recipe_name: str,
    threads: int,
    extra: list[str],
    output: Path,
    work: Path,
    recbole_python: str,
    name: str | None = None,
) -> dict:
    """Train recipe ``recipe_name`` (plus ``extra`` options), write ``<output>/<name>.json`` (``name``
    defaults to the recipe's) and return it."""
    recipe = RECIPES[recipe_name]
    name = name or recipe_name
    work.mkdir(parents=True, exist_ok=True)
    if recipe.kind == "recbole" and not (work / "peers-data").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "peers.py"), "export", "--output", str(work / "peers-data")],
            check=True,
        )  # our split, in our environment (untimed)
    command = command_for(name, recipe, threads, work, extra, recbole_python)
    output.mkdir(parents=True, exist_ok=True)
    log = output / f"{name}.log"
    print(f"{name}: {' '.join(command)}", flush=True)
    curve, code, total = timed_validations(command, OURS_LINE if recipe.kind == "ours" else PEER_LINE, log)
    if code != 0:
        raise SystemExit(f"error: {name} exited with {code}; its output is in {log}")
    device = "cpu"
    if recipe.kind == "ours" and (work / name / "metrics.json").exists():
        device = json.loads((work / name / "metrics.json").read_text()).get("device", "cpu")
    summary = {
        "recipe": name,
        "base_recipe": recipe_name,
        "kind": recipe.kind,
        "command": " ".join(["python", *command[1:]]),
        "threads": threads,
        "device": device,
        "machine": machine(),
        "clock": "wall minutes from the child's launch (data loading included), read as each validation line arrives",
        "levels": minutes_to(curve, recipe.levels),
        "curve": curve,
        "best_validation_ndcg@10": max((p["ndcg@10"] for p in curve), default=None),
        "total_minutes": round(total, 3),
        "test": test_metrics(recipe, work / name),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (output / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def report(
    output: Path = OUTPUT, picture: Path = ROOT / "docs" / "time_to_quality.png", runs_named: str = "*"
) -> list[str]:
    """The table rows of the runs in ``output`` whose file names match the glob ``runs_named``
    (markdown), and the curve picture (one line per run; RecBole's dashed)."""
    runs = [json.loads(path.read_text()) for path in sorted(output.glob(f"{runs_named}.json"))]
    lines = [
        "| run | threads | device | minutes to validation NDCG@10 levels | best validation | test NDCG@10 | min |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        levels = ", ".join(f"{k}: {'—' if v is None else f'{v:.1f}'}" for k, v in r["levels"].items())
        best = r["best_validation_ndcg@10"]
        test = r["test"].get("ndcg@10")
        best_cell = "—" if best is None else f"{best:.4f}"
        test_cell = "—" if test is None else f"{test:.4f}"
        lines.append(
            f"| {r['recipe']} | {r['threads']} | {r['device']} | {levels} | {best_cell} | {test_cell} | "
            f"{r['total_minutes']:.1f} |"
        )
    if runs:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4.2))
        for r in runs:
            minutes, ndcg = [p["minutes"] for p in r["curve"]], [p["ndcg@10"] for p in r["curve"]]
            style = "--" if r["kind"] == "recbole" else "-"
            axes.plot(minutes, ndcg, style, marker=".", label=r["recipe"])
        axes.set_xlabel("wall minutes from launch")
        axes.set_ylabel("validation NDCG@10")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(picture, dpi=110)
        plt.close(figure)
    return lines


def main(argv: list[str] | None = None) -> dict | list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="train one recipe, timing each validation")
    running.add_argument("recipe", choices=sorted(RECIPES))
    running.add_argument("--name", default=None, help="the run's name (default: the recipe's)")
    running.add_argument("--threads", type=int, default=2)
    running.add_argument("--output", type=Path, default=OUTPUT, help="where <recipe>.json and .log go")
    running.add_argument("--work", type=Path, default=Path("out/time_to_quality"), help="models, RecBole's data")
    running.add_argument("--recbole-python", default="/tmp/recbole/bin/python", help="RecBole's environment")
    reporting = commands.add_parser("report", help="the table and picture from every run's JSON")
    reporting.add_argument("--output", type=Path, default=OUTPUT)
    reporting.add_argument("--picture", type=Path, default=ROOT / "docs" / "time_to_quality.png")
    reporting.add_argument("--runs", default="*", help="only the runs whose names match this glob")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.command == "report":
        lines = report(args.output, args.picture, args.runs)
        print("\n".join(lines))
        return lines
    return run(args.recipe, args.threads, extra, args.output, args.work, args.recbole_python, args.name)


if __name__ == "__main__":
    main()
