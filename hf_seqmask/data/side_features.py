"""Side features of each interaction, built from MovieLens' own item and user files and the timestamps.

One integer per item of a sequence, in columns beside ``input_ids``, so that the splits cut them with
the items and the collators pad and hide them with the items (a masked item's genres and year are
hidden with it). 0 is reserved for padding and hidden positions in every feature.

=============  ===============================================================  ==============
name           value                                                            kind
=============  ===============================================================  ==============
``genre``      the movie's genres, bit ``j`` for genre ``j`` (sorted names)     multi-hot
``year``       release year in 5-year buckets from 1915 (1..18); 19: unknown    categorical
``age``        the user's age group (<18, 18-24, 25-34, 35-44, 45-49, 50-55,    categorical
               56+: ML-1M's own groups) 1..7
``gender``     the user's gender, 1..n (sorted values)                          categorical
``occupation`` the user's occupation, 1..n (sorted values)                      categorical
``hour``       hour of day of the interaction (UTC) + 1                         categorical
``time_gap``   time since the user's previous interaction: 1 for the first,    categorical
               else 2 + floor(log2(1 + minutes)), at most 21
=============  ===============================================================  ==============

A multi-valued feature (``genre``) is one bitmask per item (at most 63 values): the model embeds it
as the mean of its values' embeddings (:class:`hf_seqmask.modeling.MultiHotEmbedding`), and the
collators' contract of one value per position, padding and hiding included, holds unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset

from .feature_tables import FeatureSpec

ITEM_FEATURES = ("genre", "year")
USER_FEATURES = ("age", "gender", "occupation")
TIME_FEATURES = ("hour", "time_gap")
SIDE_FEATURES = (*ITEM_FEATURES, *USER_FEATURES, *TIME_FEATURES)
AGE_GROUPS = (18, 25, 35, 45, 50, 56)  # lower bounds of ML-1M's age groups after "under 18"
YEAR_FROM, YEAR_BUCKET, YEAR_BUCKETS = 1915, 5, 18
MAX_GAP_BUCKET = 21


@dataclass
class SideFeatureSpec:
    """What the model needs: ``cardinalities`` (name -> size, 0 reserved; 0: continuous), the
    ``multi_hot`` names and the ``context`` ones (user attributes, never hidden); ``features``: the
    general features' fitted spec (saved with the model), if any."""

    cardinalities: dict[str, int] = field(default_factory=dict)
    multi_hot: tuple[str, ...] = ()
    features: FeatureSpec | None = None
    context: tuple[str, ...] = ()


def parse_side_features(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"genre,year"`` -> ``("genre", "year")``; an unknown or repeated name raises, naming it."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text or [])
    names = [n for n in names if n]
    unknown = [n for n in names if n not in SIDE_FEATURES]
    if unknown:
        raise ValueError(f"Invalid side feature(s) {unknown} in --side-features; choose from {list(SIDE_FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"Invalid --side-features={','.join(names)}: a name repeats")
    return tuple(names)


def add_side_features(
    sequences: Dataset,
    names: Sequence[str],
    *,
    items: pd.DataFrame | None,
    users: pd.DataFrame | None,
    item_column: str = "item_id",
    user_column: str = "user_id",
    time_column: str = "timestamp",
) -> tuple[Dataset, SideFeatureSpec]:
    """Add one list column per feature in ``names`` to grouped ``sequences`` (one row per user, items
    and times sorted by time), aligned with ``item_column``.

    ``items``: ``item_id``, ``genres`` (list of names), ``year`` (number or NaN). ``users``:
    ``user_id``, ``age`` (years), ``gender``, ``occupation``. An item or user missing from its table
    raises, naming it (a silent 0 would read as a hidden position).

    Example:
        >>> seqs = Dataset.from_dict({"user_id": ["u"], "item_id": [["a", "b"]], "timestamp": [[0, 3600]]})
        >>> items = pd.DataFrame({"item_id": ["a", "b"], "genres": [["Drama"], ["Comedy", "Drama"]],
        ...                       "year": [1995, float("nan")]})
        >>> out, spec = add_side_features(seqs, ["genre", "year", "time_gap"], items=items, users=None)
        >>> out[0]["genre"], out[0]["year"], out[0]["time_gap"], spec.multi_hot
        ([2, 3], [17, 19], [1, 7], ('genre',))
    """
    names = parse_side_features(names)
    spec = SideFeatureSpec()
    item_lookup: dict[str, dict[Any, int]] = {}
    user_lookup: dict[str, dict[Any, int]] = {}
    if any(n in ITEM_FEATURES for n in names):
        if items is None:
            raise ValueError(f"side features {[n for n in names if n in ITEM_FEATURES]} need the item file")
        genres = sorted({g for values in items["genres"] for g in values})
        if "genre" in names:
            if len(genres) > 63:
                raise ValueError(f"genre: {len(genres)} distinct genres; a bitmask holds at most 63")
            bit = {g: 1 << j for j, g in enumerate(genres)}
            pairs = zip(items["item_id"], items["genres"], strict=True)
            item_lookup["genre"] = {item: sum(bit[g] for g in names_of_item) for item, names_of_item in pairs}
            spec.cardinalities["genre"] = len(genres)
        if "year" in names:
            item_lookup["year"] = {i: _year_bucket(y) for i, y in zip(items["item_id"], items["year"], strict=True)}
            spec.cardinalities["year"] = YEAR_BUCKETS + 2
    if any(n in USER_FEATURES for n in names):
        if users is None:
            raise ValueError(f"side features {[n for n in names if n in USER_FEATURES]} need the user file")
        if "age" in names:
            ages = np.searchsorted(AGE_GROUPS, users["age"].astype(float).to_numpy(), side="right") + 1
            user_lookup["age"] = dict(zip(users["user_id"], ages.tolist(), strict=True))
            spec.cardinalities["age"] = len(AGE_GROUPS) + 2
        for name in ("gender", "occupation"):
            if name in names:
                values = sorted(users[name].astype(str).unique())
                code = {v: j + 1 for j, v in enumerate(values)}
                user_lookup[name] = {u: code[str(v)] for u, v in zip(users["user_id"], users[name], strict=True)}
                spec.cardinalities[name] = len(values) + 1
    if "hour" in names:
        spec.cardinalities["hour"] = 25
    if "time_gap" in names:
        spec.cardinalities["time_gap"] = MAX_GAP_BUCKET + 1
    spec.multi_hot = ("genre",) if "genre" in names else ()

    def build(batch: dict[str, list]) -> dict[str, list]:
        out: dict[str, list] = {name: [] for name in names}
        for user, row_items, row_times in zip(batch[user_column], batch[item_column], batch[time_column], strict=True):
            for name, table in item_lookup.items():
                out[name].append([_lookup(table, item, name, "item") for item in row_items])
            for name, table in user_lookup.items():
                out[name].append([_lookup(table, user, name, "user")] * len(row_items))
            seconds = np.asarray(row_times, dtype=np.int64)
            if "hour" in names:
                out["hour"].append(((seconds // 3600) % 24 + 1).tolist())
            if "time_gap" in names:
                minutes = np.diff(seconds, prepend=seconds[:1]) / 60.0
                gaps = np.minimum(2 + np.floor(np.log2(1.0 + np.maximum(minutes, 0.0))), MAX_GAP_BUCKET)
                gaps[:1] = 1  # no previous interaction
                out["time_gap"].append(gaps.astype(np.int64).tolist())
        return out

    return sequences.map(build, batched=True, desc="side features"), spec


def _year_bucket(year: Any) -> int:
    if year is None or (isinstance(year, float) and math.isnan(year)):
        return YEAR_BUCKETS + 1
    return int(min(max((float(year) - YEAR_FROM) // YEAR_BUCKET, 0), YEAR_BUCKETS - 1)) + 1


def _lookup(table: dict, key: Any, name: str, kind: str) -> int:
    try:
        return table[key]
    except KeyError:
        raise ValueError(f"side feature {name!r}: {kind} {key!r} is not in the {kind} file") from None
