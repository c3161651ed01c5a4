"""The main job's result table: the model's test metrics next to a popularity baseline, the history
excluded (the headline) and included, and the table as Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import datasets
import torch

from .metrics import WITH_HISTORY, evaluate_ranking, popularity_scorer

if TYPE_CHECKING:
    from . import SeqRecModel

METRICS = ("ndcg", "recall", "mrr")


def model_input_columns(model: SeqRecModel) -> list[str]:
    """The dataset columns the model's collators read: the items and the configured side features."""
    return ["input_ids", *model.config.side_features]


@torch.no_grad()
def evaluate_test(
    model: SeqRecModel, splits: datasets.DatasetDict, test_metrics: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """The test rows of the table: the model and the popularity baseline, history excluded and included.

    The model's rows come from ``trainer.evaluate``'s ``test_metrics`` (sharded over ranks) when given,
    else from scoring each test row here through the model's eval-mode collator, on its device.
    """
    evaluation = model.data_collator("eval")
    exclude_ids = model.reserved_ids.tolist()
    popularity = popularity_scorer(splits["train"]["input_ids"], model.config.backbone_config.vocab_size)
    test = splits["test"].select_columns(model_input_columns(model))
    scheme, family = model.config.scheme, model.config.backbone_config.model_type
    rows = []
    for history, suffix in (("excluded", ""), ("included", WITH_HISTORY)):
        exclude = history == "excluded"
        if test_metrics is None:
            ours = evaluate_ranking(
                model.score_batch, test, evaluation, exclude_ids=exclude_ids, exclude_history=exclude
            )
        else:
            ours = {"rows": test_metrics["test_rows"], "rows_without_target": test_metrics["test_rows_without_target"]}
            ours.update({f"{m}@10": test_metrics[f"test_{m}@10{suffix}"] for m in METRICS})
        baseline = evaluate_ranking(popularity, test, evaluation, exclude_ids=exclude_ids, exclude_history=exclude)
        rows.append({"scheme": scheme, "model": family, "history": history, **ours})
        rows.append({"scheme": "-", "model": "popularity", "history": history, **baseline})
    return rows


def format_table(rows: list[dict[str, Any]], ks: tuple[int, ...] = (10,)) -> str:
    """``rows`` (from :func:`evaluate_test`) as a Markdown table: scheme, model, history, then NDCG,
    Recall and MRR at each k.

    Example:
        >>> print(format_table([{"scheme": "mlm", "model": "bert", "history": "excluded",
        ...                      "ndcg@10": 0.1, "recall@10": 0.2, "mrr@10": 0.05}]))
        | scheme | model | history | ndcg@10 | recall@10 | mrr@10 |
        |---|---|---|---|---|---|
        | mlm | bert | excluded | 0.1000 | 0.2000 | 0.0500 |
    """
    columns = ["scheme", "model", "history", *[f"{m}@{k}" for k in ks for m in ("ndcg", "recall", "mrr")]]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row[c]) if isinstance(row[c], str) else f"{row[c]:.4f}" for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
