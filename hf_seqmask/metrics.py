"""Next-item metrics against ALL items: Recall@k (= HR@k), NDCG@k, MRR@k.

Only the top-k ids of each row are kept (memory B x k, not B x L x V): ``top_k_items`` ranks a
(B, V) score matrix with the reserved ids (and, optionally, the items already in the row's history)
excluded; ``ranking_metrics`` scores the ranks of the true next items. ``preprocess_logits_for_metrics``
and ``compute_metrics`` plug the same into the HF Trainer; ``evaluate_ranking`` runs a model over a
dataset with or without the history excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from ._masking import IGNORE_INDEX


def top_k_items(
    scores: torch.Tensor,
    k: int,
    *,
    exclude_ids: Sequence[int] | torch.Tensor = (),
    history: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ``k`` best item ids per row of ``scores`` (B, V), best first: (B, k) int64.

    ``exclude_ids`` (pad, mask, ...) never rank; with ``history`` (B, L) item ids (pad entries are
    harmless: pad is excluded anyway), the row's own items do not rank either.

    Example:
        >>> top_k_items(torch.tensor([[0.0, 5.0, 1.0, 3.0, 2.0]]), 2, exclude_ids=[0, 1]).tolist()
        [[3, 4]]
        >>> top_k_items(torch.tensor([[0.0, 5.0, 1.0, 3.0, 2.0]]), 2, exclude_ids=[0, 1],
        ...             history=torch.tensor([[3, 0]])).tolist()
        [[4, 2]]
    """
    scores = scores.detach().float().clone()
    if len(exclude_ids):
        scores[:, torch.as_tensor(exclude_ids, dtype=torch.long, device=scores.device)] = float("-inf")
    if history is not None:
        scores.scatter_(1, history.to(scores.device).long(), float("-inf"))
    return scores.topk(min(k, scores.shape[1]), dim=1).indices


def target_of_each_row(labels: torch.Tensor | np.ndarray) -> np.ndarray:
    """The last non-ignored label of each row (N,); -1 for a row without one."""
    labels = np.asarray(labels)
    has = labels != IGNORE_INDEX
    last = labels.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1)
    return np.where(has.any(axis=1), labels[np.arange(len(labels)), last], -1)


def ranking_metrics(top_items: np.ndarray, targets: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k of the ``targets`` (N,) in ``top_items`` (N, K), K >= max(ks).

    Rows whose target is -1 (no target) are left out and counted in ``rows_without_target``.

    Example:
        >>> ranking_metrics(np.array([[7, 5, 9], [1, 2, 3]]), np.array([5, 4]), ks=(1, 3))["ndcg@3"]
        0.31546487678572877
    """
    top_items, targets = np.asarray(top_items), np.asarray(targets)
    if top_items.shape[1] < max(ks):
        raise ValueError(f"top_items holds {top_items.shape[1]} ids per row; ks={tuple(ks)} needs {max(ks)}")
    valid = targets >= 0
    hits = top_items[valid] == targets[valid, None]  # (N, K)
    rank = np.where(hits.any(axis=1), hits.argmax(axis=1), np.iinfo(np.int64).max)  # 0-based, inf = miss
    out: dict[str, float] = {"rows": int(valid.sum()), "rows_without_target": int((~valid).sum())}
    for k in ks:
        inside = rank < k
        safe = np.where(inside, rank, 0)
        out[f"recall@{k}"] = float(inside.mean()) if valid.any() else 0.0
        out[f"ndcg@{k}"] = float(np.where(inside, 1.0 / np.log2(safe + 2), 0.0).mean()) if valid.any() else 0.0
        out[f"mrr@{k}"] = float(np.where(inside, 1.0 / (safe + 1), 0.0).mean()) if valid.any() else 0.0
    return out


def make_preprocess_logits_for_metrics(k: int, exclude_ids: Sequence[int] = (0, 1)) -> Callable:
    """For ``Trainer(preprocess_logits_for_metrics=...)``: keep the top-``k`` ids of each row's (B, V)
    scores (what :class:`~hf_seqmask.SeqRecModel` returns in eval batches)."""

    def preprocess(logits: Any, labels: torch.Tensor) -> torch.Tensor:
        scores = logits[0] if isinstance(logits, tuple) else logits
        if scores.ndim != 2:
            raise ValueError(
                f"expected (B, V) scores at the prediction positions, got shape {tuple(scores.shape)}; "
                "evaluate with the collator's eval mode (SeqRecTrainer does)"
            )
        return top_k_items(scores, k, exclude_ids=exclude_ids)

    return preprocess


def make_compute_metrics(ks: Sequence[int] = (10,)) -> Callable:
    """For ``Trainer(compute_metrics=...)``: metrics from the top-k ids and the eval labels."""

    def compute(eval_prediction) -> dict[str, float]:
        top = eval_prediction.predictions
        top = top[0] if isinstance(top, tuple) else top
        return ranking_metrics(np.asarray(top), target_of_each_row(eval_prediction.label_ids), ks)

    return compute


@torch.no_grad()
def evaluate_ranking(
    score_batch: Callable[[dict[str, Any]], torch.Tensor],
    dataset: Sequence,
    collator: Callable,
    *,
    ks: Sequence[int] = (10,),
    exclude_ids: Sequence[int] = (0, 1),
    exclude_history: bool = False,
    batch_size: int = 256,
) -> dict[str, float]:
    """Metrics of ``score_batch`` (a batch -> (B, V) scores; e.g. ``lambda b: model(**b).logits``) over
    ``dataset`` collated by an eval-mode ``collator`` (the last item of each row is its target).

    ``exclude_history`` removes every item of the row before its target from its ranking: the whole
    history as stored in ``dataset``, not only the ``max_length`` most recent items the model sees.

    Example:
        >>> from hf_seqmask import CausalCollator
        >>> scores = lambda batch: torch.tensor([[0.0, 0.0, 3.0, 2.0, 1.0]]).expand(len(batch["input_ids"]), -1)
        >>> rows, evaluation = [{"input_ids": [2, 3, 4]}], CausalCollator(vocab_size=5, mask_token_id=1,
        ...                                                       max_length=2, mode="eval")
        >>> evaluate_ranking(scores, rows, evaluation, ks=(1,))["recall@1"]  # item 2 ranks first
        0.0
        >>> evaluate_ranking(scores, rows, evaluation, ks=(1,), exclude_history=True)["recall@1"]  # 2 and 3 seen
        1.0
    """
    input_key = getattr(collator, "input_key", "input_ids")

    def collate(rows: list) -> tuple[dict[str, Any], list]:
        histories = [np.asarray(row[input_key]).reshape(-1)[:-1] for row in rows] if exclude_history else []
        return collator(rows), histories

    tops, targets = [], []
    for batch, histories in DataLoader(dataset, batch_size=batch_size, collate_fn=collate):
        scores = score_batch(batch)
        history = None
        if exclude_history:
            # Padded with an excluded id (pad), which is out of the ranking anyway.
            fill = exclude_ids[0] if len(exclude_ids) else 0
            history = pad_sequence(
                [torch.as_tensor(items, dtype=torch.long) for items in histories], batch_first=True, padding_value=fill
            )
        tops.append(top_k_items(scores, max(ks), exclude_ids=exclude_ids, history=history).cpu().numpy())
        targets.append(target_of_each_row(batch["labels"].cpu().numpy()))
    return ranking_metrics(np.concatenate(tops), np.concatenate(targets), ks)


def popularity_scorer(train_item_ids: Sequence[Sequence[int]], vocab_size: int) -> Callable:
    """A ``score_batch`` for :func:`evaluate_ranking` that scores every row by item counts in training."""
    counts = np.bincount(np.concatenate([np.asarray(s, np.int64) for s in train_item_ids]), minlength=vocab_size)
    scores = torch.as_tensor(counts, dtype=torch.float32)

    def score_batch(batch: dict[str, Any]) -> torch.Tensor:
        return scores.expand(batch["input_ids"].shape[0], -1)

    return score_batch
