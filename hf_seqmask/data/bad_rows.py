"""Corrupt interaction rows: found by kind, named by file, column and row, and -- on request -- left out
and counted.

The main job's policy, ``--bad-rows``: ``error`` (the default) stops at the first bad row with an error
that names the file, the column, the row (a CSV line: its line number) and the value, and counts the bad
rows of each kind found; ``skip`` leaves every bad row out, prints how many of each kind and records
the counts in metrics.json (``bad_rows``). Never silent.

The kinds (:data:`FIELDS`, then one per column):

- ``wrong number of fields``: a CSV / TSV line with more or fewer fields than its header;
- ``empty '<column>'``: no user, item, time (or session) value -- empty, ``NA``, ``NaN``, ``null``;
- ``'<time column>' not a time``: in a column of times written as numbers, a value that is not a
  number; in one of ISO 8601 dates, a value that is not one (e.g. ``noon``, ``12:3O``).

A user or item id cannot be told corrupt from its value (any text is an id); such rows are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from datasets import Dataset

from .files import FORMATS, check_columns, interaction_files, read_table

POLICIES = ("error", "skip")
FIELDS = "wrong number of fields"
# A time written as a number, as pyarrow casts text to float64 (no spaces).
NUMBER = r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"


@dataclass
class BadRows:
    """What :func:`read_interactions` found: the rows read, and per kind the count and the first one."""

    policy: str = "error"
    rows_read: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)  # kind -> "file, row N: 'value'"

    @property
    def skipped(self) -> int:
        return sum(self.counts.values())

    def add(self, kind: str, count: int, where: str) -> None:
        if count:
            self.counts[kind] = self.counts.get(kind, 0) + count
            self.first.setdefault(kind, where)

    def summary(self) -> dict[str, Any]:
        """The record in metrics.json."""
        return {
            "policy": self.policy,
            "rows_read": self.rows_read,
            "rows_skipped": self.skipped if self.policy == "skip" else 0,
            "by_kind": dict(self.counts),
            "first": dict(self.first),
        }

    def describe(self) -> str:
        """One line: the rows left out, by kind, each with its first occurrence."""
        kinds = "; ".join(f"{count:,} {kind} (first: {self.first[kind]})" for kind, count in self.counts.items())
        return f"--bad-rows skip: left out {self.skipped:,} of {self.rows_read:,} interaction rows: {kinds}"


def read_interactions(
    spec: str | Sequence[str],
    *,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    time_column: str | None = None,
    bad_rows: str = "error",
) -> tuple[Dataset, BadRows]:
    """The interactions of ``spec`` (see :func:`~hf_seqmask.data.files.interaction_files`) as a
    ``Dataset`` of ``columns`` (which must hold a value) and ``optional``, with what was found wrong.

    ``bad_rows="error"`` raises a ``ValueError`` at the first bad row (see the module); ``"skip"``
    leaves the bad rows out and returns their counts. CSV / TSV files are read by pandas (through
    ``datasets``) under ``"error"``, by pyarrow's reader line by line under ``"skip"`` (pyarrow tells
    lines of a wrong width apart; the columns get the same types as pandas gives a clean file).
    """
    if bad_rows not in POLICIES:
        raise ValueError(f"Invalid bad_rows={bad_rows!r}; must be one of {POLICIES}")
    files = interaction_files(spec)
    wanted = list(dict.fromkeys([*columns, *optional]))
    report = BadRows(bad_rows)
    csv = FORMATS[files[0].suffix.lower()] == "csv"
    if bad_rows == "skip" and csv:
        check_columns(files, wanted)
        widths: list[list[int]] = [[] for _ in files]  # per file: the data rows of a wrong width
        parts = [_read_csv(file, wanted, time_column, report, rows) for file, rows in zip(files, widths, strict=True)]
        skipped: list[list[int]] | None = widths
        table, sizes = pa.concat_tables(parts, promote_options="permissive"), [part.num_rows for part in parts]
    else:
        try:
            table = read_table(spec, columns=wanted).with_format("arrow")[:]
        except Exception as error:  # pandas refused a line (a wrong number of fields): name it
            if csv and not isinstance(error, (ValueError, OSError)):  # (those name the file and column)
                _raise_first_wrong_width(files, wanted, time_column, error)
            raise
        sizes, skipped = None, None
    report.rows_read = table.num_rows + report.counts.get(FIELDS, 0)
    if table.num_rows == 0:
        names = [str(f) for f in files]
        raise ValueError(
            f"interactions files {names} hold no rows" + (f" ({report.describe()})" if report.counts else "")
        )
    bad = _bad_rows(table, columns, time_column)
    if bad_rows == "error" and bad:
        if csv:
            _raise_first_wrong_width(files, wanted, time_column, None)  # a short line reads as empty values
        _count(bad, table, files, (sizes, skipped), report)
        kind = min(bad, key=lambda name: bad[name][0])
        others = ", ".join(f"{count:,} {name}" for name, count in report.counts.items())
        raise ValueError(
            f"interactions {report.first[kind]}: a bad row ({kind}); bad rows found: {others}. Fix them, or pass "
            "--bad-rows skip to leave them out"
        )
    if bad:
        _count(bad, table, files, (sizes, skipped), report)
        keep = np.ones(table.num_rows, bool)
        for rows in bad.values():
            keep[rows] = False
        table = table.filter(pa.array(keep))
    if table.num_rows == 0:
        raise ValueError(f"interactions files {[str(f) for f in files]} hold bad rows only ({report.describe()})")
    if time_column is not None and bad_rows == "skip":
        table = _times_typed(table, time_column)
    return Dataset(table), report


def _read_csv(
    file: Path, columns: list[str], time_column: str | None, report: BadRows, skipped: list[int] | None = None
) -> pa.Table:
    """One CSV / TSV file by pyarrow, lines of a wrong width counted and left out (their data rows
    appended to ``skipped``); the time column as text (typed once its bad values are out: :func:`_times_typed`)."""

    def wrong_width(row: Any) -> str:
        text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
        where = f"file '{file}', line {row.number}"
        report.add(FIELDS, 1, f"{where}: {row.actual_columns} fields, not {row.expected_columns}: {text!r}")
        if skipped is not None:
            skipped.append(row.number - 2)  # (line 1: the header)
        return "skip"

    types = {time_column: pa.string()} if time_column else {}
    return pcsv.read_csv(
        file,
        read_options=pcsv.ReadOptions(use_threads=False),  # (line numbers are known on one thread only)
        parse_options=pcsv.ParseOptions(
            delimiter="\t" if file.suffix.lower() == ".tsv" else ",", invalid_row_handler=wrong_width
        ),
        convert_options=pcsv.ConvertOptions(include_columns=columns, column_types=types, strings_can_be_null=True),
    )


def _raise_first_wrong_width(files: list[Path], columns: list[str], time_column: str | None, cause: Any) -> None:
    """Raise naming the first line of a wrong width in ``files``, if any (pandas names none, nor the file)."""
    for file in files:
        found = BadRows()
        _read_csv(file, columns, time_column, found)
        if found.counts:
            raise ValueError(
                f"interactions {found.first[FIELDS]}: a bad row ({FIELDS}); bad rows found: {found.counts[FIELDS]:,} "
                f"{FIELDS} in this file. Fix them, or pass --bad-rows skip to leave them out"
            ) from cause


def _bad_rows(table: pa.Table, columns: Sequence[str], time_column: str | None) -> dict[str, np.ndarray]:
    """Kind -> the indices of its bad rows (kinds without any left out)."""
    masks = {f"empty {column!r}": pc.is_null(table.column(column), nan_is_null=True) for column in columns}
    if time_column is not None:
        masks[f"{time_column!r} not a time"] = _not_times(table.column(time_column))
    found = {}
    for kind, mask in masks.items():
        if mask is not None:
            rows = np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)))
            if len(rows):
                found[kind] = rows
    return found


def _count(
    bad: dict[str, np.ndarray],
    table: pa.Table,
    files: list[Path],
    where: tuple[list[int] | None, list[list[int]] | None],
    report: BadRows,
) -> None:
    """Count each kind into ``report``, with its first row: file, row, column and value."""
    for kind, rows in bad.items():
        column = kind.split("'")[1]
        first = f"{_where(int(rows[0]), files, *where)}, column {column!r}"
        if not kind.startswith("empty"):
            first += f": {table.column(column)[int(rows[0])].as_py()!r}"
        report.add(kind, len(rows), first)


def _not_times(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Which values of a time column written as text are not times, as the bulk of the column reads:
    numbers where most values are numbers, ISO 8601 dates where most are dates (``None``: not text)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    present = pc.is_valid(column)
    numbers = pc.match_substring_regex(column, NUMBER)
    if 2 * pc.sum(pc.and_(numbers, present)).as_py() >= pc.sum(present).as_py():
        return pc.and_(present, pc.invert(numbers))
    dates = pd.to_datetime(column.to_pandas(), format="ISO8601", errors="coerce", utc=True)
    return pc.and_(present, pa.chunked_array([pa.array(dates.isna().to_numpy())]))


def _times_typed(table: pa.Table, time_column: str) -> pa.Table:
    """The time column as pandas types a clean file's: integers, else floats, else text (dates)."""
    column = table.column(time_column)
    for target in (pa.int64(), pa.float64()):
        try:
            typed = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return table.set_column(table.schema.get_field_index(time_column), time_column, typed)
    return table


def _where(row: int, files: list[Path], sizes: list[int] | None, skipped: list[list[int]] | None) -> str:
    """``file 'x.csv', row N`` (N counts that file's data rows from 0, those of a wrong width included)
    for a row of the files read together (``skipped``: the rows of a wrong width left out of each)."""
    if sizes is None:
        sizes = [_rows_in(file) for file in files] if len(files) > 1 else [row + 1]
    for index, (file, size) in enumerate(zip(files, sizes, strict=False)):
        if row < size:
            for left_out in sorted(skipped[index]) if skipped else ():
                row += left_out <= row
            return f"file '{file}', row {row}"
        row -= size
    return f"files {[str(f) for f in files]}, row {row}"


def _rows_in(file: Path) -> int:
    """The rows of one file, as ``datasets`` reads them (for naming the file of a row)."""
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(file).metadata.num_rows
    if suffix in (".json", ".jsonl"):
        with open(file) as handle:
            return sum(1 for line in handle if line.strip() and json.loads(line) is not None)
    return pcsv.read_csv(file, parse_options=pcsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")).num_rows
