"""Replaced-token detection (``rtd``, ELECTRA): MLM targets for the generator + the discriminator's pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._checks import check_bool
from ..reserved import IGNORE_INDEX
from ._base import Masking, PaddedBatch
from .masked import MaskedCollator


@dataclass(kw_only=True)
class ReplacementCollator(MaskedCollator):
    """ELECTRA's data side: the MLM targets of :class:`MaskedCollator`, hidden for the generator.

    The replacement itself needs the generator's logits, so it happens in the model (Gumbel
    sampling without gradient, then a discriminator labels every real position original/replaced).
    With side features, training batches also carry ``unmasked_side_features``: a dict of the side
    features before hiding, for the discriminator's pass only (the generator reads them hidden; a
    padded value at exactly the masked positions would otherwise give the discriminator a shortcut;
    the ``context_feature_keys`` are never hidden, so theirs equal the batch's own).
    With ``sample_from_batch=True`` training batches also carry ``replacement_candidates``:
    (C,) int64, the distinct target items of the batch, sorted -- the pool the generator's logits are
    restricted to, so replacements are items of this batch (Transformers4Rec's ``sample_from_batch``).

    Args:
        sample_from_batch: emit ``replacement_candidates`` (see above).
        **masked: the options of :class:`MaskedCollator`.

    Example:
        >>> from hf_seqmask import ReplacementCollator
        >>> collator = ReplacementCollator(vocab_size=10, mask_token_id=1, seed=0, sample_from_batch=True)
        >>> batch = collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}])
        >>> targets = batch["labels"][batch["labels"] != -100]
        >>> batch["replacement_candidates"].tolist() == sorted(set(targets.tolist()))
        True
    """

    sample_from_batch: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_bool("sample_from_batch", self.sample_from_batch)

    def _extra_outputs(self, padded: PaddedBatch, masking: Masking, batch: dict[str, Any]) -> None:
        if self.side_feature_keys and self.mode == "train":
            # The discriminator reads the side features before hiding (see hf_seqmask._rtd.rtd_training_step).
            batch["unmasked_side_features"] = dict(padded.side_features)
        if self.sample_from_batch and self.mode == "train":
            labels = batch["labels"]
            batch["replacement_candidates"] = torch.unique(labels[labels != IGNORE_INDEX])  # (C,)
