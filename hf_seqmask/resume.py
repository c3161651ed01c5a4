"""Exact resume: a run stopped at a checkpoint and resumed draws the masks of the uninterrupted run.

The HF Trainer restores weights, optimizer, scheduler, RNG states and the data order, and skips the
batches of the resumed epoch that were already trained -- without collating them. A collator whose
masks came from a stream would restart that stream and mask every later batch differently. Here each
batch's generator is keyed by ``(seed, rank, epoch, batch index)``: this callback tells the collator
the epoch and how many batches the Trainer skips, before the epoch's DataLoader iterator (and its
workers) are created. ``SeqRecTrainer`` adds it for its training collator; with a plain
``transformers.Trainer``, pass ``callbacks=[CollatorEpochCallback(collator)]``.

Exactness holds with non-persistent DataLoader workers (the Trainer's default): persistent workers
keep the collator copy of the epoch they were started in.
"""

from __future__ import annotations

from transformers import TrainerCallback

from .collators import SequenceCollator


class CollatorEpochCallback(TrainerCallback):
    """Calls ``collator.set_epoch(epoch, skipped_batches)`` at the start of every training epoch.

    Example:
        >>> from hf_seqmask import MaskedCollator
        >>> callback = CollatorEpochCallback(MaskedCollator(vocab_size=10, mask_token_id=1, seed=0))
        >>> type(callback.collator).__name__
        'MaskedCollator'
    """

    def __init__(self, collator: SequenceCollator) -> None:
        if not isinstance(collator, SequenceCollator):
            raise TypeError(f"collator must be an hf_seqmask collator, got {type(collator).__name__}")
        self.collator = collator

    def on_epoch_begin(self, args, state, control, train_dataloader=None, **kwargs):
        accumulation = args.gradient_accumulation_steps
        try:
            batches = len(train_dataloader)
        except TypeError:  # an iterable dataset of unknown length: nothing is skipped by index
            self.collator.set_epoch(int(state.epoch or 0))
            return control
        # The Trainer's own arithmetic (_init_training_state): optimizer updates per epoch, the epoch
        # being started, and the batches of it that a resumed run skips.
        updates_per_epoch = max(batches // accumulation + int(batches % accumulation > 0), 1)
        epoch = state.global_step // updates_per_epoch
        skipped = 0 if args.ignore_data_skip else (state.global_step % updates_per_epoch) * accumulation
        self.collator.set_epoch(epoch, skipped)
        return control
