"""Ragged per-example sequences -> one flat array + lengths -> a right-padded matrix.

The fast path is the floor of DESIGN.md: one ``np.fromiter`` over every item of the batch and one
boolean scatter into the padded array; no per-row array or tensor is built for list inputs.
Errors are found on a slow per-row pass that runs only after the fast path failed, so they can
name the row, the position and the bad value.
"""

from __future__ import annotations

import array
import collections
import numbers
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

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
    starts = np.cumsum(lengths) - lengths
    position_in_row = np.arange(flat.size) - np.repeat(starts, lengths)
    keep = position_in_row >= np.repeat(lengths - max_length, lengths)
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
