"""Next-item metrics against ALL items: Recall@k (= HR@k), NDCG@k, MRR@k.

The ranking rules are those of :mod:`hf_seqmask.ranking` (re-exported here): reserved ids (and,
optionally, the items already in the row's history) never rank; a NaN score raises; recommendation
lists break ties by increasing id; **reported metrics take the target's pessimistic rank** (every
tied candidate ahead of it), so a model that scores items alike gets no credit for it; a target that
is excluded (seen earlier in the history, with the history excluded) is a miss.
:func:`metrics_from_scores` applies that rule to a (B, V) score matrix; ``evaluate_ranking`` runs a
model over a dataset with or without the history excluded; ``preprocess_logits_for_metrics`` and
``compute_metrics`` plug the same into the HF Trainer (memory B x k, never B x L x V).
:func:`ranking_metrics` scores recommendation *lists* as served (ties in id order): it is not the
evaluation rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from .chunked_ranking import chunked_ranking
from .ranking import MISS, exclusion_mask, target_ranks, top_k_items, top_k_scored
from .reserved import IGNORE_INDEX, MASK_TOKEN_ID, PAD_TOKEN_ID

__all__ = [  # the ranking building blocks stay importable from here
    "MISS",
    "WITH_HISTORY",
    "evaluate_ranking",
    "exclusion_mask",
    "make_compute_metrics",
    "make_preprocess_logits_for_metrics",
    "metrics_from_ranks",
    "metrics_from_scores",
    "popularity_scorer",
    "ranking_metrics",
    "target_of_each_row",
    "target_ranks",
    "top_k_items",
    "top_k_scored",
]


def metrics_from_ranks(ranks: np.ndarray | torch.Tensor, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k from 0-based target ranks (N,) (-1: no target, left out and counted
    in ``rows_without_target``; :data:`MISS`: never recommended).

    Example:
        >>> metrics_from_ranks(np.array([0, 1, -1]), ks=(1,))["recall@1"]
        0.5
    """
    ranks = np.asarray(ranks.cpu() if torch.is_tensor(ranks) else ranks, dtype=np.int64)
    valid = ranks >= 0
    rank = ranks[valid]
    out: dict[str, float] = {"rows": int(valid.sum()), "rows_without_target": int((~valid).sum())}
    for k in ks:
        inside = rank < k
        safe = np.where(inside, rank, 0)
        out[f"recall@{k}"] = float(inside.mean()) if valid.any() else 0.0
        out[f"ndcg@{k}"] = float(np.where(inside, 1.0 / np.log2(safe + 2), 0.0).mean()) if valid.any() else 0.0
        out[f"mrr@{k}"] = float(np.where(inside, 1.0 / (safe + 1), 0.0).mean()) if valid.any() else 0.0
    return out


def metrics_from_scores(
    scores: torch.Tensor,
    targets: torch.Tensor | np.ndarray,
    ks: Sequence[int] = (10,),
    *,
    exclude_ids: Sequence[int] | torch.Tensor = (),
    history: torch.Tensor | None = None,
) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k of ``scores`` (B, V) for ``targets`` (B,) (-1: no target) under the
    evaluation rule: the target's pessimistic rank (:func:`target_ranks`; a tie is never credited),
    ``exclude_ids`` never ranking and, with ``history`` (B, L), the row's own items neither (a target
    among them is a miss). The same numbers as :func:`evaluate_ranking` and ``trainer.evaluate()``.

    Example:
        >>> scores = torch.zeros(48, 50)  # a model that scores every item the same
        >>> metrics_from_scores(scores, torch.arange(2, 50), exclude_ids=[0, 1])["recall@10"]
        0.0
        >>> metrics_from_scores(torch.tensor([[0.0, 0.0, 3.0, 1.0]]), torch.tensor([3]), ks=(1,),
        ...                     exclude_ids=[0, 1], history=torch.tensor([[2]]))["recall@1"]
        1.0
    """
    excluded = exclusion_mask(*scores.shape, exclude_ids=exclude_ids, history=history, device=scores.device)
    return metrics_from_ranks(target_ranks(scores, torch.as_tensor(targets), excluded=excluded), ks)


def target_of_each_row(labels: torch.Tensor | np.ndarray) -> np.ndarray:
    """The last non-ignored label of each row (N,); -1 for a row without one."""
    labels = np.asarray(labels)
    has = labels != IGNORE_INDEX
    last = labels.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1)
    return np.where(has.any(axis=1), labels[np.arange(len(labels)), last], -1)


def ranking_metrics(top_items: np.ndarray, targets: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k of recommendation **lists** as served: the place of each target
    (N,) in ``top_items`` (N, K), K >= max(ks), e.g. from :func:`top_k_items`.

    Such lists break ties by increasing id, so here a target tied with other items is credited by
    its place in id order: a model that scores every item the same gets a Recall@10 of 10/48 over
    48 candidates. This is NOT the evaluation rule; :func:`metrics_from_scores`,
    :func:`evaluate_ranking` and the Trainer hooks take the pessimistic rank (:func:`target_ranks`)
    and give that model 0. The two agree when no score ties with a target's.

    Rows whose target is -1 (no target) are left out and counted in ``rows_without_target``.

    Example:
        >>> ranking_metrics(np.array([[7, 5, 9], [1, 2, 3]]), np.array([5, 4]), ks=(1, 3))["ndcg@3"]
        0.31546487678572877
    """
    top_items, targets = np.asarray(top_items), np.asarray(targets)
    if top_items.shape[1] < max(ks):
        raise ValueError(f"top_items holds {top_items.shape[1]} ids per row; ks={tuple(ks)} needs {max(ks)}")
    hits = top_items == targets[:, None]  # (N, K)
    rank = np.where(hits.any(axis=1), hits.argmax(axis=1), MISS)  # 0-based
    return metrics_from_ranks(np.where(targets >= 0, rank, -1), ks)


WITH_HISTORY = "_with_history"
"""Suffix of the metrics computed with the user's history left in the ranking (the headline excludes it)."""


def make_preprocess_logits_for_metrics(
    k: int = 10,
    exclude_ids: Sequence[int] = (PAD_TOKEN_ID, MASK_TOKEN_ID),
    *,
    model: Any = None,
) -> Callable:
    """For ``Trainer(preprocess_logits_for_metrics=...)``: reduce each eval batch's (B, V) scores (what
    :class:`~hf_seqmask.SeqRecModel` returns in eval batches) to ``(top-k ids (B, k), the target's
    pessimistic rank with the history excluded (B,), and with it included (B,))`` -- memory
    B x (k + 2), never B x L x V. The history is the batch's ``seen_ids``, which the model passes
    through (eval collators emit them); without them both ranks include the history.

    ``model``: a :class:`~hf_seqmask.SeqRecModel` whose ``ranks_in_chunks`` is on (``softmax_chunk_size``
    set) returns ``prediction_hidden`` instead of scores; the same three outputs are then computed by
    :func:`~hf_seqmask.chunked_ranking.chunked_ranking` (memory B x chunk, equal results).
    ``SeqRecTrainer`` passes its model."""

    def preprocess(logits: Any, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outputs = logits if isinstance(logits, tuple) else (logits,)
        scores = outputs[0]
        seen = outputs[1] if len(outputs) > 1 and outputs[1].ndim == 2 and not outputs[1].is_floating_point() else None
        if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
            raise ValueError(
                f"expected one row of scores per row of the batch ({labels.shape[0]}) at the prediction "
                f"positions, got shape {tuple(scores.shape)}: a training batch; evaluate with the collator's "
                "eval mode (SeqRecTrainer does; a plain Trainer needs data_collator=model.data_collator('eval'))"
            )
        if model is not None and getattr(model, "ranks_in_chunks", False):
            return _preprocess_in_chunks(model, scores, labels, seen, k, exclude_ids)
        targets = torch.as_tensor(target_of_each_row(labels.cpu().numpy()), device=scores.device)
        reserved = exclusion_mask(*scores.shape, exclude_ids=exclude_ids, device=scores.device)
        excluded = reserved if seen is None else exclusion_mask(
            *scores.shape, exclude_ids=exclude_ids, history=seen, device=scores.device
        )  # fmt: skip
        top = top_k_scored(scores, k, excluded=excluded)[0]
        return top, target_ranks(scores, targets, excluded=excluded), target_ranks(scores, targets, excluded=reserved)

    return preprocess


def _preprocess_in_chunks(
    model: Any, query: torch.Tensor, labels: torch.Tensor, seen: torch.Tensor | None, k: int, exclude_ids: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    weight, bias = model.item_head()
    excluded_items = torch.zeros(weight.shape[0], dtype=torch.bool, device=query.device)
    if len(exclude_ids):
        excluded_items[torch.as_tensor(list(exclude_ids), dtype=torch.long, device=query.device)] = True
    targets = torch.as_tensor(target_of_each_row(labels.cpu().numpy()), device=query.device)
    ranking = chunked_ranking(
        query, weight, bias, k, chunk_size=model.config.softmax_chunk_size, targets=targets,
        excluded_items=excluded_items, history=seen,
    )  # fmt: skip
    return ranking.ids, cast(torch.Tensor, ranking.ranks), cast(torch.Tensor, ranking.ranks_with_history)


def make_compute_metrics(ks: Sequence[int] = (10,)) -> Callable:
    """For ``Trainer(compute_metrics=...)``: Recall/NDCG/MRR@k from the ranks kept by the preprocessing
    above -- with the history excluded (the headline: ``ndcg@10``, ...) and included
    (``ndcg@10_with_history``, ...)."""

    def compute(eval_prediction: Any) -> dict[str, float]:
        predictions = eval_prediction.predictions
        if not isinstance(predictions, tuple) or len(predictions) != 3:
            raise ValueError("compute_metrics expects the outputs of make_preprocess_logits_for_metrics")
        metrics = metrics_from_ranks(np.asarray(predictions[1]), ks)
        with_history = metrics_from_ranks(np.asarray(predictions[2]), ks)
        metrics.update({f"{key}{WITH_HISTORY}": value for key, value in with_history.items() if "@" in key})
        return metrics

    return compute


@torch.no_grad()
def evaluate_ranking(
    score_batch: Callable[[dict[str, Any]], torch.Tensor],
    dataset: Sequence,
    collator: Callable,
    *,
    ks: Sequence[int] = (10,),
    exclude_ids: Sequence[int] = (PAD_TOKEN_ID, MASK_TOKEN_ID),
    exclude_history: bool = False,
    batch_size: int = 256,
) -> dict[str, float]:
    """Metrics of ``score_batch`` (a batch -> (B, V) scores; e.g. ``lambda b: model(**b).logits``) over
    ``dataset`` collated by an eval-mode ``collator`` (the last item of each row is its target).

    ``exclude_history`` removes every item of the row before its target from its ranking: the whole
    history as stored in ``dataset``, not only the ``max_length`` most recent items the model sees; a
    target seen earlier in the history then counts as a miss (it can never be recommended). Ties are
    pessimistic (:func:`target_ranks`); a NaN score raises.

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

    ranks = []
    for batch, histories in DataLoader(cast(Any, dataset), batch_size=batch_size, collate_fn=collate):
        scores = score_batch(batch)
        history = None
        if exclude_history and "seen_ids" in batch:
            history = batch["seen_ids"]  # the collator's: the whole stored row before the target
        elif exclude_history:
            # Padded with an excluded id (pad), which is out of the ranking anyway.
            fill = exclude_ids[0] if len(exclude_ids) else 0
            history = pad_sequence(
                [torch.as_tensor(items, dtype=torch.long) for items in histories], batch_first=True, padding_value=fill
            )
        excluded = exclusion_mask(*scores.shape, exclude_ids=exclude_ids, history=history, device=scores.device)
        targets = torch.as_tensor(target_of_each_row(batch["labels"].cpu().numpy()))
        ranks.append(target_ranks(scores, targets, excluded=excluded).cpu())
    return metrics_from_ranks(torch.cat(ranks), ks)


def popularity_scorer(train_item_ids: Sequence[Sequence[int]], vocab_size: int) -> Callable:
    """A ``score_batch`` for :func:`evaluate_ranking` that scores every row by item counts in training."""
    counts = np.bincount(np.concatenate([np.asarray(s, np.int64) for s in train_item_ids]), minlength=vocab_size)
    scores = torch.as_tensor(counts, dtype=torch.float32)

    def score_batch(batch: dict[str, Any]) -> torch.Tensor:
        return scores.expand(batch["input_ids"].shape[0], -1)

    return score_batch
