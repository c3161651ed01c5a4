"""Next-item metrics against ALL items: Recall@k (= HR@k), NDCG@k, MRR@k.

Ranking rules, the same everywhere: reserved ids (and, optionally, the items already in the row's
history) never rank; a NaN score raises; recommendation lists break ties by increasing id and pad a
row with -1 when fewer than k items may rank (``top_k_scored``, ``top_k_items``); reported metrics
take the target's **pessimistic** rank (every tied candidate ahead of it, ``target_ranks``), so a
model that scores items alike gets no credit for it. A target that is excluded (seen earlier in the
history, with the history excluded) is a miss. ``preprocess_logits_for_metrics`` and
``compute_metrics`` plug the same into the HF Trainer (memory B x k, never B x L x V);
``evaluate_ranking`` runs a model over a dataset with or without the history excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from .reserved import IGNORE_INDEX, MASK_TOKEN_ID, PAD_TOKEN_ID


def exclusion_mask(
    batch_size: int,
    num_items: int,
    *,
    exclude_ids: Sequence[int] | torch.Tensor = (),
    history: torch.Tensor | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(B, V) bool: the ids that may not rank -- ``exclude_ids`` (pad, mask, ...) in every row, plus
    each row's ``history`` (B, L) item ids (pad entries are harmless: pad is excluded anyway; negative
    entries are padding and ignored)."""
    # One spare column takes the negative entries: the Trainer pads seen_ids across ranks with -100.
    excluded = torch.zeros(batch_size, num_items + 1, dtype=torch.bool, device=device)
    if len(exclude_ids):
        excluded[:, torch.as_tensor(exclude_ids, dtype=torch.long, device=device)] = True
    if history is not None:
        history = history.to(device=excluded.device, dtype=torch.long)
        excluded.scatter_(1, history.masked_fill(history < 0, num_items), True)
    return excluded[:, :num_items]


def _check_no_nan(scores: torch.Tensor) -> None:
    nan = torch.isnan(scores)
    if nan.any():
        row, item = (int(i) for i in nan.nonzero()[0])
        raise ValueError(f"row {row}: the score of item {item} is NaN; a model that outputs NaN cannot be ranked")


def top_k_scored(
    scores: torch.Tensor, k: int, *, excluded: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, values)``, both (B, k): the ``k`` best items of each row of ``scores`` (B, V), best first.

    Rules (deterministic, stated once): equal scores rank by increasing id; ``excluded`` (B, V) ids and
    ids scored ``-inf`` never rank; a row with fewer than ``k`` candidates is padded with id -1 (value
    ``-inf``), never with an excluded id; a NaN score raises (naming the row and the item).

    Example:
        >>> ids, values = top_k_scored(torch.tensor([[1.0, 3.0, 3.0, float("-inf")]]), 4)
        >>> ids.tolist(), values.tolist()
        ([[1, 2, 0, -1]], [[3.0, 3.0, 1.0, -inf]])
    """
    scores = scores.detach().float()
    _check_no_nan(scores)
    if excluded is not None:
        scores = scores.masked_fill(excluded.to(scores.device), float("-inf"))
    batch_size, num_items = scores.shape
    k_eff = min(k, num_items)
    kth = scores.topk(k_eff, dim=1).values[:, -1:]  # (B, 1): the k-th best score (value, not id, is unique)
    above = scores > kth  # (B, V)
    tied = scores == kth  # (B, V)
    # Among the items tied with the k-th score, the lowest ids fill the remaining places.
    places = k_eff - above.sum(dim=1, keepdim=True)  # (B, 1)
    chosen = above | (tied & (tied.cumsum(dim=1) <= places))  # (B, V), exactly k_eff per row
    ids = chosen.nonzero()[:, 1].view(batch_size, k_eff)  # (B, k) in increasing id order
    values = scores.gather(1, ids)  # (B, k)
    order = values.sort(dim=1, descending=True, stable=True).indices  # stable: ties keep id order
    ids, values = ids.gather(1, order), values.gather(1, order)
    ids = ids.masked_fill(values == float("-inf"), -1)
    if k_eff < k:  # a catalogue smaller than k
        ids = torch.cat([ids, ids.new_full((batch_size, k - k_eff), -1)], dim=1)
        values = torch.cat([values, values.new_full((batch_size, k - k_eff), float("-inf"))], dim=1)
    return ids, values


def top_k_items(
    scores: torch.Tensor,
    k: int,
    *,
    exclude_ids: Sequence[int] | torch.Tensor = (),
    history: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ``k`` best item ids per row of ``scores`` (B, V), best first: (B, k) int64, under the rules
    of :func:`top_k_scored` (ties by id, -1 where fewer than ``k`` items may rank, NaN raises).

    ``exclude_ids`` (pad, mask, ...) never rank; with ``history`` (B, L) item ids (pad entries are
    harmless: pad is excluded anyway), the row's own items do not rank either.

    Example:
        >>> top_k_items(torch.tensor([[0.0, 5.0, 1.0, 3.0, 2.0]]), 2, exclude_ids=[0, 1]).tolist()
        [[3, 4]]
        >>> top_k_items(torch.tensor([[0.0, 5.0, 1.0, 3.0, 2.0]]), 2, exclude_ids=[0, 1],
        ...             history=torch.tensor([[3, 0]])).tolist()
        [[4, 2]]
        >>> top_k_items(torch.tensor([[0.0, 5.0, 1.0]]), 3, exclude_ids=[0, 1]).tolist()  # one candidate left
        [[2, -1, -1]]
    """
    excluded = exclusion_mask(*scores.shape, exclude_ids=exclude_ids, history=history, device=scores.device)
    return top_k_scored(scores, k, excluded=excluded)[0]


MISS = np.iinfo(np.int64).max
"""The rank of a target that cannot be recommended (excluded, e.g. seen earlier in the history)."""


def target_ranks(scores: torch.Tensor, targets: torch.Tensor, *, excluded: torch.Tensor | None = None) -> torch.Tensor:
    """The 0-based rank of each row's target (B,) among the items that may rank, **pessimistic on
    ties**: every other candidate scoring at least as high as the target ranks before it (a model
    that scores everything alike gets no credit). Rows without a target (-1) get -1; a target that is
    excluded (seen earlier in the history, when the history is excluded) gets :data:`MISS`; NaN raises.

    Example:
        >>> target_ranks(torch.tensor([[0.0, 2.0, 2.0, 1.0], [5.0, 5.0, 5.0, 5.0]]), torch.tensor([2, 3])).tolist()
        [1, 3]
    """
    scores = scores.detach().float()
    _check_no_nan(scores)
    targets = targets.to(scores.device).long()
    has_target = targets >= 0  # (B,)
    safe = targets.clamp_min(0)[:, None]  # (B, 1)
    candidates = torch.ones_like(scores, dtype=torch.bool) if excluded is None else ~excluded.to(scores.device)
    target_score = scores.gather(1, safe)  # (B, 1)
    is_target = torch.zeros_like(candidates).scatter_(1, safe, True)  # (B, V)
    ahead = ((scores >= target_score) & candidates & ~is_target).sum(dim=1)  # (B,)
    allowed = candidates.gather(1, safe)[:, 0] & (target_score[:, 0] > float("-inf"))  # (B,)
    ranks = torch.where(allowed, ahead, torch.full_like(ahead, MISS))
    return torch.where(has_target, ranks, torch.full_like(ranks, -1))


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


def target_of_each_row(labels: torch.Tensor | np.ndarray) -> np.ndarray:
    """The last non-ignored label of each row (N,); -1 for a row without one."""
    labels = np.asarray(labels)
    has = labels != IGNORE_INDEX
    last = labels.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1)
    return np.where(has.any(axis=1), labels[np.arange(len(labels)), last], -1)


def ranking_metrics(top_items: np.ndarray, targets: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """Recall@k, NDCG@k and MRR@k of the ``targets`` (N,) in ``top_items`` (N, K), K >= max(ks): the
    metrics of recommendation lists as served (ties in id order). The reported metrics use
    :func:`target_ranks` instead (pessimistic on ties).

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
        if model is not None and getattr(model, "ranks_in_chunks", False):
            return _preprocess_in_chunks(model, scores, labels, seen, k, exclude_ids)
        if scores.ndim != 2:
            raise ValueError(
                f"expected (B, V) scores at the prediction positions, got shape {tuple(scores.shape)}; "
                "evaluate with the collator's eval mode (SeqRecTrainer does)"
            )
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
    from .chunked_ranking import chunked_ranking  # it imports this module

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
