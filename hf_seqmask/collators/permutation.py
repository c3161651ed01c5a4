"""Permutation language modeling (``plm``, XLNet): spans predicted under a random factorisation order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch

from .. import _masking
from .._checks import check_bool, check_int, check_probability
from ._base import Masking, PaddedBatch, SequenceCollator
from ._xlnet import check_perm_format, perm_outputs


@dataclass(kw_only=True)
class PermutationCollator(SequenceCollator):
    """XLNet span targets plus the ``perm_mask``/``target_mapping`` that ``XLNetLMHeadModel`` takes.

    Training: spans of 1..``max_span_length`` items, about ``plm_probability`` of each row, become
    targets (``permute_all=True``: every item), clipped to the real items; every row with >= 2
    items keeps >= 1 target and >= 1 non-target, rows of any length (odd too) work. Targets are
    hidden (``mask_token_id``, ``mask_positions``), as in transformers' and Transformers4Rec's PLM.
    Each row draws a random order of its targets: a target attends to the non-targets and to the
    targets strictly earlier in the order, never to itself or a later one; non-targets attend to
    non-targets only; nobody attends to padding.

    Eval: the last item is the target (hidden; it sees every other item). With
    ``eval_on_last_item_only=False`` every next item is a target under the left-to-right order
    (XLNet's query stream at ``t`` sees the items before ``t`` only), nothing hidden. Predict: a
    hidden slot after the last item is the target.

    Output: ``perm_format="dense"`` gives ``perm_mask`` (B, L, L) float32, 1 = may NOT attend, and
    ``target_mapping`` (B, L, L) float32 identity (a broadcast view: prediction ``i`` is position
    ``i``, labels stay (B, L)); ``"compact"`` gives ``perm_order`` (B, L) int64 (each target's place
    in the order, -1 elsewhere) for :func:`hf_seqmask.expand_perm_order` on the model's device.

    Args:
        plm_probability: ratio of span length to its surrounding context (default 1/6), in (0, 1].
        max_span_length: longest span of targets (default 5), >= 1.
        permute_all: make every real item a target (one stays visible).
        perm_format: ``"dense"`` or ``"compact"`` (see above).
        **shared: the options of :class:`SequenceCollator`.

    Example:
        >>> from hf_seqmask import PermutationCollator
        >>> collator = PermutationCollator(vocab_size=10, mask_token_id=1, seed=0)
        >>> batch = collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9, 4, 3, 2]}])
        >>> batch["perm_mask"].shape, batch["target_mapping"].shape
        (torch.Size([2, 5, 5]), torch.Size([2, 5, 5]))
        >>> targets = batch["labels"] != -100
        >>> bool((batch["perm_mask"].diagonal(dim1=1, dim2=2).bool() | ~targets).all())  # no target sees itself
        True
    """

    plm_probability: float = 1 / 6
    max_span_length: int = 5
    permute_all: bool = False
    perm_format: str = "dense"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_probability("plm_probability", self.plm_probability, low_open=True)
        check_int("max_span_length", self.max_span_length, minimum=1)
        if self.max_span_length / self.plm_probability > 2**31:
            raise ValueError(
                f"Invalid plm_probability={self.plm_probability!r}: with max_span_length={self.max_span_length} a "
                f"span's context would be {self.max_span_length / self.plm_probability:.3g} items long (over 2**31)"
            )
        check_bool("permute_all", self.permute_all)
        check_perm_format(self.perm_format)

    def _mask(self, padded: PaddedBatch, generator: torch.Generator | None) -> Masking:
        real = padded.real
        if self.mode == "train":
            generator = cast(torch.Generator, generator)  # training always gets one
            if self.permute_all:
                targets = real.clone()
            else:
                targets = _masking.span_targets(
                    real,
                    plm_probability=self.plm_probability,
                    max_span_length=self.max_span_length,
                    generator=generator,
                )
            keys = torch.rand(real.shape, generator=generator)  # (B, L) one draw for the fix-up and the order
            targets = _masking.ensure_target_and_context(targets, real, draws=keys)
            order = _masking.random_factorisation_order(targets, generator, keys=keys)
            return Masking(targets=targets, hidden=targets, perm_order=order)
        if self.mode == "eval" and not self.eval_on_last_item_only:
            targets = _masking.next_item_targets(real)
            return Masking(targets=targets, hidden=torch.zeros_like(real), perm_order=_masking.causal_order(real))
        masking = self._eval_or_predict_targets(padded)
        # One target per row (the last item, or the predict slot): first and only in the order.
        masking.perm_order = torch.where(masking.hidden | padded.slot, 0, -1)
        return masking

    def _extra_outputs(self, padded: PaddedBatch, masking: Masking, batch: dict[str, Any]) -> None:
        order = cast(torch.Tensor, masking.perm_order)  # (B, L) always set here
        batch.update(perm_outputs(order, batch["attention_mask"], self.perm_format))
