"""The data layer on ``datasets``: item vocabulary, sequences, splits, MovieLens, the main job's ``load_data``."""

from .files import interaction_files, load_interactions
from .job_data import DataArguments, load_data
from .movielens import ML_1M_MIN_ITEM_RATINGS, MovieLens, load_movielens
from .sequences import encode_sequences, group_into_sequences, keep_known_items, leave_one_out, time_split
from .side_features import SIDE_FEATURES, SideFeatureSpec, add_side_features, parse_side_features
from .streaming import stream_interactions, stream_sequences
from .vocabulary import ItemVocabulary

__all__ = [
    "ML_1M_MIN_ITEM_RATINGS",
    "SIDE_FEATURES",
    "DataArguments",
    "ItemVocabulary",
    "MovieLens",
    "SideFeatureSpec",
    "add_side_features",
    "encode_sequences",
    "group_into_sequences",
    "interaction_files",
    "keep_known_items",
    "leave_one_out",
    "load_data",
    "load_interactions",
    "load_movielens",
    "parse_side_features",
    "stream_interactions",
    "stream_sequences",
    "time_split",
]
