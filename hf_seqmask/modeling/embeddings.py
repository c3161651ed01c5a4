"""The side features' embedding layers: one per configured feature, at the item table's width."""

from __future__ import annotations

import torch
from torch import nn


class MultiHotEmbedding(nn.Module):
    """A set of values per position, given as a bitmask (B, L) int64 -> the mean of their embeddings
    (B, L, D); the empty set (0) -> zeros.

    Example:
        >>> layer = MultiHotEmbedding(3, 2)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]))
        >>> layer(torch.tensor([[0b011, 0b100, 0]])).tolist()
        [[[0.5, 0.5], [3.0, 3.0], [0.0, 0.0]]]
    """

    def __init__(self, num_values: int, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_values, width))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        # Built per call: a non-persistent buffer would come back uninitialised from from_pretrained.
        bits = 2 ** torch.arange(self.weight.shape[0], device=values.device)  # (V,)
        members = (values[..., None] & bits).ne(0).to(self.weight.dtype)  # (B, L, V) 0/1
        return (members @ self.weight) / members.sum(dim=-1, keepdim=True).clamp_min(1.0)


def combine(items: torch.Tensor, parts: list[torch.Tensor], projection: nn.Module | None) -> torch.Tensor:
    """The item embeddings (B, L, D) with the side features' (each (B, L, D)): summed, or, with a
    ``projection`` (``side_feature_combiner="concat"``), concatenated and projected back to D.

    Example:
        >>> combine(torch.ones(1, 2, 3), [torch.ones(1, 2, 3), torch.ones(1, 2, 3)], None)[0, 0].tolist()
        [3.0, 3.0, 3.0]
    """
    if parts and projection is not None:
        return projection(torch.cat([items, *parts], dim=-1))  # (B, L, D)
    if parts:
        return items + torch.stack(parts).sum(dim=0)  # (B, L, D)
    return items


def hide_item_keep_context(
    items: torch.Tensor,
    parts: dict[str, torch.Tensor],
    context: set[str],
    mask_positions: torch.Tensor,
    mask_vector: nn.Module,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A hidden position's inputs when some side features describe the user (``context``): the mask
    vector stands in for the item (``mask_vector(items, mask_positions)``) and zeros for the item's own
    features, while the context features' embeddings stay, to be combined as anywhere else.

    Example:
        >>> from hf_seqmask.mask_embedding import MaskEmbedding
        >>> mask = MaskEmbedding(2)
        >>> with torch.no_grad():
        ...     _ = mask.vector.fill_(9.0)
        >>> items, parts = hide_item_keep_context(torch.ones(1, 2, 2), {"genre": torch.ones(1, 2, 2),
        ...     "country": torch.full((1, 2, 2), 5.0)}, {"country"}, torch.tensor([[False, True]]), mask)
        >>> items[0].tolist(), [part[0, 1].tolist() for part in parts]
        ([[1.0, 1.0], [9.0, 9.0]], [[0.0, 0.0], [5.0, 5.0]])
    """
    hidden = mask_positions.to(device=items.device, dtype=torch.bool)[..., None]  # (B, L, 1)
    kept = [part if name in context else part.masked_fill(hidden, 0.0) for name, part in parts.items()]
    return mask_vector(items, mask_positions), kept


def side_embedding_layers(
    side_features: dict[str, int], multi_hot_side_features: list[str] | tuple[str, ...], width: int
) -> nn.ModuleDict:
    """One layer per side feature (name -> cardinality): a :class:`MultiHotEmbedding` for the multi-hot
    ones, an ``nn.Embedding`` for a categorical one (cardinality > 0), an ``nn.Linear(1, width)`` for a
    real-valued one (0); built in ``side_features``' order."""
    multi_hot = set(multi_hot_side_features)
    return nn.ModuleDict(
        {
            name: MultiHotEmbedding(cardinality, width)
            if name in multi_hot
            else nn.Embedding(cardinality, width)
            if cardinality > 0
            else nn.Linear(1, width)
            for name, cardinality in side_features.items()
        }
    )
