"""One lever against its baseline over seeds: mean validation curves with their seed range, and a table.

A comparison names two run families in ``docs/ml1m_runs``: a baseline (``gpt2-clm-L50`` stands for the
runs ``gpt2-clm-L50``, ``gpt2-clm-L50-seed1``, ``gpt2-clm-L50-seed2``) and the same command with one
lever changed (``gpt2-clm-L50-window``). Each family must be one recipe apart from the seed (the rule
of ``run_groups``), and the table names the options in which the two recipes differ, so a comparison
that changed more than its lever shows it:

    python benchmarks/lever_curves.py --compare gpt2-clm-L50 gpt2-clm-L50-window \\
        --compare bert-mlm-L50-d128-attn0 bert-mlm-L50-d128-attn0-window --picture docs/train_windows.png
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import run_groups


def family(runs: dict[str, dict], name: str, defaults: dict[str, Any]) -> run_groups.RecipeGroup:
    """The runs called ``name`` or ``name-seedN``, checked to be one recipe."""
    pattern = re.compile(rf"{re.escape(name)}(-seed\d+)?")
    members = {run: summary for run, summary in runs.items() if pattern.fullmatch(run)}
    if not members:
        raise SystemExit(f"--compare: no run called {name!r} or {name!r}-seedN in the runs folder")
    groups = run_groups.group_runs(members, defaults)
    if len(groups) > 1:
        split = "; ".join(", ".join(sorted(group.runs)) for group in groups)
        raise SystemExit(f"--compare {name!r}: its runs are not one recipe apart from the seed ({split})")
    return groups[0]


def changed_options(base: run_groups.RecipeGroup, lever: run_groups.RecipeGroup) -> list[str]:
    """The options (and device or feature encoding) in which the two recipes differ, as "name: a -> b"."""
    left, right = json.loads(base.key), json.loads(lever.key)
    left = {**left.pop("recipe"), **left}
    right = {**right.pop("recipe"), **right}
    return [
        f"{option}: {left.get(option)} -> {right.get(option)}"
        for option in sorted(set(left) | set(right))
        if left.get(option) != right.get(option)
    ]


def mean_curve(group: run_groups.RecipeGroup) -> tuple[list[float], list[float], list[float], list[float]]:
    """Epochs validated in every run of the group, and the mean, lowest and highest NDCG@10 at each."""
    histories = [{r["epoch"]: r["ndcg@10"] for r in s["validation"]["history"]} for s in group.runs.values()]
    epochs = sorted(set.intersection(*(set(h) for h in histories)))
    values = [[h[epoch] for h in histories] for epoch in epochs]
    return epochs, [statistics.fmean(v) for v in values], [min(v) for v in values], [max(v) for v in values]


def table(pairs: list[tuple[run_groups.RecipeGroup, run_groups.RecipeGroup]]) -> list[str]:
    lines = [
        "| baseline -> lever | what changed | n | test NDCG@10 | change | test Recall@10 | validation NDCG@10"
        " | change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for base, lever in pairs:
        cells = []
        for metric, split, with_change in (("ndcg@10", "test", True), ("recall@10", "test", False),
                                           ("ndcg@10", "validation", True)):  # fmt: skip
            (b, b_sd), (v, v_sd) = base.mean_std(metric, split), lever.mean_std(metric, split)
            cells.append(f"{b:.4f} ± {b_sd:.4f} -> {v:.4f} ± {v_sd:.4f}")
            if with_change:
                cells.append(f"{100 * (v / b - 1):+.1f}%" if b and not math.isnan(b) else "—")
        names = f"`{_stem(base)}` -> `{_stem(lever)}`"
        changes = "; ".join(changed_options(base, lever)) or "nothing"
        lines.append(f"| {names} | {changes} | {len(base.runs)} / {len(lever.runs)} | {' | '.join(cells)} |")
    return lines


def draw(pairs: list[tuple[run_groups.RecipeGroup, run_groups.RecipeGroup]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(pairs), figsize=(5.5 * len(pairs), 4), squeeze=False)
    for axis, (base, lever) in zip(axes[0], pairs, strict=True):
        for group in (base, lever):
            epochs, mean, low, high = mean_curve(group)
            line = axis.plot(epochs, mean, label=f"{_stem(group)} (mean of {len(group.runs)})")[0]
            axis.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        axis.set_xlabel("epoch")
        axis.set_ylabel("validation NDCG@10")
        title = "; ".join(changed_options(base, lever)) or _stem(lever)
        axis.set_title(textwrap.fill(title, 72), fontsize=8)  # a scheme change names several options
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _stem(group: run_groups.RecipeGroup) -> str:
    """The family's name: its run without a seed suffix."""
    return min(re.sub(r"-seed\d+$", "", name) for name in group.runs)


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--compare", nargs=2, action="append", required=True, metavar=("BASELINE", "LEVER"))
    parser.add_argument("--runs", type=Path, default=Path("docs/ml1m_runs"))
    parser.add_argument("--picture", type=Path, help="where to draw the curves (PNG); none drawn without it")
    args = parser.parse_args(argv)
    runs = {path.stem: json.loads(path.read_text()) for path in sorted(args.runs.glob("*.json"))}
    defaults = run_groups.job_defaults()
    pairs = [(family(runs, base, defaults), family(runs, lever, defaults)) for base, lever in args.compare]
    if args.picture:
        draw(pairs, args.picture)
    lines = table(pairs)
    print("\n".join(lines))
    return lines


if __name__ == "__main__":
    main()
