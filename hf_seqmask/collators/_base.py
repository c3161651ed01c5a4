"""What every collator shares: options, input checks, padding, generator, batch assembly."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch.utils.data import default_collate
from transformers.data.data_collator import DataCollatorMixin

from .. import _masking, _negatives, _padding, _seeding
from ..reserved import IGNORE_INDEX, PAD_TOKEN_ID

MODES = ("train", "eval", "predict")

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
class PaddedBatch:
    """The padded inputs shared by every scheme, before masking.

    ``items``: (B, L) long, original item ids right-padded with the pad id (the predict slot too).
    ``real``: (B, L) bool, the user's items. ``lengths``: (B,) long, items per row after ``max_length``.
    ``slot``: (B, L) bool, the appended prediction slot (predict mode only).
    ``seen``: (B, H) long or None, each row's items before its last one, the whole stored row (eval).
    """

    items: torch.Tensor
    real: torch.Tensor
    lengths: torch.Tensor
    slot: torch.Tensor
    side_features: dict[str, torch.Tensor]
    passthrough: dict[str, Any]
    seen: torch.Tensor | None = None


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


def _check_int(name: str, value: Any, *, minimum: int | None = None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        allowed = "an int or None" if optional else "an int"
        raise TypeError(f"Invalid {name}={value!r}; must be {allowed}")
    if minimum is not None and value < minimum:
        raise ValueError(f"Invalid {name}={value!r}; must be >= {minimum}")


def _check_probability(name: str, value: Any, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}={value!r}; must be a float")
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0) or math.isnan(value):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"Invalid {name}={value!r}; must be in {interval}")


@dataclass(kw_only=True)
class SequenceCollator(DataCollatorMixin):
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
        side_feature_pad_value: the value of side features at padding and hidden positions.
        max_length: the widest batch: each row keeps its ``max_length`` most recent items (the
            target included), ``max_length - 1`` in predict mode so that the predicted item lands
            where evaluation put it (see ``history_limit``); cut rows are counted in
            ``truncated_rows`` and ``truncated_items`` of this process.
        pad_to_multiple_of: round the padded length up to a multiple of this.
        seed: seeds the collator's private generators (0 is a valid seed): each batch's is derived
            from ``(seed, rank, DataLoader worker, the DataLoader's epoch seed, batch count)``, or under
            the Trainer from ``(seed, rank, epoch, batch index)`` (``set_epoch``), see
            ``hf_seqmask._seeding``; ``None`` takes fresh OS entropy. The global RNG is never used.
        return_tensors: only ``"pt"``.
        num_negatives: training batches also carry this many sampled negative items (0 = none) for
            the sampled losses of the model wrapper: ``negative_ids`` -- (N,) int64, one pool shared by
            the batch (``shared_negatives=True``), or (T, N) int64, one row per target in the row-major
            order of ``labels != -100`` -- with ``negative_log_q`` (same shape, float32, the log
            sampling probability, for the logQ correction) and ``target_log_q`` (T,) float32.
            Negatives are never pad, mask or special ids.
        negative_sampling: ``"uniform"`` over the real item ids, or ``"popularity"`` (proportional to
            ``item_frequencies``, e.g. ``ItemVocabulary.frequencies()``).
        item_frequencies: (vocab_size,) non-negative counts, for ``"popularity"``.
        shared_negatives: one pool per batch (cheap, the common form) or negatives per target; per
            target, a draw equal to the target is redrawn (a shared pool leaves that to the loss's
            accidental-hit removal).
        exclude_history_from_negatives: per-target negatives also avoid the row's own items.
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
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    seed: int | None = None
    return_tensors: str = "pt"
    num_negatives: int = 0
    negative_sampling: str = "uniform"
    item_frequencies: Any = field(default=None, repr=False)
    shared_negatives: bool = True
    exclude_history_from_negatives: bool = False
    emit_seen_ids: bool = True

    # Per-process state: the generator, re-created after a fork, and truncation counters.
    # Batches of up to this many positions build their outputs in numpy, larger ones in torch (see
    # _assemble): 16,384 int64 are 128 KiB, glibc's default threshold for handing memory back to the OS.
    _numpy_outputs_up_to: ClassVar[int] = 16_384
    truncated_rows: int = field(default=0, init=False, repr=False, compare=False)
    truncated_items: int = field(default=0, init=False, repr=False, compare=False)
    _process_key: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _process_seed: int = field(default=0, init=False, repr=False, compare=False)
    _calls: int = field(default=0, init=False, repr=False, compare=False)
    _epoch: int | None = field(default=None, init=False, repr=False, compare=False)
    _batch_offset: int = field(default=0, init=False, repr=False, compare=False)
    _rank: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def predict_slot(self) -> bool:
        """Whether predict mode appends a hidden slot after the last item to read the prediction at."""
        return True

    @property
    def prediction_offset(self) -> int:
        """Where the prediction of a target at position t is read: t + offset (0, or -1 for HF causal LMs)."""
        return 0

    def __post_init__(self) -> None:
        _check_int("vocab_size", self.vocab_size, minimum=1)
        for name in ("pad_token_id", "mask_token_id"):
            _check_int(name, getattr(self, name), minimum=0)
            if getattr(self, name) >= self.vocab_size:
                raise ValueError(f"Invalid {name}={getattr(self, name)}; must be < vocab_size={self.vocab_size}")
        if self.pad_token_id == self.mask_token_id:
            raise ValueError(f"pad_token_id and mask_token_id must differ; both are {self.pad_token_id}")
        if isinstance(self.special_token_ids, (str, bytes)) or not isinstance(self.special_token_ids, Sequence):
            raise TypeError(f"Invalid special_token_ids={self.special_token_ids!r}; must be a tuple of ints")
        self.special_token_ids = tuple(self.special_token_ids)
        for token in self.special_token_ids:
            _check_int("special_token_ids", token, minimum=0)
            if token >= self.vocab_size:
                raise ValueError(f"Invalid special_token_ids entry {token}; must be < vocab_size={self.vocab_size}")
        if self.mode not in MODES:
            raise ValueError(f"Invalid mode={self.mode!r}; must be one of {MODES}")
        if not isinstance(self.eval_on_last_item_only, bool):
            raise TypeError(f"Invalid eval_on_last_item_only={self.eval_on_last_item_only!r}; must be a bool")
        if not isinstance(self.input_key, str):
            raise TypeError(f"Invalid input_key={self.input_key!r}; must be a str")
        if isinstance(self.side_feature_keys, str):
            raise TypeError(f"Invalid side_feature_keys={self.side_feature_keys!r}; must be a tuple of str")
        self.side_feature_keys = tuple(self.side_feature_keys)
        for key in self.side_feature_keys:
            if not isinstance(key, str) or key == self.input_key or key in OUTPUT_KEYS:
                raise ValueError(
                    f"Invalid side_feature_keys entry {key!r}; must be a str other than input_key and the output "
                    f"keys {sorted(OUTPUT_KEYS)}"
                )
        if len(set(self.side_feature_keys)) != len(self.side_feature_keys):
            raise ValueError(f"Invalid side_feature_keys={self.side_feature_keys!r}; names repeat")
        if isinstance(self.side_feature_pad_value, bool) or not isinstance(self.side_feature_pad_value, (int, float)):
            raise TypeError(f"Invalid side_feature_pad_value={self.side_feature_pad_value!r}; must be a number")
        if not math.isfinite(self.side_feature_pad_value):
            raise ValueError(f"Invalid side_feature_pad_value={self.side_feature_pad_value!r}; must be finite")
        _check_int("max_length", self.max_length, minimum=1, optional=True)
        _check_int("pad_to_multiple_of", self.pad_to_multiple_of, minimum=1, optional=True)
        _check_int("seed", self.seed, optional=True)
        self._check_return_tensors(self.return_tensors)
        self._check_negative_options()
        reserved = torch.zeros(self.vocab_size, dtype=torch.bool)
        reserved[[self.pad_token_id, self.mask_token_id, *self.special_token_ids]] = True
        self._reserved = reserved  # (V,) bool, ids that never appear in a sequence
        self._largest_reserved_id = max(self.pad_token_id, self.mask_token_id, *self.special_token_ids)
        self._real_item_ids = torch.nonzero(~reserved).flatten()  # (V - reserved,) the draw pool
        self._negative_sampler: _negatives.NegativeSampler | None = None
        if self.num_negatives:
            if self._real_item_ids.numel() == 0:
                raise ValueError(
                    f"Invalid num_negatives={self.num_negatives}: every id of the vocabulary (vocab_size="
                    f"{self.vocab_size}) is reserved, so there is no item to draw"
                )
            frequencies = None
            if self.negative_sampling == "popularity":
                frequencies = torch.as_tensor(np.asarray(self.item_frequencies, dtype=np.float64))
            self._negative_sampler = _negatives.NegativeSampler(self._real_item_ids, self.vocab_size, frequencies)

    def _check_negative_options(self) -> None:
        _check_int("num_negatives", self.num_negatives, minimum=0)
        if self.negative_sampling not in _negatives.SAMPLERS:
            raise ValueError(
                f"Invalid negative_sampling={self.negative_sampling!r}; must be one of {_negatives.SAMPLERS}"
            )
        for name in ("shared_negatives", "exclude_history_from_negatives", "emit_seen_ids"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Invalid {name}={getattr(self, name)!r}; must be a bool")
        if self.exclude_history_from_negatives and self.shared_negatives:
            raise ValueError(
                "exclude_history_from_negatives=True needs shared_negatives=False (a shared pool has no row)"
            )
        if self.negative_sampling == "popularity":
            if self.item_frequencies is None:
                raise ValueError("negative_sampling='popularity' needs item_frequencies (one count per id)")
            frequencies = np.asarray(self.item_frequencies)
            if frequencies.shape != (self.vocab_size,) or frequencies.dtype.kind not in "iuf":
                raise ValueError(
                    f"Invalid item_frequencies of shape {frequencies.shape} and dtype {frequencies.dtype}; "
                    f"must be {self.vocab_size} numbers (one per id)"
                )
            if (frequencies < 0).any() or not np.isfinite(frequencies).all():
                raise ValueError("Invalid item_frequencies; counts must be finite and >= 0")

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
        padded = self._pad(features)
        generator = None
        if self._draws():
            generator = self._get_generator()
        else:
            self._next_call()  # counted all the same: later batch indices stay right
        batch = self._assemble(padded, self._mask(padded, generator))
        if self._negative_sampler is not None and self.mode == "train":
            self._add_negatives(batch, padded, generator)
        return batch

    def _add_negatives(self, batch: dict[str, Any], padded: PaddedBatch, generator: torch.Generator | None) -> None:
        """``negative_ids``, ``negative_log_q`` and ``target_log_q`` (see ``num_negatives``)."""
        # Only called with num_negatives > 0, in training: both exist.
        sampler, labels = cast(_negatives.NegativeSampler, self._negative_sampler), batch["labels"]
        generator = cast(torch.Generator, generator)
        is_target = labels != IGNORE_INDEX  # (B, L)
        targets = labels[is_target]  # (T,) row-major
        if self.shared_negatives:
            negatives = sampler.draw((self.num_negatives,), generator)  # (N,)
        else:
            history = None
            if self.exclude_history_from_negatives:
                rows = is_target.nonzero()[:, 0]  # (T,) row of each target
                history = padded.items.sort(dim=1).values[rows]  # (T, L) sorted; pad is never drawn
            negatives = sampler.draw_excluding(targets, self.num_negatives, generator, history)  # (T, N)
        batch["negative_ids"] = negatives
        batch["negative_log_q"] = sampler.log_q(negatives)
        batch["target_log_q"] = sampler.log_q(targets)

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

    def _get_generator(self) -> torch.Generator:
        """This batch's generator (see ``hf_seqmask._seeding.batch_seed``); none is kept between calls."""
        call = self._next_call()
        rank = self._rank if self._rank is not None and _in_worker() else None  # resolved by the main process
        seed = _seeding.batch_seed(
            self._process_seed, call, epoch=self._epoch, batch_offset=self._batch_offset, rank=rank
        )
        return _seeding.generator_from_seed(seed)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for DataLoader workers (spawn/forkserver) at the iterator's start, in the main process:
        the rank is resolved here, where the process group and ``RANK`` are known."""
        state = dict(self.__dict__)
        if not _in_worker():
            state["_rank"] = _seeding.current_rank()
        return state

    def _draws(self) -> bool:
        """Whether this batch draws anything (masks or negatives): only training does."""
        return self.mode == "train"

    def _next_call(self) -> int:
        """The index of this batch among those this process collated (a new process counts from 0)."""
        key = _seeding.process_key()
        if self._process_key != key:  # a new process or DataLoader worker: its own count (and entropy)
            self._process_key, self._calls = key, 0
            self._process_seed = self.seed if self.seed is not None else _seeding.fresh_seed()
        call, self._calls = self._calls, self._calls + 1
        return call

    def set_epoch(self, epoch: int, skipped_batches: int = 0) -> None:
        """Key the masks of the next batches by ``(epoch, batch index)``, counting from
        ``skipped_batches`` (the batches a resumed run skips): a resumed run then draws the masks of
        the uninterrupted one, with any number of (non-persistent) DataLoader workers.
        :class:`hf_seqmask.resume.CollatorEpochCallback` calls it at every epoch's start."""
        _check_int("epoch", epoch, minimum=0)
        _check_int("skipped_batches", skipped_batches, minimum=0)
        self._epoch, self._batch_offset, self._calls = int(epoch), int(skipped_batches), 0

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

    def _pad(self, features: Sequence[Mapping[str, Any]]) -> PaddedBatch:
        if isinstance(features, Mapping) or not isinstance(features, Sequence):
            raise TypeError(f"features must be a list of example dicts, got {type(features).__name__}")
        if len(features) == 0:
            raise ValueError("empty batch: features holds no example")
        item_rows = self._column(features, self.input_key)
        flat, lengths = _padding.flatten_id_rows(item_rows, key=self.input_key)
        self._check_ids(flat, lengths)
        seen = None
        if self.mode == "eval" and self.eval_on_last_item_only and self.emit_seen_ids:
            seen = torch.from_numpy(_padding.all_but_last(flat, lengths, self.pad_token_id))  # before truncation
        side_flat = {}
        for key in self.side_feature_keys:
            values, value_lengths = _padding.flatten_feature_rows(self._column(features, key), key=key)
            mismatch = np.flatnonzero(value_lengths != lengths)
            if mismatch.size:
                row = int(mismatch[0])
                raise ValueError(
                    f"row {row}: side feature {key!r} has {int(value_lengths[row])} values but "
                    f"{self.input_key!r} has {int(lengths[row])} items"
                )
            side_flat[key] = values
        limit = self.history_limit
        if limit is not None and lengths.size and lengths.max() > limit:
            over = lengths > limit
            self.truncated_rows += int(over.sum())
            self.truncated_items += int((lengths[over] - limit).sum())
            original_lengths = lengths
            flat, lengths = _padding.keep_most_recent(flat, original_lengths, limit)
            side_flat = {k: _padding.keep_most_recent(v, original_lengths, limit)[0] for k, v in side_flat.items()}

        slot = 1 if self._uses_predict_slot() else 0
        width = max(int(lengths.max()) + slot, 1)
        if self.pad_to_multiple_of is not None:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        # Masks in numpy (cheaper than torch for small batches), shared by every padded column.
        positions = np.arange(width)  # (L,)
        real = positions < lengths[:, None]  # (B, L)
        slot_mask = (positions == lengths[:, None]) & (lengths > 0)[:, None] if slot else np.zeros_like(real)
        items = torch.from_numpy(_padding.scatter_padded(flat, real, self.pad_token_id))  # (B, L)
        side = {
            key: torch.from_numpy(_padding.scatter_padded(values, real, self.side_feature_pad_value))
            for key, values in side_flat.items()
        }
        skip = {self.input_key, *self.side_feature_keys}
        keys = features[0].keys()
        # Same number of keys in every row (one C-level len per row); a row that swaps a key of row 0 for
        # another is caught below, where every row-0 key is read from every row.
        if len(set(map(len, features))) != 1:
            row = next(i for i, example in enumerate(features) if example.keys() != keys)
            extra, missing = (
                sorted(map(str, features[row].keys() - keys)),
                sorted(map(str, keys - features[row].keys())),
            )
            raise ValueError(
                f"row {row} has other keys than row 0 (extra {extra}, missing {missing}); every example of a batch "
                "must have the same keys"
            )
        passthrough = {}
        for key in keys:
            if key in skip:
                continue
            if key in OUTPUT_KEYS:
                raise ValueError(
                    f"example key {key!r} collides with an output key of the collator; drop or rename that column"
                )
            passthrough[key] = self._collate_passthrough(features, key)
        return PaddedBatch(
            items,
            torch.from_numpy(real),
            torch.from_numpy(lengths),
            torch.from_numpy(slot_mask),
            side,
            passthrough,
            seen,
        )

    @staticmethod
    def _column(features: Sequence[Mapping[str, Any]], key: str) -> list:
        try:
            return [example[key] for example in features]
        except (TypeError, IndexError):  # a row that is not a dict; found on this slow path only
            for index, example in enumerate(features):
                if not isinstance(example, Mapping):
                    raise TypeError(f"row {index}: expected an example dict, got {type(example).__name__}") from None
            raise
        except KeyError:
            row = next(i for i, example in enumerate(features) if key not in example)
            raise ValueError(f"row {row} has no key {key!r}; its keys are {sorted(map(str, features[row]))}") from None

    def _collate_passthrough(self, features: Sequence[Mapping[str, Any]], key: str) -> Any:
        values = self._column(features, key)
        try:
            return default_collate(values)
        except (RuntimeError, TypeError, ValueError) as error:
            raise TypeError(
                f"per-row field {key!r} could not be batched ({error}); list it in side_feature_keys if it is "
                f"per-item, or remove it"
            ) from None

    def _check_ids(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        if flat.size == 0:
            return
        smallest = flat.min()
        if smallest < 0 or flat.max() >= self.vocab_size:
            bad = np.flatnonzero((flat < 0) | (flat >= self.vocab_size))
            row, position = _padding.row_of_flat_index(lengths, int(bad[0]))
            raise ValueError(
                f"row {row} of {self.input_key!r}: item id {int(flat[bad[0]])} at position {position} is outside "
                f"[0, vocab_size={self.vocab_size})"
            )
        if smallest > self._largest_reserved_id:  # the usual case: the item ids lie above the reserved ones
            return
        reserved = self._reserved.numpy()[flat]  # (N,) bool
        if reserved.any():
            bad = np.flatnonzero(reserved)
            row, position = _padding.row_of_flat_index(lengths, int(bad[0]))
            value = int(flat[bad[0]])
            name = {self.pad_token_id: "pad_token_id", self.mask_token_id: "mask_token_id"}.get(
                value, "special_token_ids"
            )
            raise ValueError(
                f"row {row} of {self.input_key!r}: position {position} holds {value}, which is {name}; sequences "
                f"must hold item ids only (padding is added by the collator)"
            )

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
            # A hidden or replaced item's side features would reveal it: they are padded too.
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

    def _perm_outputs(self, perm_order: torch.Tensor, batch: dict[str, Any], perm_format: str) -> None:
        """XLNet's inputs: the dense ``perm_mask``/``target_mapping`` or the compact ``perm_order``."""
        if perm_format == "compact":
            batch["perm_order"] = perm_order
            return
        batch_size, width = perm_order.shape
        batch["perm_mask"] = _masking.expand_perm_order(perm_order, batch["attention_mask"])  # (B, L, L)
        batch["target_mapping"] = _masking.identity_target_mapping(batch_size, width)  # (B, L, L)


def _in_worker() -> bool:
    return torch.utils.data.get_worker_info() is not None


PERM_FORMATS = ("dense", "compact")


def check_perm_format(value: Any) -> None:
    if value not in PERM_FORMATS:
        raise ValueError(f"Invalid perm_format={value!r}; must be one of {PERM_FORMATS}")
