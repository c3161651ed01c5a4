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
