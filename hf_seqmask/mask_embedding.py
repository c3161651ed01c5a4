"""The learnable mask vector that stands in for a hidden interaction's embedding."""

from __future__ import annotations

import torch
from torch import nn

MASK_INIT_STD = 0.001  # Transformers4Rec's initialisation of the masked item embedding


def apply_mask_embedding(
    embeddings: torch.Tensor, mask_positions: torch.Tensor, mask_vector: torch.Tensor
) -> torch.Tensor:
    """Replace ``embeddings`` (B, L, D) by ``mask_vector`` (D,) where ``mask_positions`` (B, L) is True.

    The vector is cast to the embeddings' dtype and device; positions outside ``mask_positions``
    pass through untouched (and get no gradient from the vector).

    Example:
        >>> out = apply_mask_embedding(torch.ones(1, 3, 2), torch.tensor([[False, True, False]]), torch.zeros(2))
        >>> out[0].tolist()
        [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    """
    if mask_positions.shape != embeddings.shape[:2]:
        raise ValueError(
            f"mask_positions has shape {tuple(mask_positions.shape)}; expected {tuple(embeddings.shape[:2])} "
            f"(the first two dimensions of the embeddings)"
        )
    vector = mask_vector.to(device=embeddings.device, dtype=embeddings.dtype)
    mask = mask_positions.to(device=embeddings.device, dtype=torch.bool)[..., None]  # (B, L, 1)
    return torch.where(mask, vector, embeddings)  # (B, L, D)


class MaskEmbedding(nn.Module):
    """One learnable vector of the model's input width, put at the hidden positions.

    Args:
        width: the model's input embedding width (``embedding_size`` for ELECTRA).

    Example:
        >>> layer = MaskEmbedding(4)
        >>> layer(torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.bool)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.vector = nn.Parameter(torch.empty(width))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.vector, mean=0.0, std=MASK_INIT_STD)

    def forward(self, embeddings: torch.Tensor, mask_positions: torch.Tensor) -> torch.Tensor:
        return apply_mask_embedding(embeddings, mask_positions, self.vector)
