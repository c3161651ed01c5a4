"""Data larger than memory: interactions in local Parquet / JSONL files, streamed into sequences.

The files are read with ``datasets``' streaming loaders. Interactions must arrive grouped by user
(e.g. sorted by user, as most exports are): consecutive rows of one user form one sequence, sorted
by time, so memory holds one user at a time. Each file is a shard: DataLoader workers and
distributed ranks (``datasets.distributed.split_dataset_by_node``) each get their own files, so every
sequence is seen once per epoch. A user's rows must not span two files.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datasets import IterableDataset, load_dataset

from .vocabulary import ItemVocabulary


def stream_interactions(files: Sequence[str | Path]) -> IterableDataset:
    """A streaming dataset over Parquet or JSON-lines interaction files (one shard per file)."""
    paths = [str(f) for f in files]
    return load_dataset(_file_format(paths), data_files=paths, split="train", streaming=True)


def _file_format(paths: list[str]) -> str:
    """``"parquet"`` or ``"json"`` (JSON lines) for a list of files of one kind."""
    if not paths:
        raise ValueError("files is empty")
    suffixes = {Path(p).suffix for p in paths}
    if suffixes <= {".parquet"}:
        return "parquet"
    if suffixes <= {".jsonl", ".json"}:
        return "json"
    raise ValueError(f"files must all be .parquet or all .jsonl/.json, got suffixes {sorted(suffixes)}")


def stream_sequences(
    files: Sequence[str | Path],
    vocabulary: ItemVocabulary,
    *,
    user_column: str = "user_id",
    item_column: str = "item_id",
    time_column: str | None = "timestamp",
    side_columns: Sequence[str] = (),
    unknown: str = "drop",
) -> IterableDataset:
    """Streamed ``{user_column, "input_ids", *side_columns}`` rows, one per user, from interaction files
    grouped by user. Items outside ``vocabulary`` are dropped (``unknown="drop"``, with their side
    values) or raise (``"error"``).

    Each user's rows are sorted by ``time_column`` (stable: equal times keep file order; ``None``: file
    order), with :func:`hf_seqmask.data.group_into_sequences`' rule: numbers, and numbers written as
    text, sort as numbers ("9" < "10"); other text as ISO 8601 dates; dates and datetimes as time. A
    user whose times mix these kinds, or text that is neither, raises naming the file, row and column.
    A row without a user or a time raises, naming the file and row; so does a user whose rows
    are not contiguous, within a file or across the files one reader goes through (a user split over
    two files would otherwise become two users).
    """
    if unknown not in ("drop", "error"):
        raise ValueError(f"Invalid unknown={unknown!r}; must be 'drop' or 'error'")
    paths = [str(f) for f in files]
    _file_format(paths)  # validates the file types up front

    layout = _Layout(vocabulary, user_column, item_column, time_column, tuple(side_columns), unknown)
    # user -> its file, across every file this process reads (datasets calls ``generate`` once per file)
    seen: dict = {}

    def generate(shards: list[str]) -> Iterator[dict]:
        for shard in shards:
            yield from _group(_read_rows(shard), shard, seen, layout)

    return IterableDataset.from_generator(generate, gen_kwargs={"shards": paths})


def _read_rows(path: str) -> Iterator[dict]:
    """The rows of one file, streamed. Read directly rather than through ``load_dataset``: a streaming
    dataset iterated inside a DataLoader worker shards itself by worker again, which silently skips
    the rows of a one-file shard in every worker but the first."""
    if path.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            yield from batch.to_pylist()
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class _Layout:
    """How interaction rows become sequences: the vocabulary, the columns, what to do with unknown items."""

    vocabulary: ItemVocabulary
    user_column: str
    item_column: str
    time_column: str | None
    side_columns: tuple[str, ...]
    unknown: str


def _group(rows: Iterator[dict], path: str, seen: dict, layout: _Layout) -> Iterator[dict]:
    user_column, time_column = layout.user_column, layout.time_column
    current = None
    run: list[tuple[int, dict]] = []  # (row index in the file, row)
    here: set = set()  # the users of this pass over this file
    for index, row in enumerate(rows):
        user = row.get(user_column)
        if user is None:
            raise ValueError(f"{path}, row {index}: no {user_column!r} value (every interaction needs a user)")
        if time_column is not None and _missing(row.get(time_column)):
            raise ValueError(f"{path}, row {index}: user {user!r} has no {time_column!r} value")
        if user != current:
            if current is not None:
                yield _sequence(current, run, path, layout)
            if user in here or seen.get(user, path) != path:  # (a later epoch re-reads the same file)
                where = "earlier in this file" if user in here else f"in {seen[user]}"
                raise ValueError(
                    f"{path}, row {index}: user {user!r} already had rows {where}; a user's interactions must be "
                    "contiguous and in one file (group the files by user)"
                )
            seen[user] = path
            here.add(user)
            current, run = user, []
        run.append((index, row))
    if current is not None:
        yield _sequence(current, run, path, layout)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _time_key(value: Any, path: str, index: int, column: str) -> tuple[str, Any]:
    """``(kind, key)`` of one time value: numbers (also written as text) by value, ISO 8601 text and
    datetimes as datetimes; anything else raises, naming the file, row and column."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number", value
    if isinstance(value, str):
        try:
            return "number", float(value)  # "9" < "10", as group_into_sequences sorts them
        except ValueError:
            pass
        try:
            return "time", _naive(datetime.datetime.fromisoformat(value))
        except ValueError:
            pass
    elif isinstance(value, datetime.datetime):
        return "time", _naive(value)
    elif isinstance(value, datetime.date):
        return "time", datetime.datetime(value.year, value.month, value.day)
    raise ValueError(
        f"{path}, row {index}: {column!r} value {value!r} is not a time (a number, an ISO 8601 date as text, "
        "or a date/timestamp)"
    )


def _naive(moment: datetime.datetime) -> datetime.datetime:
    """A datetime comparable with every other: aware ones converted to UTC, then made naive."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _sorted_by_time(run: list[tuple[int, dict]], path: str, column: str) -> list[dict]:
    """One user's rows in time order (stable: ties keep file order); mixed kinds of time raise."""
    keys = [_time_key(row[column], path, index, column) for index, row in run]
    kinds = {kind for kind, _ in keys}
    if len(kinds) > 1:
        first: dict[str, int] = {}
        for (kind, _), (index, _) in zip(keys, run, strict=True):
            first.setdefault(kind, index)
        raise ValueError(
            f"{path}, rows {first['number']} and {first['time']}: {column!r} mixes numbers and dates for one user; "
            "give every time in one form"
        )
    order = sorted(range(len(run)), key=lambda i: keys[i][1])
    return [run[i][1] for i in order]


def _sequence(user: Any, run: list[tuple[int, dict]], path: str, layout: _Layout) -> dict:
    item_column, time_column = layout.item_column, layout.time_column
    rows = _sorted_by_time(run, path, time_column) if time_column is not None else [row for _, row in run]
    items: list[int] = []
    sides: dict[str, list] = {column: [] for column in layout.side_columns}
    for row in rows:
        if row[item_column] not in layout.vocabulary:
            if layout.unknown == "error":
                raise KeyError(f"item {row[item_column]!r} of user {user!r} is not in the vocabulary")
            continue
        items.append(layout.vocabulary.encode([row[item_column]])[0])
        for column in layout.side_columns:
            sides[column].append(row[column])
    return {layout.user_column: user, "input_ids": items, **sides}
