"""Data larger than memory: interactions in local Parquet / JSONL files, streamed into sequences.

The files are read with ``datasets``' streaming loaders. Interactions must arrive grouped by user
(e.g. sorted by user, then time, as most exports are): consecutive rows of one user form one
sequence, so memory holds one user at a time. Each file is a shard: DataLoader workers and
distributed ranks (``datasets.distributed.split_dataset_by_node``) each get their own files, so every
sequence is seen once per epoch. A user's rows must not span two files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

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
    side_columns: Sequence[str] = (),
    unknown: str = "drop",
) -> IterableDataset:
    """Streamed ``{user_column, "input_ids", *side_columns}`` rows, one per user, from interaction files
    grouped by user. Items outside ``vocabulary`` are dropped (``unknown="drop"``, with their side
    values) or raise (``"error"``)."""
    if unknown not in ("drop", "error"):
        raise ValueError(f"Invalid unknown={unknown!r}; must be 'drop' or 'error'")
    files = [str(f) for f in files]
    _file_format(files)  # validates the file types up front

    def generate(shards: list[str]) -> Iterator[dict]:
        for shard in shards:
            yield from _group(_read_rows(shard), vocabulary, user_column, item_column, side_columns, unknown)

    return IterableDataset.from_generator(generate, gen_kwargs={"shards": files})


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


def _group(rows, vocabulary, user_column, item_column, side_columns, unknown) -> Iterator[dict]:
    current, items, sides = None, [], {c: [] for c in side_columns}
    seen_users = set()
    for row in rows:
        user = row[user_column]
        if user != current:
            if current is not None:
                yield _sequence(current, items, sides, user_column)
            if user in seen_users:
                raise ValueError(f"user {user!r} appears in two separate runs of rows: group the file by user")
            seen_users.add(user)
            current, items, sides = user, [], {c: [] for c in side_columns}
        if row[item_column] not in vocabulary:
            if unknown == "error":
                raise KeyError(f"item {row[item_column]!r} of user {user!r} is not in the vocabulary")
            continue
        items.append(vocabulary.encode([row[item_column]])[0])
        for column in side_columns:
            sides[column].append(row[column])
    if current is not None:
        yield _sequence(current, items, sides, user_column)


def _sequence(user, items, sides, user_column) -> dict:
    return {user_column: user, "input_ids": items, **sides}
