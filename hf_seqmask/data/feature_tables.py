"""Side features from your own tables: an item attribute table, a user attribute table, columns of the
interactions themselves and time features derived from the timestamps (MovieLens' ``--side-features``
is a preset of these: :mod:`hf_seqmask.data.side_features`).

Every feature becomes one value per position of a sequence, in a column beside ``input_ids``, so the
splits cut it with the items and the collators pad it and hide it with its item (user attributes
excepted: below). Three kinds:

===============  ============================================  ====================================
kind             values in the files                           per position
===============  ============================================  ====================================
``categorical``  strings or integers                           id: 0 padding/hidden, 1 unknown or
                                                               missing, 2.. the training values
``multi``        a list, or a string split at ``delimiter``    bitmask: bit 0 unknown or missing,
                                                               bits 1..62 the training values
``continuous``   numbers                                       ``(x - mean) / std`` of the training
                                                               split; missing -> 0.0 (the mean)
``buckets``      numbers                                       id of the value's bucket: 0 padding/
                                                               hidden, 1 missing, 2.. buckets between
                                                               training quantiles (``buckets`` each)
===============  ============================================  ====================================

Kinds are inferred (a list column: ``multi``; floats: ``continuous``; anything else: ``categorical``)
unless given (``buckets`` only when asked: a number embedded by its quantile bucket, like a category,
where ``continuous`` enters through a learned projection of its normalised value). Every vocabulary
(with its counts) and every statistic is fitted on the training split only (:meth:`FeatureSpec.fit`);
values first seen later map to "unknown" (``hour`` and ``weekday`` have all their 24 and 7 values).
Missing and unknown values are counted per split in :attr:`FeatureSpec.counts`. A multi-valued
feature keeps its 62 most frequent training values (a bitmask in int64 with bit 0 reserved); the rest
are "unknown".

User attributes repeat at every position of the user's sequence and are context features
(:attr:`FeatureSpec.context`): they describe the user, not the target, so they are never hidden.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import read_table

KINDS = ("categorical", "multi", "continuous", "buckets")
NUMERIC_KINDS = ("continuous", "buckets")
DEFAULT_BUCKETS = 10
TIME_FEATURES = ("hour", "weekday", "gap")
FEATURE_SPEC_FILE = "feature_spec.json"
UNKNOWN_ID, FIRST_ID, MAX_MULTI_VALUES = 1, 2, 62
RESERVED_NAMES = ("input_ids", "user_id", "labels", "attention_mask", "mask_positions")


@dataclass
class FeatureColumn:
    """One feature: its ``source`` (item, user, interaction, time), ``kind``, and what was fitted on the
    training split: the ``values`` (id ``2 + j`` or bit ``1 + j``) with their ``value_counts``, the
    ``mean`` and ``std`` of a continuous feature, or the ``edges`` between the ``buckets`` of one."""

    name: str
    source: str
    kind: str
    values: list[str] = field(default_factory=list)
    value_counts: list[int] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0
    buckets: int = DEFAULT_BUCKETS
    edges: list[float] = field(default_factory=list)

    @property
    def cardinality(self) -> int:
        """What the model's embedding layer needs: ids (categorical), bits (multi) or 0 (continuous)."""
        if self.kind == "categorical":
            return FIRST_ID + len(self.values)
        if self.kind == "buckets":
            return FIRST_ID + len(self.edges) + 1
        return 1 + len(self.values) if self.kind == "multi" else 0

    def fit_vocabulary(self, counts: Mapping[str, int]) -> None:
        """The values by training frequency (ties by value), with their counts; ``hour`` and ``weekday``
        (time) keep all their values in order, seen in training or not; a multi-valued feature its 62
        most frequent."""
        ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
        if self.source == "time":
            ordered = [(str(v), counts.get(str(v), 0)) for v in range(24 if self.name == "hour" else 7)]
        if self.kind == "multi":
            ordered = ordered[:MAX_MULTI_VALUES]
        self.values = [value for value, _ in ordered]
        self.value_counts = [count for _, count in ordered]

    def fit_statistics(self, numbers: np.ndarray) -> None:
        """Mean and standard deviation of the training values (none: 0 and 1; a constant: std 1), and
        for ``buckets`` the edges between equal-count buckets (repeated quantiles merge)."""
        self.mean = float(numbers.mean()) if numbers.size else 0.0
        self.std = float(numbers.std()) if numbers.size and numbers.std() > 0 else 1.0
        if self.kind == "buckets":
            quantiles = np.quantile(numbers, np.linspace(0, 1, self.buckets + 1)[1:-1]) if numbers.size else []
            self.edges = sorted({float(q) for q in quantiles})

    def bucket_ids(self, numbers: np.ndarray) -> np.ndarray:
        """Numbers (not missing) -> their bucket ids (``2 + bucket``)."""
        return FIRST_ID + np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, side="right")


@dataclass
class FeatureSpec:
    """The features' kinds, vocabularies and statistics, and the raw item and user tables for look-ups
    at serving time; JSON-serialisable, saved beside the model's weights (``feature_spec.json``).

    Example:
        >>> spec = FeatureSpec([FeatureColumn("brand", "item", "categorical"),
        ...                     FeatureColumn("price", "item", "continuous")],
        ...                    item_table={"a": {"brand": "acme", "price": 2.0}, "b": {"brand": "zeta", "price": 4.0}})
        >>> spec.fit({"brand": [["acme", "zeta", "acme"]], "price": [[2.0, 4.0, None]]})
        >>> spec.cardinalities, spec.columns[1].mean
        ({'brand': 4, 'price': 0}, 3.0)
        >>> spec.encode_example({"input_ids": ["b", "a", "new"]})
        {'input_ids': ['b', 'a', 'new'], 'brand': [3, 2, 1], 'price': [1.0, -1.0, 0.0]}
    """

    columns: list[FeatureColumn]
    item_table: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_table: dict[str, dict[str, Any]] = field(default_factory=dict)
    delimiter: str = "|"
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._codebooks: dict[str, dict[str, int]] = {}  # built once per fit (not a field: not saved)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def cardinalities(self) -> dict[str, int]:
        return {column.name: column.cardinality for column in self.columns}

    @property
    def multi_hot(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.kind == "multi")

    @property
    def context(self) -> tuple[str, ...]:
        """The features that describe the user, not the item (the user table's): never hidden."""
        return tuple(column.name for column in self.columns if column.source == "user")

    def start_fit(self) -> None:
        """Forget what an earlier fit left: the counts and the code books built from the vocabularies."""
        self._codebooks, self.counts = {}, {}

    def fit(self, train: Mapping[str, Sequence[Sequence[Any]]]) -> None:
        """Fit every vocabulary and statistic on the training split's raw per-position values (the
        splits of the main job go column-wise through :func:`~hf_seqmask.data.feature_arrays.fit_table`)."""
        self.start_fit()
        for column in self.columns:
            values = [value for row in train[column.name] for value in row]
            if column.kind in NUMERIC_KINDS:
                column.fit_statistics(np.asarray([v for v in values if not _missing(v)], dtype=np.float64))
                continue
            counter: Counter[str] = Counter()
            for value in values:
                if not _missing(value):
                    counter.update(self._members(value) if column.kind == "multi" else [str(value)])
            column.fit_vocabulary(counter)

    def encode(self, raw: Mapping[str, Sequence[Any]], split: str | None = None) -> dict[str, list]:
        """One row's raw per-position values -> the model's values (see the module's table); missing and
        unknown values are counted under ``split`` when given."""
        out: dict[str, list] = {}
        for column in self.columns:
            codes = self._codebooks.get(column.name)
            if codes is None:
                codes = self._codebooks[column.name] = self._codebook(column)
            encoded, missing, unknown = [], 0, 0
            for value in raw[column.name]:
                if _missing(value):
                    missing += 1
                    encoded.append(0.0 if column.kind == "continuous" else UNKNOWN_ID)  # multi: bit 0 (= 1)
                elif column.kind == "continuous":
                    encoded.append((float(value) - column.mean) / column.std)
                elif column.kind == "buckets":
                    encoded.append(int(column.bucket_ids(np.asarray([float(value)]))[0]))
                elif column.kind == "multi":
                    bits = [codes.get(member) for member in self._members(value)]
                    unknown += any(bit is None for bit in bits) or not bits
                    encoded.append(sum({bit or 1 for bit in bits} or {1}))
                else:
                    code = codes.get(str(value))
                    unknown += code is None
                    encoded.append(code or UNKNOWN_ID)
            out[column.name] = encoded
            if split is not None:
                tally = self.counts.setdefault(split, {}).setdefault(column.name, {"missing": 0, "unknown": 0})
                tally["missing"] += missing
                tally["unknown"] += unknown
        return out

    def raw_values(self, items: Sequence[Any], user: Any = None, times: Sequence[Any] | None = None) -> dict[str, list]:
        """The raw per-position values of the item-table, user-table and time features of one history
        (an item or user missing from its table gives missing values)."""
        raw: dict[str, list] = {}
        seconds = _seconds(times) if times is not None else None
        for column in self.columns:
            if column.source == "item":
                raw[column.name] = [self.item_table.get(str(item), {}).get(column.name) for item in items]
            elif column.source == "user":
                raw[column.name] = [self.user_table.get(str(user), {}).get(column.name)] * len(items)
            elif column.source == "time":
                if seconds is None:
                    raise ValueError(f"time feature {column.name!r} needs the history's times ('timestamp')")
                raw[column.name] = time_values(column.name, seconds)
        return raw

    def encode_example(self, example: Mapping[str, Any]) -> dict[str, Any]:
        """A raw history -> ``{"input_ids": raw items, <feature>: encoded values}`` for ``model.recommend``
        (and the collators: nothing else is kept): item and user
        features looked up in the saved tables by ``input_ids`` and ``user_id`` (raw ids), time features
        from ``timestamp``, interaction features as given (raw, one per item); features already given
        raw in ``example`` win over the tables."""
        items = list(example["input_ids"])
        raw = self.raw_values(items, example.get("user_id"), example.get("timestamp") if self._needs_times else None)
        for column in self.columns:
            if column.name in example:
                raw[column.name] = list(example[column.name])
            elif column.source == "interaction":
                raise ValueError(f"interaction feature {column.name!r} is missing from the example")
        return {"input_ids": items, **self.encode(raw)}

    @property
    def _needs_times(self) -> bool:
        return any(column.source == "time" for column in self.columns)

    def _members(self, value: Any) -> list[str]:
        members = value.split(self.delimiter) if isinstance(value, str) else list(value)
        return [str(member).strip() for member in members if not _missing(member) and str(member).strip()]

    @staticmethod
    def _codebook(column: FeatureColumn) -> dict[str, int]:
        if column.kind == "multi":
            return {value: 1 << (j + 1) for j, value in enumerate(column.values)}
        return {value: FIRST_ID + j for j, value in enumerate(column.values)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        columns = [FeatureColumn(**column) for column in data["columns"]]
        return cls(**{**data, "columns": columns})

    def save_pretrained(self, directory: str | Path) -> Path:
        path = Path(directory) / FEATURE_SPEC_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> FeatureSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))


def time_values(name: str, seconds: np.ndarray) -> list:
    """``hour`` (0-23, UTC) and ``weekday`` (0 = Monday) as text categories; ``gap``:
    ``log1p`` of the seconds since the previous interaction (0 for the first)."""
    if name == "hour":
        return [str(int(s // 3600 % 24)) for s in seconds]
    if name == "weekday":
        return [str(int((s // 86400 + 3) % 7)) for s in seconds]  # 1970-01-01 was a Thursday
    gaps = np.diff(seconds, prepend=seconds[:1]) if len(seconds) else seconds
    return np.log1p(np.maximum(gaps, 0.0)).tolist()


def read_feature_table(
    path: str | pd.DataFrame, key: str, *, what: str, kinds: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """An attribute table (CSV/TSV, Parquet, JSON lines, or a pandas frame already in memory) as a frame
    indexed by ``key`` (as text), and each column's kind (``kinds`` first, else inferred). A key with
    two rows, a missing key or a non-numeric value in a continuous column raises, naming the file (a
    frame: its ``attrs["name"]``), column and row."""
    frame = path.copy() if isinstance(path, pd.DataFrame) else read_table(path, what=what).to_pandas()
    where = f"{what} '{table_name(path)}'" if isinstance(path, pd.DataFrame) else f"{what} file '{path}'"
    if key not in frame.columns:
        raise ValueError(f"{where} has no key column {key!r}; its columns are {list(frame.columns)}")
    if frame[key].isna().any():
        raise ValueError(f"{where}: row {int(frame[key].isna().to_numpy().argmax())} has no {key!r}")
    keys = frame[key].astype(str)
    repeated = keys.duplicated(keep=False).to_numpy()
    if repeated.any():
        rows = np.flatnonzero(keys.to_numpy() == keys[repeated].iloc[0])
        raise ValueError(f"{where}: key {keys[repeated].iloc[0]!r} (column {key!r}) has two rows: "
                         f"rows {rows[0]} and {rows[1]}")  # fmt: skip
    frame = frame.drop(columns=[key]).set_axis(keys.to_numpy(), axis=0)
    kinds = dict(kinds or {})
    found = {name: kinds.get(name) or infer_kind(frame[name]) for name in frame.columns}
    for name, kind in found.items():
        check_kind(name, kind)
        if kind in NUMERIC_KINDS:
            frame[name] = to_numbers(frame[name].tolist(), where, name)
    return frame, found


def table_name(table: str | pd.DataFrame) -> str:
    """A table's name in messages: its path, or an in-memory frame's ``attrs["name"]``."""
    return table if isinstance(table, str) else str(table.attrs.get("name", "in memory"))


def infer_kind(values: pd.Series) -> str:
    """``multi`` for a list column, ``continuous`` for floats, ``categorical`` otherwise."""
    first = next((v for v in values if isinstance(v, (list, tuple, np.ndarray))), None)
    if first is not None:
        return "multi"
    return "continuous" if pd.api.types.is_float_dtype(values.dtype) else "categorical"


def check_kind(name: str, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Invalid kind {kind!r} for feature {name!r}; must be one of {list(KINDS)}")


def to_numbers(values: Iterable[Any], where: str, column: str) -> list[float | None]:
    """Values -> floats (missing -> None); a non-numeric one raises, naming ``where``, column and row."""
    numbers: list[float | None] = []
    for row, value in enumerate(values):
        if _missing(value) or (isinstance(value, str) and not value.strip()):
            numbers.append(None)
            continue
        try:
            numbers.append(float(value))
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: column {column!r} is continuous but row {row} holds {value!r} (not a number)"
            ) from None
    return numbers


def parse_kinds(text: str | None) -> dict[str, str]:
    """``"tags=multi,price=buckets"`` -> ``{"tags": "multi", "price": "buckets"}``."""
    kinds: dict[str, str] = {}
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        name, _, kind = part.partition("=")
        if not kind:
            raise ValueError(f"Invalid --feature-kinds entry {part!r}; write name=kind, kind one of {list(KINDS)}")
        check_kind(name.strip(), kind.strip())
        kinds[name.strip()] = kind.strip()
    return kinds


def _seconds(times: Sequence[Any]) -> np.ndarray:
    values = list(times)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        stamps = pd.to_datetime(pd.Series(values), utc=True)
        return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)
