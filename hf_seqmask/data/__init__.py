"""The data layer on ``datasets``: item vocabulary, sequences, splits, MovieLens, the main job's ``load_data``."""

from .bad_rows import BadRows, read_interactions
from .feature_tables import FeatureColumn, FeatureSpec, read_feature_table
from .files import interaction_files, load_interactions, read_table
from .job_data import DataArguments, load_data, load_data_and_bad_rows
from .movielens import ML_1M_MIN_ITEM_RATINGS, MovieLens, load_movielens
from .sequences import encode_sequences, group_into_sequences, keep_known_items, leave_one_out, time_split
from .side_features import SIDE_FEATURES, SideFeatureSpec, movielens_feature_sources, parse_side_features
from .streaming import stream_interactions, stream_sequences
from .table_features import FeatureSources, attach_features, fit_and_encode
from .vocabulary import ItemVocabulary

__all__ = [
    "ML_1M_MIN_ITEM_RATINGS",
    "SIDE_FEATURES",
    "BadRows",
    "DataArguments",
    "FeatureColumn",
    "FeatureSources",
    "FeatureSpec",
    "ItemVocabulary",
    "MovieLens",
    "SideFeatureSpec",
    "attach_features",
    "encode_sequences",
    "fit_and_encode",
    "group_into_sequences",
    "interaction_files",
    "keep_known_items",
    "leave_one_out",
    "load_data",
    "load_data_and_bad_rows",
    "load_interactions",
    "load_movielens",
    "movielens_feature_sources",
    "parse_side_features",
    "read_feature_table",
    "read_interactions",
    "read_table",
    "stream_interactions",
    "stream_sequences",
    "time_split",
]
