"""Top-k lists and target ranks over every item without the (rows x items) scores.

Evaluation and serving score ``query @ weight.T + bias`` for every item; at 10M items and 256 rows
that is 10 GB of scores. Here the catalogue is walked in chunks of ``chunk_size`` items, keeping a
running top-k and counting, per row, the candidates that score at least as high as the target. The
results follow the rules of :mod:`hf_seqmask.ranking` exactly (ties by id, -1 padding, pessimistic
ranks, excluded targets are misses, NaN raises): they equal ``top_k_scored`` and ``target_ranks`` on
the same scores. The catalogue is walked twice when ranks are asked for: first for the top-k and the
target's own score (read from its chunk, so it is the very number the second walk compares with),
then for the counts. Peak memory: rows x chunk_size scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._checks import check_int_at_least
from .ranking import MISS, check_no_nan, top_k_scored


@dataclass
class ChunkedRanking:
    """``ids`` and ``values`` (B, k): the top-k, best first (-1 / -inf where fewer may rank).
    ``ranks`` (B,): the target's pessimistic rank with ``history`` excluded; ``ranks_with_history``
    (B,): with only ``excluded_items`` excluded. Both are None without targets."""

    ids: torch.Tensor
    values: torch.Tensor
    ranks: torch.Tensor | None = None
    ranks_with_history: torch.Tensor | None = None


def chunked_ranking(
    query: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    k: int,
    *,
    chunk_size: int,
    targets: torch.Tensor | None = None,
    excluded_items: torch.Tensor | None = None,
    history: torch.Tensor | None = None,
) -> ChunkedRanking:
    """Rank every item for each row of ``query`` (B, H) against ``weight`` (V, H) (+ ``bias`` (V,)).

    ``excluded_items`` (V,) bool never rank (reserved ids, blocked items); ``history`` (B, S) item ids
    do not rank for their row (negative entries are padding); ``targets`` (B,) item ids (-1: none).

    Example:
        >>> weight = torch.tensor([[0.0], [3.0], [1.0], [2.0]])
        >>> out = chunked_ranking(torch.tensor([[1.0]]), weight, None, 2, chunk_size=3,
        ...                       targets=torch.tensor([2]), excluded_items=torch.tensor([True, False, False, False]))
        >>> out.ids.tolist(), out.ranks.tolist()
        ([[1, 3]], [2])
    """
    check_int_at_least("chunk_size", chunk_size, 1)
    query = query.detach().float()
    batch_size, num_items = query.shape[0], weight.shape[0]
    device = query.device
    excluded_items = (
        torch.zeros(num_items, dtype=torch.bool, device=device) if excluded_items is None else excluded_items.to(device)
    )
    history = None if history is None else history.to(device=device, dtype=torch.long)
    ids = torch.full((batch_size, k), -1, dtype=torch.long, device=device)
    values = torch.full((batch_size, k), float("-inf"), device=device)
    targets = None if targets is None else targets.to(device).long()
    has_target = None if targets is None else targets >= 0
    target_score = torch.full((batch_size,), float("-inf"), device=device)
    for start, scores, excluded_here, seen_here in _chunks(query, weight, bias, chunk_size, excluded_items, history):
        chunk_ids, chunk_values = top_k_scored(scores, k, excluded=excluded_here | seen_here)
        chunk_ids = torch.where(chunk_ids >= 0, chunk_ids + start, chunk_ids)
        # Current first: a stable sort keeps the lower ids ahead on equal scores, as the rule asks.
        all_values, all_ids = torch.cat([values, chunk_values], dim=1), torch.cat([ids, chunk_ids], dim=1)
        order = all_values.sort(dim=1, descending=True, stable=True).indices[:, :k]
        ids, values = all_ids.gather(1, order), all_values.gather(1, order)
        if targets is not None and has_target is not None:
            local = targets - start  # (B,)
            inside = has_target & (local >= 0) & (local < scores.shape[1])
            rows = inside.nonzero()[:, 0]
            target_score[rows] = scores[rows, local[rows]]
    ids = ids.masked_fill(values == float("-inf"), -1)
    if targets is None or has_target is None:
        return ChunkedRanking(ids, values)
    safe = targets.clamp_min(0)  # (B,)
    ahead = torch.zeros(batch_size, dtype=torch.long, device=device)  # candidates >= target, history excluded
    ahead_with_history = torch.zeros_like(ahead)  # the same with the history left in
    for start, scores, excluded_here, seen_here in _chunks(query, weight, bias, chunk_size, excluded_items, history):
        local = safe - start
        is_target = torch.zeros_like(excluded_here)
        inside = (local >= 0) & (local < scores.shape[1])
        is_target[inside.nonzero()[:, 0], local[inside]] = True
        at_least = (scores >= target_score[:, None]) & ~excluded_here & ~is_target  # (B, C)
        ahead_with_history += at_least.sum(dim=1)
        ahead += (at_least & ~seen_here).sum(dim=1)
    target_seen = torch.zeros(batch_size, dtype=torch.bool, device=device)
    if history is not None:
        target_seen = (history == safe[:, None]).any(dim=1)
    reachable = ~excluded_items[safe] & (target_score > float("-inf"))  # (B,)
    miss = torch.full_like(ahead, MISS)
    none = torch.full_like(ahead, -1)
    ranks = torch.where(has_target, torch.where(reachable & ~target_seen, ahead, miss), none)
    ranks_with_history = torch.where(has_target, torch.where(reachable, ahead_with_history, miss), none)
    return ChunkedRanking(ids, values, ranks, ranks_with_history)


def _chunks(query, weight, bias, chunk_size, excluded_items, history):
    """Yield ``(start, scores (B, C), excluded (B, C), seen (B, C))`` for each chunk of the catalogue."""
    batch_size, num_items = query.shape[0], weight.shape[0]
    for start in range(0, num_items, chunk_size):
        end = min(start + chunk_size, num_items)
        scores = query @ weight[start:end].to(query.dtype).T  # (B, C)
        if bias is not None:
            scores = scores + bias[start:end].to(query.dtype)
        check_no_nan(scores, first_id=start)
        excluded = excluded_items[start:end].expand(batch_size, -1)  # (B, C)
        seen = torch.zeros(batch_size, end - start + 1, dtype=torch.bool, device=query.device)  # spare column
        if history is not None:
            local = history - start
            outside = (local < 0) | (local >= end - start)  # padding (negative ids) included
            seen.scatter_(1, local.masked_fill(outside, end - start), True)
        yield start, scores, excluded, seen[:, :-1]
