"""MovieLens' side features: a preset of the general feature path (:mod:`~hf_seqmask.data.table_features`).

``--side-features genre,year,age,...`` builds an item table and a user table from MovieLens' own files
and asks for time features; from there every feature goes the way your own tables' go
(``--item-features``, ``--user-features``, ``--time-features``): vocabularies and statistics fitted on
the training split and saved with the model (``feature_spec.json``, so ``recommend()`` looks them up
by item and user id), missing and unknown values counted, item and time features hidden with their
item, user attributes visible everywhere.

================  =======================================================  ============  =============
name              value                                                    table         kind
================  =======================================================  ============  =============
``genre``         the movie's genres                                       item          multi
``year``          release year in 5-year buckets (``"1990-1994"``)         item          categorical
``release_year``  release year as a number                                 item          continuous
``age``           the user's age group (ML-1M's groups: under 18, 18-24,   user          categorical
                  25-34, 35-44, 45-49, 50-55, 56+)
``gender``        the user's gender                                        user          categorical
``occupation``    the user's occupation                                    user          categorical
``hour``          hour of day of the interaction (UTC)                     time          categorical
``weekday``       day of the week of the interaction (UTC)                 time          categorical
``gap``           ``log1p`` of the seconds since the user's previous       time          continuous
                  interaction (``time_gap`` is its former name)
================  =======================================================  ============  =============
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .feature_tables import TIME_FEATURES, FeatureSpec, _missing
from .table_features import FeatureSources

ITEM_FEATURES = ("genre", "year", "release_year")
USER_FEATURES = ("age", "gender", "occupation")
SIDE_FEATURES = (*ITEM_FEATURES, *USER_FEATURES, *TIME_FEATURES)
FORMER_NAMES = {"time_gap": "gap"}  # the commands of runs before the general path still read
KINDS = {"genre": "multi", "year": "categorical", "release_year": "continuous",
         "age": "categorical", "gender": "categorical", "occupation": "categorical"}  # fmt: skip
AGE_GROUPS = (18, 25, 35, 45, 50, 56)  # lower bounds of ML-1M's age groups after "under 18"
AGE_NAMES = ("under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
YEAR_FROM, YEAR_BUCKET, YEAR_BUCKETS = 1915, 5, 18  # before 1920, 1920-1924, ..., 1995-1999, 2000 on


@dataclass
class SideFeatureSpec:
    """What the model needs: ``cardinalities`` (name -> size, 0 reserved; 0: continuous), the
    ``multi_hot`` names and the ``context`` ones (user attributes, never hidden); ``features``: the
    fitted spec (saved with the model), if any."""

    cardinalities: dict[str, int] = field(default_factory=dict)
    multi_hot: tuple[str, ...] = ()
    features: FeatureSpec | None = None
    context: tuple[str, ...] = ()


def parse_side_features(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"genre,year,time_gap"`` -> ``("genre", "year", "gap")``; an unknown or repeated name raises.

    Example:
        >>> parse_side_features("genre, year,time_gap")
        ('genre', 'year', 'gap')
    """
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text or [])
    names = [FORMER_NAMES.get(n, n) for n in names if n]
    unknown = [n for n in names if n not in SIDE_FEATURES]
    if unknown:
        raise ValueError(f"Invalid side feature(s) {unknown} in --side-features; choose from {list(SIDE_FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"Invalid --side-features={','.join(names)}: a name repeats")
    return tuple(names)


def movielens_feature_sources(
    names: Sequence[str], *, items: pd.DataFrame | None, users: pd.DataFrame | None, dataset: str = "MovieLens"
) -> FeatureSources:
    """The general path's sources for MovieLens' ``names``: an item table (``item_id`` and the item
    features), a user table (``user_id`` and the user features) and the time features.

    ``items``: ``item_id``, ``genres`` (list of names), ``year`` (number or NaN); ``users``:
    ``user_id``, ``age`` (years or ML-1M's group codes), ``gender``, ``occupation`` (as
    :func:`~hf_seqmask.data.movielens.load_movielens` reads them).

    Example:
        >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Drama"], ["Comedy", "Drama"]],
        ...                       "year": [1995, float("nan")]})
        >>> sources = movielens_feature_sources(["genre", "year", "gap"], items=items, users=None)
        >>> sources.item_table.columns.tolist(), sources.item_table["year"][0], sources.time, sources.kinds["genre"]
        (['item_id', 'genre', 'year'], '1995-1999', ('gap',), 'multi')
    """
    names = parse_side_features(names)
    wanted_items = [n for n in names if n in ITEM_FEATURES]
    wanted_users = [n for n in names if n in USER_FEATURES]
    for wanted, table, what in ((wanted_items, items, "item"), (wanted_users, users, "user")):
        if wanted and table is None:
            raise ValueError(f"side features {wanted} need {dataset}'s {what} file")
    item_table = user_table = None
    if wanted_items and items is not None:
        genres = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else None for g in items["genres"]]
        columns = {
            "genre": genres,
            "year": [year_bucket(year) for year in items["year"]],
            "release_year": items["year"].astype(float).tolist(),
        }
        item_table = pd.DataFrame({"item_id": items["item_id"], **{n: columns[n] for n in wanted_items}})
        item_table.attrs["name"] = f"{dataset} items"
    if wanted_users and users is not None:
        columns = {
            "age": [age_group(age) for age in users["age"]],
            "gender": _texts(users["gender"]),
            "occupation": _texts(users["occupation"]),
        }
        user_table = pd.DataFrame({"user_id": users["user_id"], **{n: columns[n] for n in wanted_users}})
        user_table.attrs["name"] = f"{dataset} users"
    return FeatureSources(
        item_table=item_table, item_key="item_id", user_table=user_table, user_key="user_id",
        time=tuple(n for n in names if n in TIME_FEATURES), kinds={n: KINDS[n] for n in names if n in KINDS},
    )  # fmt: skip


def year_bucket(year: Any) -> str | None:
    """A release year's 5-year bucket as text (the first and the last are open: before 1920, 2000 on);
    missing -> None (the feature's "missing", counted).

    Example:
        >>> year_bucket(1993), year_bucket(1900), year_bucket(2004.0), year_bucket(float("nan"))
        ('1990-1994', 'before 1920', '2000 on', None)
    """
    if _missing(year):
        return None
    bucket = int(min(max((float(year) - YEAR_FROM) // YEAR_BUCKET, 0), YEAR_BUCKETS - 1))
    start = YEAR_FROM + YEAR_BUCKET * bucket
    if bucket == 0:
        return f"before {start + YEAR_BUCKET}"
    return f"{start} on" if bucket == YEAR_BUCKETS - 1 else f"{start}-{start + YEAR_BUCKET - 1}"


def _texts(values: pd.Series) -> list[str | None]:
    """Values as text, missing ones as None (``astype(str)`` would make them a category "nan")."""
    return [None if _missing(value) else str(value) for value in values]


def age_group(age: Any) -> str | None:
    """An age in years (ML-100K) or ML-1M's group code (its groups' lower bounds) -> the group's name.

    Example:
        >>> age_group(1), age_group(24), age_group(25.0), age_group(56)
        ('under 18', '18-24', '25-34', '56+')
    """
    if _missing(age):
        return None
    return AGE_NAMES[int(np.searchsorted(AGE_GROUPS, float(age), side="right"))]
