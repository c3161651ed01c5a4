"""What every collator shares: its options, the generator of each batch, and the batch assembly.

Padding is :func:`hf_seqmask._padding.pad_examples`, the id checks :class:`._ids.ItemIds`, the
negatives :mod:`hf_seqmask._negatives`, XLNet's permutation outputs :mod:`._xlnet`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import torch
from transformers.data.data_collator import DataCollatorMixin

from .. import _masking, _negatives, _padding
from .._checks import check_bool, check_choice, check_int, check_names_of
from .._negatives import NegativeSampling
from .._padding import PaddedBatch
from ..reserved import IGNORE_INDEX, PAD_TOKEN_ID
from ._batch_generators import BatchGenerators
from ._ids import ItemIds

MODES = ("train", "eval", "predict")
TRAIN_WINDOWS = ("recent", "random")

# Keys a collator writes; an input example holding one of them would be overwritten.
OUTPUT_KEYS = frozenset(
    {
        "input_ids",
        "attention_mask",
        "labels",
        "mask_positions",
        "prediction_positions",
        "perm_mask",
        "target_mapping",
        "perm_order",
        "replacement_candidates",
        "negative_ids",
        "negative_log_q",
        "target_log_q",
        "unmasked_side_features",
        "seen_ids",
    }
)


@dataclass
class Masking:
    """One scheme's decision for a batch.

    ``targets``: (B, L) bool, positions whose original item is a label.
    ``hidden``: (B, L) bool, positions that hold ``mask_token_id`` and get the learnable mask vector.
    ``random``: (B, L) bool, positions that hold a random real item instead of theirs.
    ``random_ids``: (n_random,) long, those items in row-major order.
    ``perm_order``: (B, L) long or None, the compact XLNet factorisation order.
    """

    targets: torch.Tensor
    hidden: torch.Tensor
    random: torch.Tensor | None = None
    random_ids: torch.Tensor | None = None
    perm_order: torch.Tensor | None = None


@dataclass(kw_only=True)
class SequenceCollator(BatchGenerators, DataCollatorMixin):
    """Base of the four collators: the options every scheme shares (use a subclass).

    Args:
        vocab_size: number of ids of the item embedding table; item ids must lie in ``[0, vocab_size)``.
        mask_token_id: the id written at hidden positions (a plain HF model then never sees a target).
        pad_token_id: the id written at padding positions (default 0).
        special_token_ids: other reserved ids: never in a sequence, never drawn as a random item.
        mode: ``"train"`` (random targets), ``"eval"`` (the last item of each row, or every next item
            with ``eval_on_last_item_only=False``; the target never reaches the model) or
            ``"predict"`` (no labels; ``prediction_positions`` says where each row's next-item
            prediction is read).
        eval_on_last_item_only: in eval mode, the last item only (default) or every next item.
        input_key: the example key holding the item-id sequence (default ``"input_ids"``).
        side_feature_keys: example keys holding per-item sequences (category, timestamp, ...), padded,
            truncated and hidden together with the items; integers give int64, reals float32 (a
            batch in which a feature has no value at all gives int64).
        side_feature_pad_value: the value of side features at padding and hidden positions; an
            integer feature needs an integer pad value (the first batch refuses 0.5 or 1e20, naming
            the feature).
        context_feature_keys: the side features among ``side_feature_keys`` that describe the user
            rather than the item (a user's country): one value per row (a row whose value changes is
            refused: it would show a hidden target's own value), never hidden, neither at hidden nor
            at replaced nor at target positions; predict mode gives the appended slot the row's value,
            so a prediction reads what evaluation read. Default ``()``: every side feature is hidden
            with its item.
        max_length: the widest batch: each row keeps its ``max_length`` most recent items (the
            target included; in training a random window with ``train_window="random"``),
            ``max_length - 1`` in predict mode so that the predicted item lands where evaluation put
            it (see ``history_limit``); cut rows are counted in ``truncated_rows`` and
            ``truncated_items`` of this process.
        train_window: which ``max_length`` items a longer row keeps in training: its most recent
            (``"recent"``, default) or a window starting anywhere in the row, uniformly, drawn anew
            for every batch (``"random"``): over the epochs a model trains on every item of long
            histories at the cost of ``max_length`` items a row (BERT4Rec's data preparation slides a
            window over long rows for the same reason). A middle item falls in a window most often, a
            row's first and most recent items least (``1 / (length - max_length + 1)`` of the
            batches); ``mask_last_item_prob`` and ``train_on_last_item_only`` act on the window's last
            item. Evaluation and prediction always keep the most recent items. Needs ``max_length``.
        pad_to_multiple_of: round the padded length up to a multiple of this, but never beyond
            ``max_length``: the batch stays as wide as the model takes (``max_length=10`` with
            ``pad_to_multiple_of=8`` pads to 8, or to 10 where a row is longer than 8).
        seed: seeds the collator's private generators (0 is a valid seed): each batch's is derived
            from ``(seed, rank, DataLoader worker, the DataLoader's epoch seed, batch count)``, or under
            the Trainer from ``(seed, rank, epoch, batch index)`` (``set_epoch``), see
            ``hf_seqmask._seeding``; ``None`` takes fresh OS entropy. The global RNG is never used.
        return_tensors: only ``"pt"``.
        negatives: training batches also carry sampled negative items for the sampled losses of the
            model wrapper (``negative_ids``, ``negative_log_q``, ``target_log_q``), drawn as the
            :class:`hf_seqmask.NegativeSampling` says; None (default): no negatives.
        num_negatives, negative_sampling, item_frequencies, shared_negatives,
            exclude_history_from_negatives: deprecated flat forms of ``negatives`` (the fields
            ``num_negatives``, ``distribution``, ``item_frequencies``, ``shared``, ``exclude_history``);
            folded into ``negatives`` on creation, with a ``DeprecationWarning``, and then read None.
        emit_seen_ids: eval mode (last item) also emits ``seen_ids`` (B, H) int64: every item of the
            row before its target -- the whole stored row, also beyond ``max_length`` -- padded with
            the pad id, so ranking metrics can exclude what the user has already seen (the model
            wrapper passes it through to ``preprocess_logits_for_metrics``).

    Other example keys (user ids, ...) are batched with ``torch.utils.data.default_collate`` and
    passed through under their own names.
    """

    vocab_size: int
    mask_token_id: int
    pad_token_id: int = PAD_TOKEN_ID
    special_token_ids: tuple[int, ...] = ()
    mode: str = "train"
    eval_on_last_item_only: bool = True
    input_key: str = "input_ids"
    side_feature_keys: tuple[str, ...] = ()
    side_feature_pad_value: float = 0
    context_feature_keys: tuple[str, ...] = ()
    max_length: int | None = None
    train_window: str = "recent"
    pad_to_multiple_of: int | None = None
    seed: int | None = None
    return_tensors: str = "pt"
    negatives: NegativeSampling | None = None
    emit_seen_ids: bool = True
    # Deprecated: the flat forms of `negatives` (see _negatives.FLAT_NAMES), None once folded into it.
    num_negatives: int | None = field(default=None, repr=False, compare=False)
    negative_sampling: str | None = field(default=None, repr=False, compare=False)
    item_frequencies: Any = field(default=None, repr=False, compare=False)
    shared_negatives: bool | None = field(default=None, repr=False, compare=False)
    exclude_history_from_negatives: bool | None = field(default=None, repr=False, compare=False)

    # Per-process state: truncation counters (the generators' state: BatchGenerators).
    # Batches of up to this many positions build their outputs in numpy, larger ones in torch (see
    # _assemble): 16,384 int64 are 128 KiB, glibc's default threshold for handing memory back to the OS.
    _numpy_outputs_up_to: ClassVar[int] = 16_384
    truncated_rows: int = field(default=0, init=False, repr=False, compare=False)
    truncated_items: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def predict_slot(self) -> bool:
        """Whether predict mode appends a hidden slot after the last item to read the prediction at."""
        return True

    @property
    def prediction_offset(self) -> int:
        """Where the prediction of a target at position t is read: t + offset (0, or -1 for HF causal LMs)."""
        return 0

    def __post_init__(self) -> None:
        self._ids = ItemIds(self.vocab_size, self.pad_token_id, self.mask_token_id, self.special_token_ids)
        self.special_token_ids = self._ids.special_token_ids
        check_choice("mode", self.mode, MODES)
        check_bool("eval_on_last_item_only", self.eval_on_last_item_only)
        if not isinstance(self.input_key, str):
            raise TypeError(f"Invalid input_key={self.input_key!r}; must be a str")
        self.side_feature_keys = _side_feature_keys(self.side_feature_keys, self.input_key)
        keys, allowed = self.context_feature_keys, self.side_feature_keys
        self.context_feature_keys = check_names_of("context_feature_keys", keys, allowed, "side_feature_keys")
        if isinstance(self.side_feature_pad_value, bool) or not isinstance(self.side_feature_pad_value, (int, float)):
            raise TypeError(f"Invalid side_feature_pad_value={self.side_feature_pad_value!r}; must be a number")
        if not math.isfinite(self.side_feature_pad_value):
            raise ValueError(f"Invalid side_feature_pad_value={self.side_feature_pad_value!r}; must be finite")
        check_int("max_length", self.max_length, minimum=1, optional=True)
        check_choice("train_window", self.train_window, TRAIN_WINDOWS)
        if self.train_window == "random" and self.max_length is None:
            raise ValueError("Invalid train_window='random' with max_length=None; a window needs max_length")
        check_int("pad_to_multiple_of", self.pad_to_multiple_of, minimum=1, optional=True)
        check_int("seed", self.seed, optional=True)
        self._check_return_tensors(self.return_tensors)
        flat = {name: getattr(self, name) for name in _negatives.FLAT_NAMES}
        self.negatives = _negatives.resolve(self.negatives, flat)
        for name in flat:  # folded into `negatives`: one source of truth (and `replace` copies that one)
            setattr(self, name, None)
        check_bool("emit_seen_ids", self.emit_seen_ids)
        self._real_item_ids = self._ids.real_item_ids  # (V - reserved,) the draw pool
        self._negative_sampler = _negatives.build_sampler(self.negatives, self._real_item_ids, self.vocab_size)

    # ----------------------------------------------------------------------------------------- API
    def with_mode(self, mode: str, **changes: Any) -> SequenceCollator:
        """A copy of this collator in another ``mode`` (e.g. for the evaluation DataLoader).

        Example:
            >>> from hf_seqmask import MaskedCollator
            >>> MaskedCollator(vocab_size=10, mask_token_id=1).with_mode("eval").mode
            'eval'
        """
        return dataclasses.replace(self, mode=mode, **changes)

    def __call__(self, features: Sequence[Mapping[str, Any]], return_tensors: str | None = None) -> dict[str, Any]:
        self._check_return_tensors(return_tensors if return_tensors is not None else self.return_tensors)
        return self.torch_call(features)

    def torch_call(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Collate ``features`` (a list of example dicts) into the batch of the scheme's contract."""
        if self._draws_windows():
            generator = self._batch_generator()
            padded = self._pad(features, generator)  # the window is the batch's first draw
        else:  # padded first: a refused batch takes no batch number
            padded = self._pad(features, None)
            generator = self._batch_generator()
        batch = self._assemble(padded, self._mask(padded, generator))
        if self._negative_sampler is not None and self.mode == "train":  # training: a generator exists
            negatives = cast(NegativeSampling, self.negatives)
            labels, generator = batch["labels"], cast(torch.Generator, generator)
            batch.update(_negatives.draw_negatives(self._negative_sampler, negatives, labels, padded.items, generator))
        return batch

    # ------------------------------------------------------------------------- scheme-specific parts
    def _mask(self, padded: PaddedBatch, generator: torch.Generator | None) -> Masking:
        raise NotImplementedError

    def _extra_outputs(self, padded: PaddedBatch, masking: Masking, batch: dict[str, Any]) -> None:
        """Add scheme-specific keys to ``batch`` (in place)."""

    # ----------------------------------------------------------------------------------- internals
    @staticmethod
    def _check_return_tensors(value: Any) -> None:
        if value != "pt":
            raise ValueError(f"Invalid return_tensors={value!r}; only 'pt' (torch) is supported")

    def _draws(self) -> bool:
        """Whether this batch draws anything (masks, windows or negatives): only training does."""
        return self.mode == "train"

    def _draws_windows(self) -> bool:
        return self.mode == "train" and self.train_window == "random"

    def _batch_generator(self) -> torch.Generator | None:
        """This batch's generator if it draws anything, else None; the batch is counted either way."""
        if self._draws() or self._draws_windows():
            return self._get_generator()
        self._next_call()  # counted all the same: later batch indices stay right
        return None

    def _window_starts(self, lengths: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """(B,) int64: where each row's training window starts, uniform over ``[0, length - max_length]``
        (0 for rows that fit). One float64 draw per row, before the scheme's own draws, in batches with a
        row longer than ``max_length`` only (the others draw the masks of ``"recent"``)."""
        spare = np.maximum(lengths - cast(int, self.max_length), 0)  # (B,)
        uniform = torch.rand(len(lengths), generator=generator, dtype=torch.float64).numpy()
        return np.minimum((uniform * (spare + 1)).astype(np.int64), spare)

    @property
    def history_limit(self) -> int | None:
        """The most items a row keeps: ``max_length``, but ``max_length - 1`` in predict mode.

        A prediction must be read where training and evaluation put targets. Evaluation keeps the
        ``max_length`` most recent items *including* the target, so the item to predict sits at a
        position <= ``max_length - 1``; in predict mode the history therefore keeps ``max_length - 1``
        items, and the predict slot (or, for a shifting causal LM, the output at the last item) lands
        exactly where evaluation scored: predict on a history == eval on that history + its next item.
        """
        if self.max_length is not None and self.mode == "predict":
            return self.max_length - 1
        return self.max_length

    def _uses_predict_slot(self) -> bool:
        return self.mode == "predict" and self.predict_slot

    def _pad(self, features: Sequence[Mapping[str, Any]], generator: torch.Generator | None) -> PaddedBatch:
        key = self.input_key
        windows = None
        if self._draws_windows():
            if generator is None:  # never the global RNG
                raise RuntimeError("a training window needs the batch's generator")
            windows = functools.partial(self._window_starts, generator=generator)
        padded = _padding.pad_examples(
            features,
            input_key=key,
            side_feature_keys=self.side_feature_keys,
            pad_token_id=self.pad_token_id,
            side_feature_pad_value=self.side_feature_pad_value,
            history_limit=self.history_limit,
            slot=self._uses_predict_slot(),
            pad_to_multiple_of=self.pad_to_multiple_of,
            max_width=self.max_length,
            emit_seen=self.mode == "eval" and self.eval_on_last_item_only and self.emit_seen_ids,
            check_ids=lambda flat, lengths: self._ids.check(flat, lengths, key=key),
            output_keys=OUTPUT_KEYS,
            window_starts=windows,
        )
        self.truncated_rows += padded.truncated_rows
        self.truncated_items += padded.truncated_items
        return padded

    def _prediction_positions(self, padded: PaddedBatch, targets: torch.Tensor) -> torch.Tensor:
        """(B,) long: where each row's (last) prediction is read; -1 for rows without one."""
        if self.mode == "predict":
            next_position = padded.lengths  # the item after the last one
            valid = padded.lengths >= 1
        else:
            last_target = torch.where(targets, torch.arange(targets.shape[1]), -1).amax(dim=1)  # (B,)
            next_position, valid = last_target, last_target >= 0
        return torch.where(valid, next_position + self.prediction_offset, -1)

    def _assemble(self, padded: PaddedBatch, masking: Masking) -> dict[str, Any]:
        # The slot exists in predict mode only; skipping the no-op ors is worth it on large batches.
        predict = self._uses_predict_slot()
        items, hidden = padded.items, masking.hidden | padded.slot if predict else masking.hidden
        attention = padded.real | padded.slot if predict else padded.real
        changed = hidden if masking.random is None else hidden | masking.random
        if items.numel() <= self._numpy_outputs_up_to:
            # Small batches: numpy on zero-copy views, ~1 us of overhead per op against ~5 us in torch
            # (about 20 us of a 256 x 50 mlm batch).
            items_np = items.numpy()
            input_ids = torch.from_numpy(np.where(hidden.numpy(), self.mask_token_id, items_np))  # (B, L)
            attention_mask = torch.from_numpy(attention.numpy().astype(np.int64))
            labels = torch.from_numpy(np.where(masking.targets.numpy(), items_np, IGNORE_INDEX))
        else:
            # Large ones: torch's allocations. numpy (B, L) outputs freed together were page-faulted
            # in again on the next batch on the machine we measured (0.4-1.6 ms more at 1024 x 200).
            input_ids = items.masked_fill(hidden, self.mask_token_id)
            attention_mask = attention.long()
            labels = torch.where(masking.targets, items, IGNORE_INDEX)
        if masking.random is not None and masking.random_ids is not None:
            input_ids[masking.random] = masking.random_ids
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.mode != "predict":
            batch["labels"] = labels
        batch["mask_positions"] = hidden
        if self.mode != "train":
            batch["prediction_positions"] = self._prediction_positions(padded, masking.targets)
        for key, values in padded.side_features.items():
            if key in self.context_feature_keys:  # the user's, not the item's: visible everywhere
                _check_constant_along_rows(key, values, padded.real)
                batch[key] = _padding.fill_slot_with_last(values, padded.slot, padded.lengths) if predict else values
            else:  # a hidden or replaced item's side features would reveal it: they are padded too
                batch[key] = values.masked_fill(changed, self.side_feature_pad_value)
        if padded.seen is not None:
            batch["seen_ids"] = padded.seen
        self._extra_outputs(padded, masking, batch)
        batch.update(padded.passthrough)
        return batch

    def _eval_or_predict_targets(self, padded: PaddedBatch) -> Masking:
        """Targets outside training, shared by the schemes that hide them: the last item (eval) or none."""
        if self.mode == "predict":
            return Masking(targets=torch.zeros_like(padded.real), hidden=torch.zeros_like(padded.real))
        last = _masking.last_item_targets(padded.real)
        return Masking(targets=last, hidden=last)


def _side_feature_keys(keys: Any, input_key: str) -> tuple[str, ...]:
    """``side_feature_keys`` as a tuple of distinct names other than the input and output keys."""
    if isinstance(keys, str):
        raise TypeError(f"Invalid side_feature_keys={keys!r}; must be a tuple of str")
    keys = tuple(keys)
    for key in keys:
        if not isinstance(key, str) or key == input_key or key in OUTPUT_KEYS:
            raise ValueError(
                f"Invalid side_feature_keys entry {key!r}; must be a str other than input_key and the output "
                f"keys {sorted(OUTPUT_KEYS)}"
            )
    if len(set(keys)) != len(keys):
        raise ValueError(f"Invalid side_feature_keys={keys!r}; names repeat")
    return keys


def _check_constant_along_rows(key: str, values: torch.Tensor, real: torch.Tensor) -> None:
    """A context feature holds one value per row (a user attribute): one that changes along a row would
    show a hidden target's own value (mlm, rtd) where predict mode shows the last history value.

    Example:
        >>> real = torch.tensor([[1, 1, 0], [1, 1, 0]]).bool()
        >>> _check_constant_along_rows("country", torch.tensor([[2, 2, 0], [5, 6, 0]]), real)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: context feature 'country' changes along row 1 of the batch ([5, 6]); a context feature ...
    """
    differs = (values != values[:, :1]) & real  # (B, L); rows are right-padded: position 0 is the first item
    if bool(differs.any()):
        row = int(differs.any(dim=1).nonzero()[0])
        raise ValueError(
            f"context feature {key!r} changes along row {row} of the batch ({values[row][real[row]].tolist()}); "
            "a context feature (context_feature_keys) must hold one value per row, as a user attribute does: "
            "a value per interaction is an ordinary side feature"
        )
