"""Causal language modeling (``clm``): predict every next item from the items before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .. import _masking
from .._checks import check_bool
from ._base import Masking, PaddedBatch, SequenceCollator
from ._xlnet import check_perm_format, perm_outputs


@dataclass(kw_only=True)
class CausalCollator(SequenceCollator):
    """Next-item targets for GPT-2-style causal models (and XLNet with a causal ``perm_mask``).

    ``labels`` are NOT shifted: ``labels[b, t]`` is the item at ``t`` (``-100`` at the first item,
    which has no history, and at padding), as ``GPT2LMHeadModel`` expects (it shifts inside, so its
    output at ``t - 1`` predicts ``labels[t]``). Nothing is hidden in training: the causal attention
    of the model keeps the future out. In eval mode the target (the last item) is hidden as well, so
    it never reaches the model at all.

    With ``causal_perm_mask=True`` the batch also carries XLNet's ``perm_mask``/``target_mapping``
    (or the compact ``perm_order``) for the left-to-right order: XLNet's query stream at ``t`` sees
    the items before ``t`` only, so the same unshifted ``labels[t]`` is predicted AT ``t`` (XLNet does
    not shift), and predict mode appends a hidden slot after the last item to predict from.

    Args:
        train_on_last_item_only: train on each row's last item only (Transformers4Rec's
            ``train_on_last_item_seq_only``).
        causal_perm_mask: emit XLNet's causal permutation inputs (see above).
        perm_format: ``"dense"`` (float32 (B, L, L) ``perm_mask`` + ``target_mapping``, what
            ``XLNetLMHeadModel`` takes as is) or ``"compact"`` ((B, L) int64 ``perm_order``, expanded
            on the model's device with :func:`hf_seqmask.expand_perm_order`).
        **shared: the options of :class:`SequenceCollator`.

    Example:
        >>> from hf_seqmask import CausalCollator
        >>> collator = CausalCollator(vocab_size=10, mask_token_id=1, seed=0)
        >>> batch = collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8]}])
        >>> batch["labels"].tolist()
        [[-100, 6, 7], [-100, -100, -100]]
        >>> evaluation = collator.with_mode("eval")([{"input_ids": [5, 6, 7]}])
        >>> evaluation["input_ids"].tolist(), evaluation["prediction_positions"].tolist()
        ([[5, 6, 1]], [1])
    """

    train_on_last_item_only: bool = False
    causal_perm_mask: bool = False
    perm_format: str = "dense"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("train_on_last_item_only", "causal_perm_mask"):
            check_bool(name, getattr(self, name))
        check_perm_format(self.perm_format)

    def _draws(self) -> bool:
        return self.mode == "train" and self._negative_sampler is not None  # causal targets draw nothing

    @property
    def predict_slot(self) -> bool:
        return self.causal_perm_mask

    @property
    def prediction_offset(self) -> int:
        return 0 if self.causal_perm_mask else -1

    def _mask(self, padded: PaddedBatch, generator: torch.Generator | None) -> Masking:
        real, nothing = padded.real, torch.zeros_like(padded.real)
        if self.mode == "train":
            last_only = self.train_on_last_item_only
            targets = _masking.last_item_targets(real) if last_only else _masking.next_item_targets(real)
            return Masking(targets=targets, hidden=nothing)
        if self.mode == "eval" and not self.eval_on_last_item_only:
            return Masking(targets=_masking.next_item_targets(real), hidden=nothing)
        return self._eval_or_predict_targets(padded)

    def _extra_outputs(self, padded: PaddedBatch, masking: Masking, batch: dict[str, Any]) -> None:
        if self.causal_perm_mask:
            order = _masking.causal_order(padded.real | padded.slot)  # (B, L)
            batch.update(perm_outputs(order, batch["attention_mask"], self.perm_format))
