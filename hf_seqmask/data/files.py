"""Your own interactions from files: CSV / TSV, Parquet or JSON lines, one file or a list of shards.

Every error names the file (or files) and the column: a missing file, a missing column, an empty
result, rows without a user, item or time.
"""

from __future__ import annotations

import csv
import glob
import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import Dataset, load_dataset

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json"}


def interaction_files(spec: str | Sequence[str]) -> list[Path]:
    """The files of ``spec``: a path, a glob, or several of them (a list, or comma-separated).

    Example:
        >>> interaction_files("missing.csv")
        Traceback (most recent call last):
        ...
        FileNotFoundError: interactions file 'missing.csv' does not exist
    """
    parts = [p.strip() for p in spec.split(",")] if isinstance(spec, str) else [str(p) for p in spec]
    files: list[Path] = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            matches = sorted(glob.glob(part))
            if not matches:
                raise FileNotFoundError(f"no interactions file matches {part!r}")
            files.extend(Path(m) for m in matches)
        elif not Path(part).is_file():
            raise FileNotFoundError(f"interactions file {part!r} does not exist")
        else:
            files.append(Path(part))
    kinds = {FORMATS.get(f.suffix.lower()) for f in files}
    if None in kinds:
        bad = next(f for f in files if f.suffix.lower() not in FORMATS)
        raise ValueError(f"interactions file '{bad}': unknown format {bad.suffix!r}; use one of {sorted(FORMATS)}")
    if len(kinds) > 1:
        raise ValueError(f"interactions files mix formats ({sorted(map(str, kinds))}): {[str(f) for f in files]}")
    return files


def read_table(
    spec: str | Sequence[str], *, columns: Sequence[str] | None = None, what: str = "interactions"
) -> Dataset:
    """The rows of ``spec`` (see :func:`interaction_files`) as a ``Dataset`` of ``columns`` (default: all
    of the first file's), missing values kept; ``what`` names the files in errors ("item table").

    Raises:
        FileNotFoundError: a file is missing. ValueError: a column is missing (naming the file and
        the columns it has), or there is no row at all.
    """
    files = interaction_files(spec)
    kind = FORMATS[files[0].suffix.lower()]
    options = {"delimiter": "\t"} if files[0].suffix.lower() == ".tsv" else {}
    names = [str(f) for f in files]
    columns = list(columns) if columns is not None else _columns_of(files[0])
    check_columns(files, columns, what)
    try:
        rows = load_dataset(kind, data_files=names, split="train", **options).select_columns(columns)
    except ValueError as error:  # datasets refuses files without rows: "... corresponds to no data!"
        if "no data" not in str(error):
            raise
        rows = None
    if rows is None or rows.num_rows == 0:
        raise ValueError(f"{what} files {names} hold no rows")
    return rows


def check_columns(files: Sequence[Path], columns: Sequence[str], what: str = "interactions") -> None:
    """Raise a ``ValueError`` naming the first file without one of ``columns`` (and the columns it has)."""
    for file in files:  # check each shard's columns, so the error names the shard
        found = _columns_of(file)
        missing = [c for c in columns if c not in found]
        if missing:
            raise ValueError(f"{what} file '{file}' has no column {missing[0]!r}; its columns are {found}")


def load_interactions(spec: str | Sequence[str], *, columns: Sequence[str], optional: Sequence[str] = ()) -> Dataset:
    """The interactions of ``spec`` (see :func:`interaction_files`) as a ``Dataset`` of ``columns``
    (then ``optional``: read too, but they may have missing values).

    Raises:
        FileNotFoundError: a file is missing. ValueError: a column is missing (naming the file and
        the columns it has), a required column has empty values, or there is no row at all.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "clicks.csv")
        >>> _ = open(path, "w").write("user,item,time\\nu1,a,1\\nu1,b,2\\n")
        >>> load_interactions(path, columns=["user", "item", "time"]).num_rows
        2
    """
    names = [str(f) for f in interaction_files(spec)]
    interactions = read_table(spec, columns=list(dict.fromkeys([*columns, *optional])))
    table = interactions.with_format("arrow")[:]
    for column in columns:
        nulls = table.column(column).null_count
        if nulls:
            first = int(pc.index(pc.is_null(table.column(column)), True).as_py())
            raise ValueError(
                f"interactions files {names}: {nulls} rows have no value in column {column!r} "
                f"(the first is row {first})"
            )
    return interactions


def _columns_of(file: Path) -> list[str]:
    """The column names of one file, read from its header (CSV), schema (Parquet) or first line (JSON)."""
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return list(pq.read_schema(file).names)
    with open(file, newline="") as handle:
        if suffix in (".csv", ".tsv"):
            return next(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","), [])
        first = handle.readline().strip()
        return list(json.loads(first)) if first else []
