"""ELECTRA's replacement step: draw items from the generator's logits, label what changed."""

from __future__ import annotations

import torch
from torch import nn


def gumbel_sample(logits: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``logits`` (T, C), drawn from ``softmax(logits)`` by the Gumbel-max trick.

    Draws are made without gradient; ``-inf`` logits are never drawn.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> gumbel_sample(torch.tensor([[0.0, float("-inf")], [float("-inf"), 0.0]]), generator=g).tolist()
        [0, 1]
    """
    with torch.no_grad():
        uniform = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=torch.float32)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-9, 1 - 1e-9)))  # (T, C)
        return (logits.detach().float() + gumbel).argmax(dim=-1)  # (T,)


def sample_replacements(
    generator_logits: torch.Tensor,
    *,
    excluded_ids: torch.Tensor,
    candidates: torch.Tensor | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """Replacement items (T,) for T targets from the generator's logits (T, V).

    With ``candidates`` (C,) the draw is restricted to those items (the batch's targets); otherwise it
    runs over the whole catalogue without ``excluded_ids`` (pad, mask, special ids).
    """
    if candidates is not None:
        candidates = candidates.to(generator_logits.device)
        return candidates[gumbel_sample(generator_logits[:, candidates], generator=generator)]
    logits = generator_logits.detach().float().clone()
    logits[:, excluded_ids.to(logits.device)] = float("-inf")
    return gumbel_sample(logits, generator=generator)


class DiscriminatorHead(nn.Module):
    """ELECTRA's discriminator head: hidden (B, L, H) -> one "replaced" logit per position (B, L)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = nn.GELU()
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.activation(self.dense(hidden))).squeeze(-1)
