"""The splits' side features fitted and encoded a column at a time with Arrow.

The same vocabularies, statistics, values and counts as :meth:`FeatureSpec.fit` and
:meth:`FeatureSpec.encode` give row by row (``tests/data/test_feature_arrays.py`` holds them equal on
random data), without a Python call per value: on ML-1M's seven MovieLens features (~3M positions
over the three splits) the row-by-row path spent most of the data preparation here. The per-row
methods stay for single histories (``encode_example``, serving).

The raw values are what :func:`~hf_seqmask.data.table_features.attach_features` and the time
features write: text (categorical; ``None`` missing), lists of text (multi), floats (continuous).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .feature_tables import FIRST_ID, NUMERIC_KINDS, UNKNOWN_ID, FeatureColumn, FeatureSpec


def fit_table(spec: FeatureSpec, train: pa.Table) -> None:
    """Fit every vocabulary and statistic of ``spec`` on the training split's raw feature columns."""
    spec.start_fit()
    for column in spec.columns:
        values = _positions(train.column(column.name))[1]
        if column.kind in NUMERIC_KINDS:
            numbers = _numbers(values)
            column.fit_statistics(numbers[~np.isnan(numbers)])
            continue
        if column.kind == "multi":
            values = values.flatten()  # the members (a missing list has none)
        counts = pc.value_counts(_texts(values).drop_null())
        column.fit_vocabulary(
            Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)))
        )


def encode_table(spec: FeatureSpec, table: pa.Table, split: str) -> pa.Table:
    """``table`` with every raw feature column of ``spec`` replaced by its encoded values (int64 ids,
    bitmasks or buckets, float64 normalised values); missing and unknown values counted under ``split``."""
    for column in spec.columns:
        offsets, values = _positions(table.column(column.name))
        if column.kind == "categorical":
            encoded, missing, unknown = _categorical(column, values)
        elif column.kind == "multi":
            encoded, missing, unknown = _multi(column, values)
        else:
            numbers = _numbers(values)
            absent = np.isnan(numbers)
            missing, unknown = int(absent.sum()), 0
            if column.kind == "buckets":
                encoded = np.where(absent, UNKNOWN_ID, column.bucket_ids(np.where(absent, 0.0, numbers)))
            else:
                encoded = np.where(absent, 0.0, (numbers - column.mean) / column.std)
        tally = spec.counts.setdefault(split, {}).setdefault(column.name, {"missing": 0, "unknown": 0})
        tally["missing"] += missing
        tally["unknown"] += unknown
        rows = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(encoded))
        table = table.set_column(table.schema.get_field_index(column.name), column.name, rows)
    return table


def _positions(rows: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """A list column as (offsets from 0, the per-position values)."""
    lists = rows.combine_chunks()
    offsets = np.asarray(lists.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    return offsets - offsets[0], lists.flatten()


def _texts(values: pa.Array) -> pa.Array:
    """Values as text, as ``str(value)`` writes them (integers and text cast by Arrow, others in Python)."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_integer(values.type) or pa.types.is_null(values.type):
        return pc.cast(values, pa.string())
    return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def _numbers(values: pa.Array) -> np.ndarray:
    """float64 values, NaN where missing."""
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _categorical(column: FeatureColumn, values: pa.Array) -> tuple[np.ndarray, int, int]:
    index = pc.index_in(_texts(values), value_set=pa.array(column.values, pa.string()))
    encoded = pc.fill_null(pc.add(index, FIRST_ID), UNKNOWN_ID).to_numpy(zero_copy_only=False).astype(np.int64)
    missing = values.null_count
    return encoded, missing, index.null_count - missing


def _multi(column: FeatureColumn, lists: pa.Array) -> tuple[np.ndarray, int, int]:
    """One bitmask per position: bit ``1 + j`` for value ``j``, bit 0 for an unknown member, an empty
    list or a missing one."""
    count = len(lists)
    member_offsets = np.asarray(lists.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    lengths = np.diff(member_offsets)
    index = pc.index_in(_texts(lists.flatten()), value_set=pa.array(column.values, pa.string()))
    known = ~np.asarray(index.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    shifts = np.where(known, index.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) + 1, 0)
    owner = np.repeat(np.arange(count), lengths)
    encoded = np.zeros(count, dtype=np.int64)
    np.bitwise_or.at(encoded, owner, np.left_shift(np.int64(1), shifts))
    missing_rows = np.asarray(lists.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    encoded[encoded == 0] = 1  # an empty or missing list
    unknown_rows = np.bincount(owner[~known], minlength=count) > 0
    unknown_rows |= (lengths == 0) & ~missing_rows
    return encoded, int(missing_rows.sum()), int(unknown_rows.sum())
