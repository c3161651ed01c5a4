"""The RTD ablation on ML-1M: XLNet + rtd at one recipe, one lever changed per run.

The runs are `benchmarks/movielens.py --pair xlnet-rtd` with the `xlnet-rtd` recipe (L=50, hidden 64,
40 epochs, validation every 2) and one of `--discriminator-loss-weight W`, `--generator-hidden-size`,
`--replacements-from-batch` (`results/ml1m/scripts/lane_rtd.sh`). This script reads their
metrics.json (`docs/ml1m_runs/xlnet-rtd*.json`) and writes the table and the validation curves:

    python benchmarks/rtd_ablation.py            # docs/rtd_ablation.md and docs/rtd_ablation.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run_groups

RECIPE = {"model": "xlnet", "max_length": 50, "hidden_size": 64, "epochs": 40}
# rtd's runs, and the control: the same recipe trained with mlm alone (rtd = this loss + detection).
SCHEMES = ("rtd", "mlm")


def ablation_runs(folder: Path) -> dict[str, dict]:
    """The finished runs of the recipe in ``folder``, keyed by run name."""
    runs = {}
    for path in sorted([*folder.glob("xlnet-rtd*.json"), *folder.glob("xlnet-mlm-L50*.json")]):
        summary = json.loads(path.read_text())
        arguments = summary["arguments"]
        if arguments.get("scheme") in SCHEMES and all(arguments.get(key) == value for key, value in RECIPE.items()):
            runs[path.stem] = summary
    return runs


def lever(arguments: dict) -> str:
    """What this run changed, in words (runs recorded before the rtd flags used ELECTRA's defaults)."""
    if arguments.get("scheme") == "mlm":
        return "no detection: mlm alone (the control)"
    weight = arguments.get("discriminator_loss_weight", 50.0)
    parts = [f"detection weight {weight:g}"]
    if arguments.get("generator_hidden_size"):
        parts.append(f"separate generator d={arguments['generator_hidden_size']}")
    if arguments.get("replacements_from_batch"):
        parts.append("replacements from the batch")
    return ", ".join(parts)


def table(runs: dict[str, dict]) -> list[str]:
    lines = [
        "| run | lever | seed | test NDCG@10 | test Recall@10 | best validation NDCG@10 (epoch) | epochs | train min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(runs, key=lambda name: -_test(runs[name])["ndcg@10"])
    for name in order:
        summary = runs[name]
        test, best = _test(summary), summary["validation"]["best"]
        lines.append(
            f"| `{name}` | {lever(summary['arguments'])} | {summary['arguments'].get('seed', 0)} | "
            f"{test['ndcg@10']:.4f} | {test['recall@10']:.4f} | "
            f"{best['ndcg@10']:.4f} ({best['epoch']:g}) | {summary['epochs_trained']:g} | "
            f"{summary['train_seconds'] / 60:.0f} |"
        )
    return lines


def draw(runs: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    colours: dict[str, str] = {}  # one colour per lever; its other seeds thinner, unlabelled
    for _, summary in sorted(runs.items(), key=lambda item: item[1]["arguments"].get("seed", 0)):
        history, name = summary["validation"]["history"], lever(summary["arguments"])
        first = name not in colours
        line = axis.plot(
            [r["epoch"] for r in history], [r["ndcg@10"] for r in history],
            label=name if first else None, color=colours.get(name), linewidth=1.5 if first else 0.8,
        )[0]  # fmt: skip
        colours.setdefault(name, line.get_color())
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation NDCG@10")
    axis.set_title("XLNet + rtd on ML-1M (L=50, hidden 64): one lever per run")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _test(summary: dict) -> dict:
    return next(r for r in summary["test"] if r["model"] == "xlnet" and r["history"] == "excluded")


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("docs/ml1m_runs"))
    parser.add_argument("--picture", type=Path, default=Path("docs/rtd_ablation.png"))
    args = parser.parse_args(argv)
    runs = ablation_runs(args.runs)
    if not runs:
        raise SystemExit(f"no XLNet + rtd run of the ablation recipe in {args.runs}")
    draw(runs, args.picture)
    lines = table(runs)
    means = run_groups.seed_table(runs, run_groups.job_defaults())  # levers run over several seeds: mean ± sd
    if means:
        lines += ["", *means]
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
