"""The ranking building blocks: which ids may rank, the top-k of a score matrix, the target's rank.

The rules, stated once and shared by :mod:`hf_seqmask.metrics` (evaluation), the serving side
(``recommend``) and :mod:`hf_seqmask.chunked_ranking` (the same over a catalogue too large to score at
once): reserved ids (and, optionally, the items already in the row's history) never rank; a NaN score
raises, naming the row and the item; **lists** break ties by increasing id and pad a row with -1 when
fewer than k items may rank (:func:`top_k_scored`, :func:`top_k_items`); the **target's rank** is
pessimistic (every tied candidate ahead of it, :func:`target_ranks`), so a model that scores items
alike gets no credit for it; a target that may not rank is a miss (:data:`MISS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

MISS = np.iinfo(np.int64).max
"""The rank of a target that cannot be recommended (excluded, e.g. seen earlier in the history)."""


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
    entries are padding and ignored).

    Example:
        >>> exclusion_mask(1, 5, exclude_ids=[0, 1], history=torch.tensor([[3, -100]])).tolist()
        [[True, True, False, True, False]]
    """
    # One spare column takes the negative entries: the Trainer pads seen_ids across ranks with -100.
    excluded = torch.zeros(batch_size, num_items + 1, dtype=torch.bool, device=device)  # (B, V + 1)
    if len(exclude_ids):
        excluded[:, torch.as_tensor(exclude_ids, dtype=torch.long, device=device)] = True
    if history is not None:
        history = history.to(device=excluded.device, dtype=torch.long)  # (B, L)
        excluded.scatter_(1, history.masked_fill(history < 0, num_items), True)
    return excluded[:, :num_items]  # (B, V)


def check_no_nan(scores: torch.Tensor, *, first_id: int = 0) -> None:
    """Raise ``ValueError`` naming the first row and item whose score is NaN (``first_id``: the id of
    column 0, for a chunk of the catalogue)."""
    nan = torch.isnan(scores)  # (B, V)
    if nan.any():
        row, item = (int(i) for i in nan.nonzero()[0])
        raise ValueError(
            f"row {row}: the score of item {first_id + item} is NaN; a model that outputs NaN cannot be ranked"
        )


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
    check_no_nan(scores)
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
    ids, values = ids.gather(1, order), values.gather(1, order)  # (B, k)
    ids = ids.masked_fill(values == float("-inf"), -1)
    if k_eff < k:  # a catalogue smaller than k
        ids = torch.cat([ids, ids.new_full((batch_size, k - k_eff), -1)], dim=1)  # (B, k)
        values = torch.cat([values, values.new_full((batch_size, k - k_eff), float("-inf"))], dim=1)  # (B, k)
    return ids, values


def top_k_items(
    scores: torch.Tensor,
    k: int,
    *,
    exclude_ids: Sequence[int] | torch.Tensor = (),
    history: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ``k`` best item ids per row of ``scores`` (B, V), best first: (B, k) int64, under the rules
    of :func:`top_k_scored` (ties by id, -1 where fewer than ``k`` items may rank, NaN raises). These
    are recommendation lists as served; score a model by :func:`target_ranks` (pessimistic on ties),
    not by where its target lands in such a list.

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
    check_no_nan(scores)
    targets = targets.to(scores.device).long()
    has_target = targets >= 0  # (B,)
    safe = targets.clamp_min(0)[:, None]  # (B, 1)
    candidates = torch.ones_like(scores, dtype=torch.bool) if excluded is None else ~excluded.to(scores.device)
    target_score = scores.gather(1, safe)  # (B, 1)
    is_target = torch.zeros_like(candidates).scatter_(1, safe, True)  # (B, V)
    ahead = ((scores >= target_score) & candidates & ~is_target).sum(dim=1)  # (B,)
    allowed = candidates.gather(1, safe)[:, 0] & (target_score[:, 0] > float("-inf"))  # (B,)
    ranks = torch.where(allowed, ahead, torch.full_like(ahead, MISS))  # (B,)
    return torch.where(has_target, ranks, torch.full_like(ranks, -1))  # (B,)
