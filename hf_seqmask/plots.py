"""Pictures of a training run (matplotlib, the optional ``plots`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_training_curves(log_history: list[dict[str, Any]], path: str | Path, *, title: str = "") -> bool:
    """The training loss per logging step and the validation NDCG@10 (history excluded and included)
    per evaluation, from a Trainer's ``state.log_history``, as one PNG. Returns False (and writes
    nothing) when matplotlib is not installed or there is nothing to draw.

    Example:
        >>> import tempfile, os
        >>> history = [{"step": 10, "loss": 5.0}, {"step": 20, "loss": 4.0, "epoch": 1.0},
        ...            {"step": 20, "epoch": 1.0, "eval_ndcg@10": 0.1, "eval_ndcg@10_with_history": 0.05}]
        >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
        >>> plot_training_curves(history, path) == os.path.exists(path)
        True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    losses = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry and "step" in entry]
    evaluations = [entry for entry in log_history if "eval_ndcg@10" in entry]
    if not losses and not evaluations:
        return False
    panels = 2 if evaluations else 1  # no validation run: the loss alone
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6), squeeze=False)
    left, right = axes[0][0], axes[0][-1]
    if losses:
        left.plot(*zip(*losses, strict=True), color="tab:blue")
    left.set(xlabel="step", ylabel="training loss", title="training loss")
    if evaluations:
        for key, label, style in (
            ("eval_ndcg@10", "history excluded", "-o"),
            ("eval_ndcg@10_with_history", "history included", "--o"),
        ):
            points = [(entry.get("epoch", entry.get("step")), entry[key]) for entry in evaluations if key in entry]
            if points:
                right.plot(*zip(*points, strict=True), style, label=label, markersize=3)
        right.set(xlabel="epoch", ylabel="NDCG@10", title="validation NDCG@10")
        right.legend()
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
