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


def updates_per_epoch(batches: int, gradient_accumulation_steps: int) -> int:
    """Optimizer updates in an epoch of ``batches`` batches (per process): the Trainer's own arithmetic
    (a last, shorter accumulation still makes an update; at least one update).

    Example:
        >>> updates_per_epoch(30, 1), updates_per_epoch(30, 4), updates_per_epoch(2, 4)
        (30, 8, 1)
    """
    return max(-(-batches // gradient_accumulation_steps), 1)


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
        # The epoch being started and the batches of it that a resumed run skips, as the Trainer counts them.
        updates = updates_per_epoch(batches, accumulation)
        epoch = state.global_step // updates
        skipped = 0 if args.ignore_data_skip else (state.global_step % updates) * accumulation
        self.collator.set_epoch(epoch, skipped)
        return control
