"""The main job's general side features: item and user tables, interaction columns and time features
attached to the interactions, cut into sequences and splits with the items, then fitted on the
training split and encoded (:class:`~hf_seqmask.data.feature_tables.FeatureSpec`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from datasets import Dataset, DatasetDict

from .feature_arrays import encode_table, fit_table
from .feature_tables import (
    DEFAULT_BUCKETS,
    NUMERIC_KINDS,
    RESERVED_NAMES,
    TIME_FEATURES,
    FeatureColumn,
    FeatureSpec,
    _missing,
    _seconds,
    check_kind,
    infer_kind,
    read_feature_table,
    table_name,
    time_values,
    to_numbers,
)


@dataclass(eq=False)  # its tables may be frames, which do not compare to a bool
class FeatureSources:
    """Where the features come from: ``item_table`` (a path, or a pandas frame) keyed by ``item_key``,
    ``user_table`` keyed by ``user_key``, ``interaction`` columns of the interactions, ``time`` features
    (hour, weekday, gap), ``kinds`` (name -> kind, overriding the inferred ones), the multi-value
    ``delimiter`` and the number of ``buckets`` of a ``buckets`` feature."""

    item_table: str | pd.DataFrame | None = None
    item_key: str = "item_id"
    user_table: str | pd.DataFrame | None = None
    user_key: str = "user_id"
    interaction: tuple[str, ...] = ()
    time: tuple[str, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    delimiter: str = "|"
    buckets: int = DEFAULT_BUCKETS

    def __bool__(self) -> bool:
        return self.item_table is not None or self.user_table is not None or bool(self.interaction or self.time)


def attach_features(
    interactions: Dataset,
    sources: FeatureSources,
    *,
    where: str,
    user_column: str,
    item_column: str,
    file_rows: Sequence[int] | None = None,
) -> tuple[Dataset, FeatureSpec]:
    """Add the raw value of every item, user and interaction feature to each interaction (one column
    per feature) and return the not yet fitted spec. ``where`` names the interactions in errors, and
    ``file_rows`` (default: their position) the row of each interaction in its files.

    Raises:
        ValueError: an interaction's item (user) missing from the item (user) table, naming the file,
            the key and the interactions row; a non-numeric value in a continuous column; a feature
            name used twice or reserved; an unknown time feature.
    """
    unknown = [name for name in sources.time if name not in TIME_FEATURES]
    if unknown:
        raise ValueError(f"Invalid time feature(s) {unknown} in --time-features; choose from {list(TIME_FEATURES)}")
    table = interactions.with_format("arrow")[:]  # columns read once, as Arrow (no per-row formatting)
    columns: list[FeatureColumn] = []
    added: dict[str, list] = {}
    tables = {}
    for source, path, key, by in (
        ("item", sources.item_table, sources.item_key, item_column),
        ("user", sources.user_table, sources.user_key, user_column),
    ):
        if path is None:
            continue
        frame, kinds = read_feature_table(path, key, what=f"{source} table", kinds=sources.kinds)
        keys = [str(k) for k in table.column(by).to_pylist()]
        absent = ~pd.Index(keys).isin(frame.index)
        if absent.any():
            first = int(np.flatnonzero(absent)[0])
            row = file_rows[first] if file_rows is not None else first
            raise ValueError(
                f"{where}: {source} {keys[first]!r} (column {by!r}, row {row}) is not in the {source} table "
                f"'{table_name(path)}' "
                f"(key column {key!r}); {len(set(np.asarray(keys)[absent]))} {source}s are missing"
            )
        used = frame.loc[sorted(set(keys))].to_dict("index")
        tables[source] = {
            k: {n: _raw(v, kinds[n], sources.delimiter) for n, v in row.items()} for k, row in used.items()
        }
        for name, kind in kinds.items():
            columns.append(FeatureColumn(name, source, kind, buckets=sources.buckets))
            added[name] = [tables[source][k][name] for k in keys]
    for name in sources.interaction:
        if name not in interactions.column_names:
            raise ValueError(f"{where} has no column {name!r} (--interaction-features)")
        values = table.column(name).to_pylist()
        kind = sources.kinds.get(name) or infer_kind(pd.Series(values))
        check_kind(name, kind)
        if kind in NUMERIC_KINDS:
            values = to_numbers(values, where, name)
        columns.append(FeatureColumn(name, "interaction", kind, buckets=sources.buckets))
        added[name] = [_raw(v, kind, sources.delimiter) for v in values]
    for name in sources.time:  # the gap may be bucketed; hour and weekday are categories
        kind = sources.kinds.get(name) or ("continuous" if name == "gap" else "categorical")
        if kind not in (NUMERIC_KINDS if name == "gap" else ("categorical",)):
            raise ValueError(f"Invalid --feature-kinds {name}={kind}; the time feature {name!r} cannot be {kind}")
        columns.append(FeatureColumn(name, "time", kind, buckets=sources.buckets))
    names = [column.name for column in columns]
    repeated = sorted(
        {n for n in names if names.count(n) > 1 or n in RESERVED_NAMES or n in (user_column, item_column)}
    )
    if repeated:
        raise ValueError(f"feature name(s) {repeated} repeat or clash with the interactions' own columns; rename them")
    stray = sorted(set(sources.kinds) - set(names))
    if stray:
        raise ValueError(f"--feature-kinds names {stray}, which are not features; the features are {names}")
    table = table.drop_columns([n for n in added if n in table.column_names])
    for name, values in added.items():
        table = table.append_column(name, pa.array(values))
    spec = FeatureSpec(columns, tables.get("item", {}), tables.get("user", {}), sources.delimiter)
    return Dataset(table), spec


def add_time_features(sequences: Dataset, spec: FeatureSpec, time_column: str) -> Dataset:
    """Add each time feature of ``spec`` to grouped ``sequences`` from their ``time_column`` lists."""
    names = [column.name for column in spec.columns if column.source == "time"]
    if not names:
        return sequences

    def build(batch: dict[str, list]) -> dict[str, list]:
        seconds = [_seconds(times) for times in batch[time_column]]
        return {name: [time_values(name, row) for row in seconds] for name in names}

    return sequences.map(build, batched=True, desc="time features")


def fit_and_encode(splits: DatasetDict, spec: FeatureSpec) -> DatasetDict:
    """Fit ``spec`` on the training split, then replace every split's raw feature columns by their
    encoded values (missing and unknown values counted per split in ``spec.counts``), a column at a
    time (:mod:`~hf_seqmask.data.feature_arrays`)."""
    tables = {split: rows.with_format("arrow")[:] for split, rows in splits.items()}
    fit_table(spec, tables["train"])
    return DatasetDict({split: Dataset(encode_table(spec, table, split)) for split, table in tables.items()})


def _raw(value: object, kind: str, delimiter: str) -> object:
    """A raw value as the spec reads it: text (categorical), a list of text (multi), a float or None."""
    if _missing(value):
        return None
    if kind == "multi":
        members = value.split(delimiter) if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        return [str(m).strip() for m in members if not _missing(m) and str(m).strip()]
    if kind in NUMERIC_KINDS:
        return None if value is None else float(value)  # type: ignore[arg-type]
    return str(value)


def parse_names(text: str | Sequence[str] | None, flag: str) -> tuple[str, ...]:
    """``"price,device"`` -> ``("price", "device")``; a repeated name raises, naming ``flag``."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text or [])
    names = [n for n in names if n]
    if len(set(names)) != len(names):
        raise ValueError(f"Invalid {flag}={','.join(names)}: a name repeats")
    return tuple(names)


def describe(spec: FeatureSpec) -> str:
    """The features by source, for the job's description.

    Example:
        >>> describe(FeatureSpec([FeatureColumn("brand", "item", "categorical"),
        ...                       FeatureColumn("tags", "item", "multi"), FeatureColumn("gap", "time", "continuous")]))
        'side features: brand, tags (item), gap (time)'
    """
    sources = dict.fromkeys(column.source for column in spec.columns)
    parts = [", ".join(c.name for c in spec.columns if c.source == source) + f" ({source})" for source in sources]
    return "side features: " + ", ".join(parts)
