"""The collators' one padding path: example dicts -> :class:`PaddedBatch` (:func:`pad_examples`).

Ragged per-example sequences -> one flat array + lengths -> a right-padded matrix. The fast path is
the floor of DESIGN.md: one ``np.fromiter`` over every item of the batch and one boolean scatter into
the padded array; no per-row array or tensor is built for list inputs. Errors are found on a slow
per-row pass that runs only after the fast path failed, so they can name the row, the position and
the bad value.
"""

from __future__ import annotations

import array
import collections
import numbers
import struct
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

_ROW_TYPES = "a list, tuple, 1-D numpy array or 1-D tensor"


def flatten_id_rows(rows: Sequence, *, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate integer rows into ``(flat int64 (N,), lengths int64 (B,))``.

    Raises:
        TypeError: a row that is not a 1-D sequence of integers (names the row, position and value).

    Example:
        >>> flat, lengths = flatten_id_rows([[3, 4], [], [5]], key="input_ids")
        >>> flat.tolist(), lengths.tolist()
        ([3, 4, 5], [2, 0, 1])
    """
    return _flatten(rows, key=key, integer_only=True)


def flatten_feature_rows(rows: Sequence, *, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`flatten_id_rows` for side features: integers -> int64, reals -> float32."""
    return _flatten(rows, key=key, integer_only=False)


def _flatten(rows: Sequence, *, key: str, integer_only: bool) -> tuple[np.ndarray, np.ndarray]:
    first = rows[0]
    try:
        # All rows plain lists (one isinstance per row, not per item). Their items convert in one C pass;
        # a numpy integer among them converts too (through __index__), np.float64 or np.bool_ do not.
        if isinstance(first, (list, tuple)) and set(map(type, rows)) <= _LIST_TYPES:
            lengths = np.fromiter(map(len, rows), np.int64, len(rows))
            items: list = []
            collections.deque(map(items.extend, rows), maxlen=0)  # 3x faster than list(chain(rows))
            try:
                flat = _as_int64(items)
                # A Python or numpy bool converts as 0 or 1, so the per-item type check runs only for a
                # batch holding such ids (normally pad and mask).
                if integer_only and flat.size and flat.min() <= 1 and _BOOLS & set(map(type, items)):
                    raise TypeError("a bool among the item ids")  # the row-by-row path names it
                return flat, lengths
            except (TypeError, struct.error, DeprecationWarning):  # numpy < 2 converts np.bool_ with a warning
                if integer_only:
                    raise
                # fromiter(float64) would parse strings: check the value types once, at C speed
                if not all(issubclass(kind, numbers.Real) for kind in set(map(type, items))):
                    raise
                return np.fromiter(items, np.float64, len(items)).astype(np.float32), lengths
        if isinstance(first, np.ndarray) and all(
            isinstance(r, np.ndarray) and r.ndim == 1 and (r.dtype.kind in _kinds(integer_only) or r.size == 0)
            for r in rows
        ):
            return _concat_numpy(list(rows), integer_only)
        if isinstance(first, torch.Tensor) and all(
            isinstance(r, torch.Tensor) and r.ndim == 1 and (_tensor_ok(r, integer_only) or r.numel() == 0)
            for r in rows
        ):
            return _concat_numpy([r.detach().cpu().numpy() for r in rows], integer_only)
    except (TypeError, ValueError, OverflowError, struct.error, DeprecationWarning):
        pass
    # Mixed containers or a bad row: convert row by row, which names the culprit if there is one.
    return _concat_numpy([_row_as_array(row, i, key, integer_only) for i, row in enumerate(rows)], integer_only)


_LIST_TYPES = {list, tuple}
# Up to this many items struct.pack converts fastest (2.5x array's speed at 6,500 items); beyond, the
# argument tuple it needs stops fitting the caches and array("q") is as fast or faster.
_STRUCT_UP_TO = 16_384


def _as_int64(items: list) -> np.ndarray:
    """``items`` as int64, refusing at C speed what is not an integer: floats, strings, None and nested
    rows raise (``struct.error`` or ``TypeError``), ids beyond int64 too, where ``np.fromiter`` would
    coerce 2.7 -> 2 and "3" -> 3. Faster than ``np.fromiter``, so the check costs nothing. A bool
    converts as 0 or 1 (the caller checks for those).

    Example:
        >>> _as_int64([3, 4, 5]).tolist()
        [3, 4, 5]
    """
    if len(items) <= _STRUCT_UP_TO:
        return np.frombuffer(struct.pack(f"{len(items)}q", *items), dtype=np.int64)
    return np.frombuffer(array.array("q", items), dtype=np.int64)


_BOOLS = {bool, np.bool_}


def _kinds(integer_only: bool) -> str:
    return "iu" if integer_only else "iuf"


def _tensor_ok(t: torch.Tensor, integer_only: bool) -> bool:
    if t.dtype == torch.bool or t.is_complex():
        return False
    return not (integer_only and t.is_floating_point())


def _concat_numpy(arrays: list[np.ndarray], integer_only: bool) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, arrays), np.int64, len(arrays))
    if not arrays or lengths.sum() == 0:
        return np.zeros(0, np.int64), lengths
    flat = np.concatenate([a for a in arrays if a.size])  # empty rows may carry any dtype (np.array([]))
    if flat.dtype.kind == "f" and not integer_only:
        return flat.astype(np.float32, copy=False), lengths
    if flat.dtype == np.uint64 and flat.max() > np.iinfo(np.int64).max:
        raise TypeError(f"item ids up to {int(flat.max())} do not fit in int64")
    return flat.astype(np.int64, copy=False), lengths


def _row_as_array(row: Any, index: int, key: str, integer_only: bool) -> np.ndarray:
    """Validate one row and return it as a 1-D numpy array; raise naming the row otherwise."""
    what = "integer" if integer_only else "integer or real"
    if isinstance(row, torch.Tensor):
        if row.ndim != 1 or not (_tensor_ok(row, integer_only) or row.numel() == 0):
            raise TypeError(
                f"row {index} of {key!r}: expected {_ROW_TYPES} of {what}s, got a tensor of shape "
                f"{tuple(row.shape)} and dtype {row.dtype}"
            )
        return row.detach().cpu().numpy()
    if isinstance(row, np.ndarray):
        if row.ndim != 1 or not (row.dtype.kind in _kinds(integer_only) or row.size == 0):
            raise TypeError(
                f"row {index} of {key!r}: expected {_ROW_TYPES} of {what}s, got a numpy array of shape "
                f"{row.shape} and dtype {row.dtype}"
            )
        return row
    if not isinstance(row, (list, tuple)):
        raise TypeError(f"row {index} of {key!r}: expected {_ROW_TYPES}, got {type(row).__name__}: {row!r:.80}")
    for position, value in enumerate(row):
        # bool is an int in Python: item ids refuse it, side features take it as 0/1
        is_int = isinstance(value, numbers.Integral) and not (integer_only and isinstance(value, bool))
        is_real = isinstance(value, numbers.Real)
        if not (is_int or (is_real and not integer_only)):
            raise TypeError(
                f"row {index} of {key!r}: position {position} holds {value!r:.80} "
                f"({type(value).__name__}); expected {what}s"
            )
    try:
        return np.asarray(row, dtype=np.int64 if all(isinstance(v, numbers.Integral) for v in row) else np.float64)
    except OverflowError:
        raise TypeError(f"row {index} of {key!r}: a value does not fit in int64") from None


def row_of_flat_index(lengths: np.ndarray, flat_index: int) -> tuple[int, int]:
    """``(row, position)`` of element ``flat_index`` of the concatenated rows."""
    ends = np.cumsum(lengths)
    row = int(np.searchsorted(ends, flat_index, side="right"))
    start = int(ends[row] - lengths[row])
    return row, flat_index - start


def keep_most_recent(flat: np.ndarray, lengths: np.ndarray, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop the oldest items of rows longer than ``max_length`` (vectorised over the flat array).

    Example:
        >>> flat, lengths = keep_most_recent(np.array([1, 2, 3, 4, 5]), np.array([3, 2]), 2)
        >>> flat.tolist(), lengths.tolist()
        ([2, 3, 4, 5], [2, 2])
    """
    if lengths.size == 0 or lengths.max() <= max_length:
        return flat, lengths
    return keep_windows(flat, lengths, max_length, lengths - max_length)


def keep_windows(
    flat: np.ndarray, lengths: np.ndarray, max_length: int, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keep items ``[start, start + max_length)`` of each row longer than ``max_length`` (``starts``
    (B,), each within ``[0, length - max_length]``); shorter rows stay whole.

    Example:
        >>> flat, lengths = keep_windows(np.array([1, 2, 3, 4, 5, 6]), np.array([4, 2]), 2, np.array([1, 0]))
        >>> flat.tolist(), lengths.tolist()
        ([2, 3, 5, 6], [2, 2])
    """
    spare = np.maximum(lengths - max_length, 0)  # (B,)
    outside = ((starts < 0) | (starts > spare)) & (spare > 0)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise ValueError(f"row {row}: window start {int(starts[row])} outside [0, {int(spare[row])}]")
    starts = np.where(spare > 0, starts, 0)
    row_starts = np.cumsum(lengths) - lengths
    position_in_row = np.arange(flat.size) - np.repeat(row_starts, lengths)
    first = np.repeat(starts, lengths)
    keep = (position_in_row >= first) & (position_in_row < first + max_length)
    return flat[keep], np.minimum(lengths, max_length)


def scatter_padded(flat: np.ndarray, real: np.ndarray, pad_value: float) -> np.ndarray:
    """Right-pad ragged rows into a ``(B, L)`` array with one boolean scatter; ``real`` (B, L) marks
    each row's first ``length`` positions.

    Example:
        >>> real = np.arange(3) < np.array([2, 0, 1])[:, None]
        >>> scatter_padded(np.array([7, 8, 9]), real, 0).tolist()
        [[7, 8, 0], [0, 0, 0], [9, 0, 0]]
    """
    out = np.full(real.shape, pad_value, dtype=flat.dtype)
    out[real] = flat  # row-major order matches the concatenation
    return out


def all_but_last(flat: np.ndarray, lengths: np.ndarray, pad_value: float) -> np.ndarray:
    """Each row without its last item, right-padded: (B, max(length - 1, 1)).

    Example:
        >>> all_but_last(np.array([1, 2, 3, 4, 5]), np.array([3, 1, 1]), 0).tolist()
        [[1, 2], [0, 0], [0, 0]]
    """
    kept = np.maximum(lengths - 1, 0)  # (B,)
    keep = np.ones(flat.size, dtype=bool)
    keep[(np.cumsum(lengths) - 1)[lengths > 0]] = False  # each non-empty row's last item
    values = flat[keep]
    width = max(int(kept.max()) if kept.size else 0, 1)
    return scatter_padded(values, np.arange(width) < kept[:, None], pad_value)


def padded_width(longest: int, *, slot: bool, pad_to_multiple_of: int | None, max_width: int | None) -> int:
    """The width of a batch whose longest row has ``longest`` items: one more for a predict ``slot``,
    at least 1, rounded up to ``pad_to_multiple_of`` but never beyond ``max_width`` (the rounding
    would make a batch the model refuses; the rows themselves always fit).

    Example:
        >>> padded_width(5, slot=False, pad_to_multiple_of=8, max_width=None)
        8
        >>> padded_width(9, slot=False, pad_to_multiple_of=8, max_width=10)  # 16 would be too wide
        10
    """
    width = max(longest + int(slot), 1)
    if pad_to_multiple_of is not None:
        rounded = -(-width // pad_to_multiple_of) * pad_to_multiple_of
        width = max(width, min(rounded, max_width)) if max_width is not None else rounded
    return width


def fill_slot_with_last(values: torch.Tensor, slot: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``values`` (B, L) with each row's predict ``slot`` (B, L) bool set to the row's value at its last
    item (``lengths`` (B,)): what a context feature (the user's country) holds at the slot.

    Example:
        >>> values, slot = torch.tensor([[4, 4, 0, 0], [7, 0, 0, 0]]), torch.tensor([[0, 0, 1, 0], [0, 1, 0, 0]]).bool()
        >>> fill_slot_with_last(values, slot, torch.tensor([2, 1])).tolist()
        [[4, 4, 4, 0], [7, 7, 0, 0]]
    """
    last = values.gather(1, (lengths - 1).clamp_min(0)[:, None])  # (B, 1)
    return torch.where(slot, last, values)  # (B, L)


_INT64 = np.iinfo(np.int64)


def fits_int64(value: float) -> bool:
    """Whether ``value`` is an integer that int64 holds (2.0 is, 0.5 and 1e20 are not).

    Example:
        >>> fits_int64(2.0), fits_int64(0.5), fits_int64(1e20), fits_int64(-3)
        (True, False, False, True)
    """
    if isinstance(value, (int, np.integer)):
        return bool(_INT64.min <= value <= _INT64.max)
    return float(value).is_integer() and _INT64.min <= value < 2.0**63


def feature_values(values: np.ndarray, *, key: str, pad_value: float) -> np.ndarray:
    """A side feature's flat values, checked against its pad value: integer values need an integer
    pad value (0.5 would be cut to 0, 1e20 overflow); a batch with no value at all takes float32 then.

    Raises:
        ValueError: integer values and a pad value that is not an int64 integer (names both).
    """
    if values.dtype.kind != "i" or fits_int64(pad_value):
        return values
    if values.size == 0:  # no value says the feature is integer: keep the pad value as it is
        return values.astype(np.float32)
    raise ValueError(
        f"Invalid side_feature_pad_value={pad_value!r} for side feature {key!r}: its values are integers, so "
        f"the pad value must be an integer int64 holds (or give {key!r} as floats)"
    )


@dataclass
class PaddedBatch:
    """The padded inputs shared by every scheme, before masking.

    ``items``: (B, L) long, original item ids right-padded with the pad id (the predict slot too).
    ``real``: (B, L) bool, the user's items. ``lengths``: (B,) long, items per row after the history limit.
    ``slot``: (B, L) bool, the appended prediction slot (predict mode only).
    ``side_features``: name -> (B, L) int64 or float32, padded with the pad value.
    ``passthrough``: the other example keys, batched by ``default_collate``.
    ``seen``: (B, H) long or None, each row's items before its last one, the whole stored row (eval).
    ``truncated_rows``, ``truncated_items``: what the history limit cut from this batch.
    """

    items: torch.Tensor
    real: torch.Tensor
    lengths: torch.Tensor
    slot: torch.Tensor
    side_features: dict[str, torch.Tensor]
    passthrough: dict[str, Any]
    seen: torch.Tensor | None = None
    truncated_rows: int = 0
    truncated_items: int = 0


def pad_examples(
    features: Sequence[Mapping[str, Any]],
    *,
    input_key: str,
    side_feature_keys: Sequence[str],
    pad_token_id: int,
    side_feature_pad_value: float,
    history_limit: int | None,
    slot: bool,
    pad_to_multiple_of: int | None,
    max_width: int | None,
    emit_seen: bool,
    check_ids: Callable[[np.ndarray, np.ndarray], None],
    output_keys: Collection[str],
    window_starts: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PaddedBatch:
    """Read, check, truncate and right-pad a batch of examples (the collators' whole padding step).

    Each row keeps its ``history_limit`` most recent items (side features alike), or with
    ``window_starts(lengths) -> starts`` (B,) the ``history_limit`` items from each row's start on (a
    training window anywhere in a long row: :func:`keep_windows`); ``slot`` appends a
    position after each non-empty row's last item; the width follows :func:`padded_width`.
    ``check_ids(flat, lengths)`` refuses bad item ids; ``emit_seen`` also returns each row's items
    before its last one, before truncation; other example keys pass through (none may be one of
    ``output_keys``).

    Raises:
        TypeError, ValueError: a malformed batch, naming the row, the key and the value.

    Example:
        >>> padded = pad_examples([{"input_ids": [5, 6, 7], "user": 3}, {"input_ids": [8], "user": 4}],
        ...     input_key="input_ids", side_feature_keys=(), pad_token_id=0, side_feature_pad_value=0,
        ...     history_limit=2, slot=False, pad_to_multiple_of=None, max_width=None, emit_seen=False,
        ...     check_ids=lambda flat, lengths: None, output_keys=())
        >>> padded.items.tolist(), padded.passthrough["user"].tolist(), padded.truncated_items
        ([[6, 7], [8, 0]], [3, 4], 1)
    """
    if isinstance(features, Mapping) or not isinstance(features, Sequence):
        raise TypeError(f"features must be a list of example dicts, got {type(features).__name__}")
    if len(features) == 0:
        raise ValueError("empty batch: features holds no example")
    flat, lengths = flatten_id_rows(column(features, input_key), key=input_key)
    check_ids(flat, lengths)
    seen = torch.from_numpy(all_but_last(flat, lengths, pad_token_id)) if emit_seen else None  # before truncation
    side_flat = {
        key: _side_feature(features, key, lengths, input_key=input_key, pad_value=side_feature_pad_value)
        for key in side_feature_keys
    }
    truncated_rows = truncated_items = 0
    if history_limit is not None and lengths.size and lengths.max() > history_limit:
        over = lengths > history_limit
        truncated_rows, truncated_items = int(over.sum()), int((lengths[over] - history_limit).sum())
        original_lengths = lengths
        starts = original_lengths - history_limit if window_starts is None else window_starts(original_lengths)
        flat, lengths = keep_windows(flat, original_lengths, history_limit, starts)
        side_flat = {k: keep_windows(v, original_lengths, history_limit, starts)[0] for k, v in side_flat.items()}

    longest = int(lengths.max()) if lengths.size else 0
    width = padded_width(longest, slot=slot, pad_to_multiple_of=pad_to_multiple_of, max_width=max_width)
    # Masks in numpy (cheaper than torch for small batches), shared by every padded column.
    positions = np.arange(width)  # (L,)
    real = positions < lengths[:, None]  # (B, L)
    slot_mask = (positions == lengths[:, None]) & (lengths > 0)[:, None] if slot else np.zeros_like(real)
    items = torch.from_numpy(scatter_padded(flat, real, pad_token_id))  # (B, L)
    side = {
        key: torch.from_numpy(scatter_padded(values, real, side_feature_pad_value))  # (B, L)
        for key, values in side_flat.items()
    }
    passthrough = collate_passthrough(features, skip={input_key, *side_feature_keys}, output_keys=output_keys)
    return PaddedBatch(
        items,
        torch.from_numpy(real),
        torch.from_numpy(lengths),
        torch.from_numpy(slot_mask),
        side,
        passthrough,
        seen,
        truncated_rows,
        truncated_items,
    )


def _side_feature(
    features: Sequence[Mapping[str, Any]], key: str, lengths: np.ndarray, *, input_key: str, pad_value: float
) -> np.ndarray:
    """The flat values of side feature ``key``: one per item of each row (else the row is named)."""
    values, value_lengths = flatten_feature_rows(column(features, key), key=key)
    mismatch = np.flatnonzero(value_lengths != lengths)
    if mismatch.size:
        row = int(mismatch[0])
        raise ValueError(
            f"row {row}: side feature {key!r} has {int(value_lengths[row])} values but "
            f"{input_key!r} has {int(lengths[row])} items"
        )
    return feature_values(values, key=key, pad_value=pad_value)


def column(features: Sequence[Mapping[str, Any]], key: str) -> list:
    """``[example[key] for example in features]``; a row that is not a dict or lacks ``key`` is named.

    Example:
        >>> column([{"a": 1}, {"b": 2}], "a")
        Traceback (most recent call last):
        ...
        ValueError: row 1 has no key 'a'; its keys are ['b']
    """
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


def collate_passthrough(
    features: Sequence[Mapping[str, Any]], *, skip: Collection[str], output_keys: Collection[str]
) -> dict[str, Any]:
    """The example keys outside ``skip`` (user ids, ...), each batched by ``default_collate``.

    Raises:
        ValueError: rows with other keys than row 0, or a key among ``output_keys``.
        TypeError: a key that ``default_collate`` cannot batch.
    """
    keys = features[0].keys()
    # Same number of keys in every row (one C-level len per row); a row that swaps a key of row 0 for
    # another is caught below, where every row-0 key is read from every row.
    if len(set(map(len, features))) != 1:
        row = next(i for i, example in enumerate(features) if example.keys() != keys)
        extra, missing = sorted(map(str, features[row].keys() - keys)), sorted(map(str, keys - features[row].keys()))
        raise ValueError(
            f"row {row} has other keys than row 0 (extra {extra}, missing {missing}); every example of a batch "
            "must have the same keys"
        )
    passthrough = {}
    for key in keys:
        if key in skip:
            continue
        if key in output_keys:
            raise ValueError(
                f"example key {key!r} collides with an output key of the collator; drop or rename that column"
            )
        values = column(features, key)  # a missing key is named as such, not as unbatchable
        try:
            passthrough[key] = default_collate(values)
        except (RuntimeError, TypeError, ValueError) as error:
            raise TypeError(
                f"per-row field {key!r} could not be batched ({error}); list it in side_feature_keys if it is "
                f"per-item, or remove it"
            ) from None
    return passthrough
