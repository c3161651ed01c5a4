"""Masked language modeling (``mlm``, BERT4Rec): predict randomly hidden items from both sides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch

from .. import _masking
from .._checks import check_probability
from ._base import Masking, PaddedBatch, SequenceCollator


@dataclass(kw_only=True)
class MaskedCollator(SequenceCollator):
    """BERT4Rec-style targets: each real item is a target with ``mlm_probability``.

    Every row with >= 2 items gets >= 1 target and keeps >= 1 non-target item; rows with 0 or 1
    items get none. Targets are hidden (``mask_token_id`` in ``input_ids``, ``True`` in
    ``mask_positions``); with BERT's split, a share of them holds a random real item or stays
    as is instead. In eval mode the last item is the target and is hidden; in predict mode a hidden
    slot is appended after the last item and ``prediction_positions`` points at it. Evaluating
    every next item is refused: a bidirectional model would see the later targets.

    Args:
        mlm_probability: chance of each real item to be a target in training (default 0.15).
        mask_replace_prob: share of the targets replaced by ``mask_token_id`` (default 1.0, BERT4Rec;
            BERT uses 0.8).
        random_replace_prob: share of the targets replaced by a random real item (default 0.0; BERT
            uses 0.1). Drawn uniformly from ``[0, vocab_size)`` without the pad, mask and special ids.
            The remaining ``1 - mask_replace_prob - random_replace_prob`` stay unchanged.
        mask_last_item_prob: chance of a row (>= 2 items) to be trained like evaluation: its last
            item is its only target, hidden (BERT4Rec's extra "mask the last item" rows).
        **shared: the options of :class:`SequenceCollator`.

    Example:
        >>> from hf_seqmask import MaskedCollator
        >>> collator = MaskedCollator(vocab_size=10, mask_token_id=1, seed=0)
        >>> batch = collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}])
        >>> sorted(batch)
        ['attention_mask', 'input_ids', 'labels', 'mask_positions']
        >>> bool(((batch["labels"] != -100) == batch["mask_positions"]).all())
        True
        >>> predict = collator.with_mode("predict")([{"input_ids": [5, 6, 7]}])
        >>> predict["input_ids"].tolist(), predict["prediction_positions"].tolist()
        ([[5, 6, 7, 1]], [3])
    """

    mlm_probability: float = 0.15
    mask_replace_prob: float = 1.0
    random_replace_prob: float = 0.0
    mask_last_item_prob: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("mlm_probability", "mask_replace_prob", "random_replace_prob", "mask_last_item_prob"):
            check_probability(name, getattr(self, name))
        if self.mask_replace_prob + self.random_replace_prob > 1.0 + 1e-12:
            raise ValueError(
                f"mask_replace_prob + random_replace_prob must be <= 1; got {self.mask_replace_prob} + "
                f"{self.random_replace_prob}"
            )
        if self.random_replace_prob > 0 and self._real_item_ids.numel() == 0:
            raise ValueError(
                f"random_replace_prob={self.random_replace_prob} but every id of the vocabulary is reserved"
            )
        if self.mode == "eval" and not self.eval_on_last_item_only:
            raise ValueError(
                f"eval_on_last_item_only=False is not supported by {type(self).__name__}: a bidirectional model "
                "sees the later items, so predicting every next item in one pass would leak the targets; "
                "evaluate the last item, or use CausalCollator / PermutationCollator"
            )

    def _mask(self, padded: PaddedBatch, generator: torch.Generator | None) -> Masking:
        if self.mode != "train":
            return self._eval_or_predict_targets(padded)
        generator = cast(torch.Generator, generator)  # training always gets one
        real = padded.real
        targets = _masking.bernoulli_targets(real, padded.lengths, self.mlm_probability, generator)  # (B, L)
        last_item_rows = torch.zeros(real.shape[0], dtype=torch.bool)  # (B,)
        if self.mask_last_item_prob > 0:
            last = _masking.last_item_targets(real)  # (B, L)
            last_item_rows = (torch.rand(real.shape[0], generator=generator) < self.mask_last_item_prob) & last.any(1)
            targets = torch.where(last_item_rows[:, None], last, targets)
        if self.mask_replace_prob >= 1.0:
            return Masking(targets=targets, hidden=targets)
        split_targets = targets & ~last_item_rows[:, None]  # the last-item rows stay hidden, like evaluation
        to_mask, to_random = _masking.replacement_split(
            split_targets,
            mask_replace_prob=self.mask_replace_prob,
            random_replace_prob=self.random_replace_prob,
            generator=generator,
        )
        random_ids = _masking.draw_items(int(to_random.sum()), self._real_item_ids, generator)
        hidden = to_mask | (targets & last_item_rows[:, None])
        return Masking(targets=targets, hidden=hidden, random=to_random, random_ids=random_ids)
