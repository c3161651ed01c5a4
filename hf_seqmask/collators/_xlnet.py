"""XLNet's permutation outputs of a batch, in the dense form ``XLNetLMHeadModel`` takes or compact."""

from __future__ import annotations

from typing import Any

import torch

from .. import _masking
from .._checks import check_choice

PERM_FORMATS = ("dense", "compact")


def check_perm_format(value: Any) -> None:
    """Refuse a ``perm_format`` other than ``"dense"`` or ``"compact"``."""
    check_choice("perm_format", value, PERM_FORMATS)


def perm_outputs(perm_order: torch.Tensor, attention_mask: torch.Tensor, perm_format: str) -> dict[str, torch.Tensor]:
    """``{"perm_order": (B, L) int64}`` (compact), or XLNet's dense ``perm_mask`` and
    ``target_mapping`` (B, L, L) float32 built from it.

    Example:
        >>> order = torch.tensor([[-1, 0, 1]])  # position 1 predicted first, then position 2
        >>> dense = perm_outputs(order, torch.ones(1, 3, dtype=torch.long), "dense")
        >>> dense["perm_mask"][0].tolist()  # 1 = may not attend: a target never sees itself or a later one
        [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    if perm_format == "compact":
        return {"perm_order": perm_order}
    batch_size, width = perm_order.shape
    return {
        "perm_mask": _masking.expand_perm_order(perm_order, attention_mask),  # (B, L, L)
        "target_mapping": _masking.identity_target_mapping(batch_size, width),  # (B, L, L)
    }
