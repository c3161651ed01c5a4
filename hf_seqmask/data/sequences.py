"""Interactions -> one time-ordered sequence per user (or session) -> ids -> splits, on ``datasets``."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset, DatasetDict, IterableDataset

from .vocabulary import ItemVocabulary


def group_into_sequences(
    interactions: Dataset,
    *,
    user_column: str = "user_id",
    item_column: str = "item_id",
    time_column: str = "timestamp",
    side_columns: Sequence[str] = (),
    missing_time: str = "error",
) -> Dataset:
    """One row per user: the user's items sorted by time, with the side columns carried along.

    Tie rule: interactions with equal timestamps keep their order in ``interactions`` (a stable sort),
    so the result is the same on every run. Users come out sorted by id. Every per-item output
    column (``item_column``, ``time_column``, each side column) holds a list per user.

    Times: numbers, Arrow timestamps, or strings -- numbers written as text sort as numbers ("9" <
    "10"), ISO 8601 dates as dates; other strings raise. A missing time (None, NaN) would sort the
    interaction to an arbitrary place: ``missing_time="error"`` (default) raises naming the row,
    ``"drop"`` leaves those interactions out and warns with their count. A missing user raises.

    Example:
        >>> rows = Dataset.from_dict({"user_id": [2, 1, 2, 2], "item_id": ["a", "b", "c", "d"],
        ...                           "timestamp": [5, 1, 3, 3]})
        >>> group_into_sequences(rows).to_dict()
        {'user_id': [1, 2], 'item_id': [['b'], ['c', 'd', 'a']], 'timestamp': [[1], [3, 3, 5]]}
    """
    columns = [user_column, item_column, time_column, *side_columns]
    missing = [c for c in columns if c not in interactions.column_names]
    if missing:
        raise ValueError(f"columns {missing} not in the interactions; they have {interactions.column_names}")
    if missing_time not in ("error", "drop"):
        raise ValueError(f"Invalid missing_time={missing_time!r}; must be 'error' or 'drop'")
    table = _arrow_table(interactions.select_columns(columns))
    if table.column(user_column).null_count:
        first = int(pc.index(pc.is_null(table.column(user_column)), True).as_py())
        raise ValueError(
            f"column {user_column!r}: {table.column(user_column).null_count} rows have no user (first: row {first})"
        )
    sort_times = _sortable_times(table.column(time_column), time_column)
    missing = pc.is_null(sort_times, nan_is_null=True)
    if pc.any(missing).as_py():
        count, first = pc.sum(missing).as_py(), int(pc.index(missing, True).as_py())
        if missing_time == "error":
            raise ValueError(
                f"column {time_column!r}: {count} interactions have no time (the first is row {first}); pass "
                "missing_time='drop' to leave them out"
            )
        warnings.warn(
            f"group_into_sequences: dropped {count} interactions without a {time_column!r} value", stacklevel=2
        )
        keep = pc.invert(missing)
        table, sort_times = table.filter(keep), sort_times.filter(keep)
    users = pc.dictionary_encode(table.column(user_column)).combine_chunks()  # codes by first appearance
    user_rank = np.empty(len(users.dictionary), np.int64)
    user_rank[pc.sort_indices(users.dictionary).to_numpy()] = np.arange(len(users.dictionary))
    user_key = user_rank[users.indices.to_numpy()]  # (N,) position of each row's user in sorted order
    times = sort_times.to_numpy()
    # lexsort sorts by the last key first; the row index as the first key makes ties keep file order.
    order = np.lexsort((np.arange(table.num_rows), times, user_key))
    table = table.take(pa.array(order))
    sorted_keys = user_key[order]
    starts = np.flatnonzero(np.diff(sorted_keys, prepend=-1)) if table.num_rows else np.zeros(0, np.int64)
    offsets = pa.array(np.append(starts, table.num_rows).astype(np.int32))
    grouped = {user_column: table.column(user_column).take(pa.array(starts))}
    for column in columns[1:]:
        grouped[column] = pa.ListArray.from_arrays(offsets, table.column(column).combine_chunks())
    return Dataset(pa.table(grouped))


def _sortable_times(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """The time column in a type that sorts as time does: numbers and timestamps as they are, strings
    parsed as numbers or else as ISO 8601 dates (anything else raises, naming the column)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            return pc.cast(column, pa.int64())
        return column
    for target in (pa.float64(), pa.timestamp("ns")):
        try:
            parsed = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pc.cast(parsed, pa.int64()) if target != pa.float64() else parsed
    sample = next((v for v in column.to_pylist() if v is not None), None)
    raise TypeError(
        f"column {name!r} holds times as text that are neither numbers nor ISO 8601 dates (e.g. {sample!r}); "
        "convert it to numbers or timestamps first"
    )


def _arrow_table(dataset: Dataset) -> pa.Table:
    """The dataset's rows as one Arrow table (honouring any earlier filter or select)."""
    return dataset.with_format("arrow")[:].combine_chunks()


def encode_sequences(
    sequences: Dataset | IterableDataset,
    vocabulary: ItemVocabulary,
    *,
    item_column: str = "item_id",
    output_column: str = "input_ids",
    num_proc: int | None = None,
) -> Dataset | IterableDataset:
    """Add ``output_column``: the item ids of each row's items (every item must be in the vocabulary;
    filter rare items out of the interactions first, see :func:`keep_known_items`). Works on
    ``Dataset`` (``num_proc`` workers) and streaming ``IterableDataset`` alike."""

    def encode(batch: dict[str, list]) -> dict[str, list]:
        return {output_column: [vocabulary.encode(items) for items in batch[item_column]]}

    if isinstance(sequences, IterableDataset):
        return sequences.map(encode, batched=True)
    return sequences.map(encode, batched=True, num_proc=num_proc, desc="encode items")


def keep_known_items(interactions: Dataset, vocabulary: ItemVocabulary, *, item_column: str = "item_id") -> Dataset:
    """The interactions whose item is in the vocabulary (e.g. after its ``min_frequency`` filter),
    filtered by Arrow into a new dataset (1M rows in well under a second)."""
    table = _arrow_table(interactions)
    known = pc.is_in(table.column(item_column), value_set=pa.array(vocabulary.items))
    return Dataset(table.filter(known))


def leave_one_out(sequences: Dataset, *, per_item_columns: Sequence[str] | None = None) -> DatasetDict:
    """The standard next-item split: ``test`` = the whole sequence (its last item is the target),
    ``validation`` = all but the last item, ``train`` = all but the last two.

    ``per_item_columns`` are cut alike; by default every list column (``input_ids``, ``item_id``,
    ``timestamp``, side features), so no split keeps a later split's items in another column.
    Every user stays in every split (rows too short for a target give none; the metrics count them).

    Example:
        >>> splits = leave_one_out(Dataset.from_dict({"input_ids": [[2, 3, 4, 5]]}))
        >>> [splits[name]["input_ids"][0] for name in ("train", "validation", "test")]
        [[2, 3], [2, 3, 4], [2, 3, 4, 5]]
    """

    columns: list[str] = (
        list(per_item_columns)
        if per_item_columns is not None
        else [name for name, feature in sequences.features.items() if _is_list_feature(feature)]
    )

    def drop_last(count: int) -> Callable[[dict[str, list]], dict[str, list]]:
        def cut(batch: dict[str, list]) -> dict[str, list]:
            return {column: [values[:-count] for values in batch[column]] for column in columns}

        return cut

    return DatasetDict(
        train=sequences.map(drop_last(2), batched=True, desc="train split"),
        validation=sequences.map(drop_last(1), batched=True, desc="validation split"),
        test=sequences,
    )


def _is_list_feature(feature: Any) -> bool:
    """Whether a ``datasets`` feature holds one list per row (``Sequence``/``List``/``LargeList``)."""
    return isinstance(feature, list) or type(feature).__name__ in ("Sequence", "List", "LargeList")


def time_split(
    sessions: Dataset, *, time_column: str = "timestamp", validation_start: Any, test_start: Any
) -> DatasetDict:
    """Session split by time: a session belongs to the split in which its LAST interaction falls
    (``< validation_start``: train; ``< test_start``: validation; else test), so no training
    session reaches into the evaluation period."""
    if not validation_start <= test_start:
        raise ValueError(f"validation_start={validation_start!r} must be <= test_start={test_start!r}")
    last = np.array([times[-1] if len(times) else -np.inf for times in sessions[time_column]])
    train = np.flatnonzero(last < validation_start)
    validation = np.flatnonzero((last >= validation_start) & (last < test_start))
    test = np.flatnonzero(last >= test_start)
    return DatasetDict(train=sessions.select(train), validation=sessions.select(validation), test=sessions.select(test))
