"""An HF ``Trainer`` that masks for training and evaluates with the collator's eval mode."""

from __future__ import annotations

from typing import Any

from transformers import Trainer

from .collators import SequenceCollator


class SeqRecTrainer(Trainer):
    """``transformers.Trainer`` with a second collator for evaluation and prediction.

    The plain Trainer uses one ``data_collator`` for every DataLoader, so evaluation would be masked
    at random like training. Here the evaluation and test DataLoaders use ``eval_data_collator``,
    by default ``data_collator.with_mode("eval")`` (the last item hidden and scored).

    Args:
        eval_data_collator: the collator of the evaluation and test DataLoaders.
        *args, **kwargs: those of ``transformers.Trainer``.
    """

    def __init__(self, *args: Any, eval_data_collator: SequenceCollator | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if eval_data_collator is None:
            if not isinstance(self.data_collator, SequenceCollator):
                raise TypeError(
                    "eval_data_collator is required when data_collator is not an hf_seqmask collator, "
                    f"got {type(self.data_collator).__name__}"
                )
            eval_data_collator = self.data_collator.with_mode("eval")
        self.eval_data_collator = eval_data_collator

    def _with_eval_collator(self, build, *args: Any, **kwargs: Any):
        train_collator = self.data_collator
        self.data_collator = self.eval_data_collator
        try:
            return build(*args, **kwargs)
        finally:
            self.data_collator = train_collator

    def get_eval_dataloader(self, eval_dataset=None):
        return self._with_eval_collator(super().get_eval_dataloader, eval_dataset)

    def get_test_dataloader(self, test_dataset):
        return self._with_eval_collator(super().get_test_dataloader, test_dataset)
