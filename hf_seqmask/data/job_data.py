"""The main job's data: its options (``DataArguments``) and ``load_data``, which turns them into the
train / validation / test splits, the item vocabulary and a one-line description.

MovieLens (by name or GroupLens file) or your own interaction files; user histories split
leave-one-out, or sessions (``session_column``) split by the time they end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import datasets
import pyarrow as pa

from .._checks import check_int_at_least
from .bad_rows import BadRows, read_interactions
from .feature_tables import DEFAULT_BUCKETS, parse_kinds
from .movielens import ML_1M_MIN_ITEM_RATINGS, MovieLens, load_movielens
from .sequences import encode_sequences, group_into_sequences, keep_known_items, leave_one_out, time_split
from .side_features import SideFeatureSpec, movielens_feature_sources, parse_side_features
from .table_features import (
    FeatureSources,
    add_time_features,
    attach_features,
    describe,
    fit_and_encode,
    parse_names,
)
from .vocabulary import ItemVocabulary

MOVIELENS = ("ml-100k", "ml-1m")
FILE_ROW = "__file_row__"


@dataclass
class DataArguments:
    """The data options of the main job (flags of ``hf-seqmask-train``)."""

    dataset: str = field(
        default="ml-100k",
        metadata={
            "help": "ml-100k, ml-1m, a GroupLens u.data / ratings.dat, or your interactions: CSV/TSV, Parquet or "
            "JSON-lines file(s), comma-separated or a glob"
        },
    )
    user_column: str = field(default="user_id", metadata={"help": "your data: the user column"})
    item_column: str = field(default="item_id", metadata={"help": "your data: the item column"})
    time_column: str = field(default="timestamp", metadata={"help": "your data: the time column (orders each history)"})
    session_column: str | None = field(
        default=None, metadata={"help": "your data: train on sessions instead of user histories, split by time"}
    )
    session_test_fraction: float = field(
        default=0.1, metadata={"help": "sessions: share of sessions (those ending last) in the test split"}
    )
    session_validation_fraction: float = field(
        default=0.1, metadata={"help": "sessions: share of sessions (ending just before those) in validation"}
    )
    min_item_ratings: int | None = field(
        default=None, metadata={"help": "keep items with at least this many interactions (default 5 on ML-1M, else 1)"}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "where the MovieLens wheel is kept"})
    side_features: str = field(
        default="",
        metadata={
            "help": "MovieLens: comma-separated side features from genre, year, release_year, age, gender, occupation, "
            "hour, weekday, gap (hf_seqmask.data.side_features): a preset of --item-features, --user-features and "
            "--time-features built from MovieLens' own files"
        },
    )
    item_features: str | None = field(
        default=None,
        metadata={"help": "your data: an item attribute table (CSV/TSV, Parquet, JSON lines), one row per item"},
    )
    item_key: str | None = field(
        default=None, metadata={"help": "the item table's key column (default: --item-column)"}
    )
    user_features: str | None = field(
        default=None,
        metadata={"help": "your data: a user attribute table (CSV/TSV, Parquet, JSON lines), one row per user"},
    )
    user_key: str | None = field(
        default=None, metadata={"help": "the user table's key column (default: --user-column)"}
    )
    interaction_features: str = field(
        default="", metadata={"help": "your data: comma-separated columns of the interactions used as features"}
    )
    time_features: str = field(
        default="", metadata={"help": "your data: comma-separated features derived from the times: hour, weekday, gap"}
    )
    feature_kinds: str = field(
        default="",
        metadata={
            "help": "kinds that override the inferred ones, e.g. tags=multi,brand_id=categorical,rank=continuous"
        },
    )
    multi_value_delimiter: str = field(default="|", metadata={"help": "splits a multi-valued feature written as text"})
    feature_buckets: int = field(
        default=DEFAULT_BUCKETS,
        metadata={"help": "buckets (between training quantiles) of each feature of kind buckets (--feature-kinds)"},
    )
    bad_rows: Literal["error", "skip"] = field(
        default="error",
        metadata={
            "help": "your data: a corrupt row (a CSV line of a wrong width, no user / item / time, a time that is not "
            "one) stops the job naming its file, row and column (error), or is left out and counted by kind, printed "
            "and recorded in metrics.json (skip)"
        },
    )

    def feature_sources(self) -> FeatureSources:
        """The general side features asked for (falsy when none)."""
        check_int_at_least("--feature-buckets", self.feature_buckets, 2)
        return FeatureSources(
            item_table=self.item_features, item_key=self.item_key or self.item_column,
            user_table=self.user_features, user_key=self.user_key or self.user_column,
            interaction=parse_names(self.interaction_features, "--interaction-features"),
            time=parse_names(self.time_features, "--time-features"), kinds=parse_kinds(self.feature_kinds),
            delimiter=self.multi_value_delimiter, buckets=self.feature_buckets,
        )  # fmt: skip


def load_data(args: DataArguments) -> tuple[datasets.DatasetDict, ItemVocabulary, dict, str, SideFeatureSpec]:
    """:func:`load_data_and_bad_rows` without what it found wrong in the rows."""
    return load_data_and_bad_rows(args)[:5]


def load_data_and_bad_rows(
    args: DataArguments,
) -> tuple[datasets.DatasetDict, ItemVocabulary, dict, str, SideFeatureSpec, BadRows | None]:
    """Interactions -> vocabulary (min count per item) -> sequences (+ side features) -> splits.

    Side features, one column each beside ``input_ids``, come from your tables, interaction columns and
    times (``item_features``, ...) or, for MovieLens (``side_features``), from its own item and user files
    through the same path (:func:`~hf_seqmask.data.side_features.movielens_feature_sources`).

    Args:
        args: the data options (the main job's ``Job`` works too: it forwards them).

    Returns:
        The splits (``user_id``, ``input_ids`` and the side-feature columns), the item vocabulary,
        the item names (MovieLens titles; empty for your own data), a one-line description and the
        side features' spec, and the bad rows found in your files (``--bad-rows``; ``None`` for MovieLens).

    Raises:
        ValueError: side features asked of data that is not MovieLens, no item left after the count
            filter, or an empty session split. ``FileNotFoundError``/``ValueError`` from the files
            name the file and the column.
    """
    movielens_names = parse_side_features(args.side_features)
    sources = args.feature_sources() if hasattr(args, "feature_sources") else FeatureSources()
    name, interactions, item_names, movielens, (user, item, when), min_count, bad = _read(
        args, sources, movielens_names
    )
    if movielens_names and movielens is not None:  # MovieLens' preset of the general path
        sources = movielens_feature_sources(movielens_names, items=movielens.items, users=movielens.users, dataset=name)
    side_names: tuple[str, ...] = ()
    vocabulary = ItemVocabulary.from_interactions(interactions, item_column=item, min_frequency=min_count)
    if len(vocabulary) == 0:
        raise ValueError(f"{name}: no item has >= {min_count} interactions (column {item!r}); lower --min-item-ratings")
    if sources:  # errors name an interaction by its row in the files, before the count filter
        table = interactions.with_format("arrow")[:]
        interactions = datasets.Dataset(table.append_column(FILE_ROW, pa.array(range(table.num_rows), pa.int64())))
    interactions = keep_known_items(interactions, vocabulary, item_column=item)
    feature_spec = None
    if sources:
        table = interactions.with_format("arrow")[:]
        rows, interactions = table.column(FILE_ROW).to_pylist(), datasets.Dataset(table.drop_columns([FILE_ROW]))
        interactions, feature_spec = attach_features(
            interactions, sources, where=f"interactions {name}", user_column=user, item_column=item, file_rows=rows
        )
        side_names = tuple(c.name for c in feature_spec.columns)
    group = args.session_column if args.session_column and name not in MOVIELENS else user
    sequences = group_into_sequences(
        interactions, user_column=group, item_column=item, time_column=when,
        side_columns=[n for n in side_names if feature_spec and n in interactions.column_names],
    )  # fmt: skip
    if feature_spec is not None:
        sequences = add_time_features(sequences, feature_spec, when)
    sequences = encode_sequences(sequences, vocabulary, item_column=item)
    side_spec = SideFeatureSpec()
    unit = "sessions" if group != user else "users"
    description = (
        f"{Path(name).name if name not in MOVIELENS else name}: {len(sequences):,} {unit}, {len(vocabulary):,} items, "
        f"{len(interactions):,} interactions (items with >= {min_count} ratings; "
        f"{vocabulary.num_dropped_items:,} items dropped)"
    ) + (f"; {describe(feature_spec)}" if feature_spec is not None else "")
    sequences = sequences.rename_column(group, "user_id") if group != "user_id" else sequences
    if unit == "sessions":
        splits = _split_sessions_by_time(
            sequences, when, args.session_validation_fraction, args.session_test_fraction, side_names
        )
    else:
        splits = leave_one_out(sequences.select_columns(["user_id", "input_ids", *side_names]))
    if feature_spec is not None:
        splits = fit_and_encode(splits, feature_spec)
        side_spec = SideFeatureSpec(
            feature_spec.cardinalities, feature_spec.multi_hot, feature_spec, context=feature_spec.context
        )
    return splits, vocabulary, item_names, description, side_spec, bad


def _read(
    args: DataArguments, sources: FeatureSources, side_names: tuple[str, ...]
) -> tuple[str, datasets.Dataset, dict, MovieLens | None, tuple[str, str, str], int, BadRows | None]:
    """The interactions: the dataset's name, rows, item names, MovieLens' files (or None), the user,
    item and time columns, the minimum count per item and the bad rows found (None: MovieLens)."""
    name = args.dataset
    columns = [args.user_column, args.item_column, args.time_column]
    if name in MOVIELENS or Path(name).name in ("u.data", "ratings.dat"):
        path = None if name in MOVIELENS else Path(name)
        if path is not None:
            name = "ml-1m" if path.name == "ratings.dat" else "ml-100k"
        if sources or sources.kinds:
            raise ValueError(
                "--item-features, --user-features, --interaction-features, --time-features and --feature-kinds are "
                f"for your own interaction files; for {name} use --side-features (release_year: the year as a number)"
            )
        movielens = load_movielens(name, path=path, cache_dir=args.cache_dir)
        min_count = args.min_item_ratings or (ML_1M_MIN_ITEM_RATINGS if name == "ml-1m" else 1)
        return (
            name,
            movielens.interactions,
            movielens.item_names,
            movielens,
            ("user_id", "item_id", "timestamp"),
            min_count,
            None,
        )
    if side_names:
        raise ValueError(
            f"--side-features={args.side_features} is built from MovieLens' item and user files; "
            f"{name} is not MovieLens"
        )
    if sources.kinds and not sources:
        raise ValueError(
            f"--feature-kinds names {sorted(sources.kinds)}, but no feature was asked for (--item-features, ...)"
        )
    if args.session_column:
        columns.append(args.session_column)
    interactions, bad = read_interactions(
        name, columns=list(dict.fromkeys(columns)), optional=sources.interaction, time_column=args.time_column,
        bad_rows=getattr(args, "bad_rows", "error"),
    )  # fmt: skip
    return (
        name,
        interactions,
        {},
        None,
        (args.user_column, args.item_column, args.time_column),
        args.min_item_ratings or 1,
        bad,
    )


def _split_sessions_by_time(
    sequences: datasets.Dataset,
    time_column: str,
    validation_fraction: float,
    test_fraction: float,
    side_names: tuple[str, ...] = (),
) -> datasets.DatasetDict:
    """Sessions by the time they end: the last ``test_fraction`` are the test split, the
    ``validation_fraction`` before them validation, the rest training (no training session reaches
    into the evaluation period)."""
    ends = sorted(times[-1] for times in sequences[time_column])
    count = len(ends)
    test_start = ends[min(count - 1, math.floor(count * (1 - test_fraction)))]
    validation_start = ends[min(count - 1, math.floor(count * (1 - test_fraction - validation_fraction)))]
    splits = time_split(
        sequences, time_column=time_column, validation_start=validation_start, test_start=test_start
    ).select_columns(["user_id", "input_ids", *side_names])
    for split, rows in splits.items():
        if len(rows) == 0:
            raise ValueError(
                f"the {split} split holds no session (session fractions validation={validation_fraction}, "
                f"test={test_fraction} of {count} sessions)"
            )
    return splits
