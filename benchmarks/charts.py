"""The pictures beside the tables in docs/: drawn from the committed reports, so they can be redrawn.

    python benchmarks/charts.py            # docs/results_ndcg.png, docs/results_validation.png,
                                           # docs/benchmarks_throughput.png, docs/scale.png

The validation curves come from the raw training logs in ``results/ml1m/logs/``.

``benchmarks/movielens.py`` and ``benchmarks/collate.py`` call the matching function after writing
their report. Needs matplotlib (``pip install -e ".[plots]"``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

DOCS = Path("docs")
LOGS = Path("results/ml1m/logs")  # the raw ML-1M training logs (kept out of docs/)
PUBLISHED_LABEL = "published"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def markdown_table(text: str, heading: str | None = None) -> list[dict[str, str]]:
    """The rows of the first markdown table after ``heading`` (or the first one) as dicts; none if
    ``heading`` is not there.

    Example:
        >>> markdown_table("| a | b |\\n|---|---|\\n| 1 | 2 |\\n")
        [{'a': '1', 'b': '2'}]
    """
    lines = text.splitlines()
    start = 0
    if heading is not None:
        found = next((i for i, line in enumerate(lines) if line.strip().startswith(heading)), None)
        if found is None:
            return []
        start = found
    table = []
    for line in lines[start:]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif table:
            break
    if not table:
        return []
    header, rows = table[0], table[2:]
    return [dict(zip(header, row, strict=False)) for row in rows]


def _number(cell: str) -> float | None:
    cell = cell.strip()
    if cell in ("", "—"):
        return None
    scale = {"k": 1e3, "M": 1e6}.get(cell[-1], 1.0)
    return float(cell[:-1] if scale != 1.0 else cell) * scale


def results_chart(results: Path = DOCS / "results.md", output: Path = DOCS / "results_ndcg.png") -> Path:
    """NDCG@10 (history excluded) of every run in the results table, beside the published figures."""
    plt = _plt()
    text = results.read_text()
    ours = [(row["run"].replace(" †", ""), _number(row["NDCG@10"])) for row in markdown_table(text, "| run |")]
    published = [
        (row["model"], _number(row["NDCG@10"]))
        for row in markdown_table(text, "| model |")
        if _number(row["NDCG@10"]) is not None
    ]
    peers = [(row["peer"], _number(row["NDCG@10"])) for row in markdown_table(text, "| peer |")]
    bars = (
        [(name, value, "tab:blue") for name, value in ours]
        + [(name, value, "tab:orange") for name, value in peers]
        + [(name, value, "tab:gray") for name, value in published]
    )
    figure, axis = plt.subplots(figsize=(9, 0.32 * len(bars) + 1.2))
    names = [name for name, _, _ in bars][::-1]
    axis.barh(names, [v for _, v, _ in bars][::-1], color=[c for _, _, c in bars][::-1])
    for index, (_, value, _) in enumerate(bars[::-1]):
        axis.text(value + 0.002, index, f"{value:.4f}", va="center", fontsize=7)
    axis.set_xlabel("NDCG@10 on ML-1M (all items ranked, history excluded)")
    axis.set_title("ML-1M test NDCG@10: our runs (blue), RecBole on our split (orange), published (gray)", fontsize=10)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def validation_curves(logs: Path = LOGS) -> dict[str, list[tuple[float, float]]]:
    """Validation NDCG@10 per epoch of every run in the training logs (a log may hold several runs,
    each started by a ``+ python benchmarks/movielens.py --pair P [--name N]`` line)."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for log in sorted(logs.glob("*.log")):
        run = log.stem
        for line in log.read_text(errors="replace").replace("\r", "\n").splitlines():
            started = re.search(r"movielens\.py --pair (\S+)(?: --name (\S+))?", line)
            if started and line.startswith("+"):
                run = started.group(2) or started.group(1)
            found = re.search(r"validation, epoch ([\d.]+): ndcg@10 ([\d.]+)", line)
            if found:
                curves.setdefault(run, []).append((float(found.group(1)), float(found.group(2))))
    return curves


def validation_chart(logs: Path = LOGS, output: Path = DOCS / "results_validation.png") -> Path:
    """The validation NDCG@10 curves of the committed ML-1M training logs."""
    plt = _plt()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for run, points in sorted(validation_curves(logs).items()):
        axis.plot(*zip(*points, strict=True), "-o", markersize=2.5, label=run)
    axis.axhline(0.1516, color="gray", linestyle="--", linewidth=1)
    axis.text(1, 0.1530, "BERT4Rec, Petrov & Macdonald 2022 (test)", color="gray", fontsize=7)
    axis.set(xlabel="epoch", ylabel="validation NDCG@10 (history excluded)", title="ML-1M validation curves")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


COMPARISONS = (
    ("clm", "ours clm train", "transformers mlm=False"),
    ("mlm", "ours mlm train", "transformers mlm=True"),
    ("plm", "ours plm train compact", "transformers PLM"),
)


def throughput_chart(report: Path = DOCS / "benchmarks.md", output: Path = DOCS / "benchmarks_throughput.png") -> Path:
    """Sequences per second of our collators and transformers' (lists inputs), per batch shape, log scale."""
    plt = _plt()
    rows = {row["collator"]: row for row in markdown_table(report.read_text(), "## Throughput, lists inputs")}
    shapes = [key for key in next(iter(rows.values())) if key != "collator"]
    figure, axes = plt.subplots(1, len(COMPARISONS), figsize=(12, 3.8), sharey=True)
    width = 0.4
    for axis, (scheme, ours, theirs) in zip(axes, COMPARISONS, strict=True):
        positions = range(len(shapes))
        axis.bar([p - width / 2 for p in positions], [_number(rows[ours][s]) for s in shapes], width, label="ours")
        axis.bar([p + width / 2 for p in positions], [_number(rows[theirs][s]) for s in shapes], width, label=theirs)
        axis.set_xticks(list(positions), shapes, rotation=60, fontsize=7)
        axis.set_yscale("log")
        axis.set_title(f"{scheme}: ours vs {theirs}", fontsize=9)
        axis.legend(fontsize=7)
    axes[0].set_ylabel("sequences / second (log)")
    figure.suptitle("Collator throughput, batch x length, lists inputs (docs/benchmarks.md)", fontsize=10)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def scale_chart(report: Path = DOCS / "scale.md", output: Path = DOCS / "scale.png") -> Path:
    """Step time (forward + backward + optimizer) and peak memory against catalogue size, per loss."""
    plt = _plt()
    rows = markdown_table(report.read_text(), "| items |")
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.2))
    losses = list(dict.fromkeys(row["loss"] for row in rows))
    for loss in losses:
        points = sorted(
            (
                float(row["items"].replace(",", "")),
                float(row["forward + backward s"]) + float(row["AdamW step s"]),
                float(row["peak MB"]),
            )
            for row in rows
            if row["loss"] == loss
        )
        items = [p[0] for p in points]
        time_axis.plot(items, [p[1] for p in points], "-o", markersize=3, label=loss)
        memory_axis.plot(items, [p[2] for p in points], "-o", markersize=3, label=loss)
    for axis, label in ((time_axis, "seconds per training step"), (memory_axis, "peak memory (MB)")):
        axis.set(xscale="log", yscale="log", xlabel="items in the catalogue", ylabel=label)
    time_axis.legend(fontsize=6)
    figure.suptitle("GPT-2 training step against catalogue size (docs/scale.md)", fontsize=10)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--logs", type=Path, default=LOGS, help="the ML-1M training logs")
    args = parser.parse_args(argv)
    docs = args.docs
    written = [
        results_chart(docs / "results.md", docs / "results_ndcg.png"),
        validation_chart(args.logs, docs / "results_validation.png"),
        throughput_chart(docs / "benchmarks.md", docs / "benchmarks_throughput.png"),
        scale_chart(docs / "scale.md", docs / "scale.png"),
    ]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
