"""The column-wise fit and encoding equal the row-by-row FeatureSpec.fit / encode, value for value."""

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from hf_seqmask.data.feature_tables import FeatureColumn, FeatureSpec
from hf_seqmask.data.table_features import fit_and_encode


def _random_splits(seed):
    """Raw values as attach_features writes them: text or None, lists of text or None, floats or None;
    with values unseen in training, empty lists, repeated members, missing values."""
    rng = np.random.default_rng(seed)

    def row(length, train):
        pool = ["a", "b", "c"] if train else ["a", "b", "c", "new"]
        brand = [None if rng.random() < 0.1 else str(rng.choice(pool)) for _ in range(length)]
        tags = [
            None if rng.random() < 0.1 else [str(t) for t in rng.choice([*pool, "x", "y"], rng.integers(0, 4))]
            for _ in range(length)
        ]
        price = [None if rng.random() < 0.1 else float(rng.normal(5, 2)) for _ in range(length)]
        rank = [None if rng.random() < 0.1 else float(rng.integers(0, 6)) for _ in range(length)]
        hour = [str(int(h)) for h in rng.integers(0, 24 if not train else 20, length)]
        features = {"brand": brand, "tags": tags, "price": price, "rank": rank, "hour": hour}
        return {"input_ids": list(range(1, length + 1)), **features}

    return {
        split: [row(int(rng.integers(1, 9)), split == "train") for _ in range(30)]
        for split in ("train", "validation", "test")
    }


def _spec():
    return FeatureSpec(
        [
            FeatureColumn("brand", "item", "categorical"),
            FeatureColumn("tags", "item", "multi"),
            FeatureColumn("price", "interaction", "continuous"),
            FeatureColumn("rank", "interaction", "buckets", buckets=4),
            FeatureColumn("hour", "time", "categorical"),
        ]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_column_wise_equals_row_by_row(seed):
    rows = _random_splits(seed)
    splits = DatasetDict({split: Dataset.from_list(values) for split, values in rows.items()})
    fast = _spec()
    encoded = fit_and_encode(splits, fast)
    slow = _spec()
    slow.fit({name: [r[name] for r in rows["train"]] for name in slow.names})
    assert [c.__dict__ for c in fast.columns] == [c.__dict__ for c in slow.columns]
    for split, values in rows.items():
        expected = [slow.encode({n: r[n] for n in slow.names}, split) for r in values]
        got = encoded[split]
        for name in slow.names:
            assert got[name] == [e[name] for e in expected], (split, name)
        assert got["input_ids"] == [r["input_ids"] for r in values]
        assert got.features["brand"].feature.dtype == "int64" and got.features["price"].feature.dtype == "float64"
    assert fast.counts == slow.counts
    assert fast.counts["test"]["brand"]["unknown"] > 0 and fast.counts["test"]["tags"]["missing"] > 0
    # the per-row path (serving) reads the spec the column-wise fit wrote
    one = {"brand": ["b", None], "tags": [["a", "new"], []], "price": [5.0, None], "rank": [2.0, None]}
    one["hour"] = ["3", "9"]
    assert fast.encode(one)["rank"][1] == 1
    assert got.features["rank"].feature.dtype == "int64"
    assert fast.cardinalities["rank"] == 2 + len(fast.columns[3].edges) + 1


def test_buckets_split_a_number_at_training_quantiles_and_count_missing_values():
    column = FeatureColumn("price", "item", "buckets", buckets=4)
    spec = FeatureSpec([column])
    spec.fit({"price": [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, None]]})
    assert column.edges == [2.75, 4.5, 6.25] and spec.cardinalities == {"price": 6}  # 0 pad, 1 missing, 4 buckets
    encoded = spec.encode({"price": [1.0, 2.75, 5.0, 100.0, None, -3.0]}, "test")
    assert encoded == {"price": [2, 3, 4, 5, 1, 2]}  # an edge opens the next bucket; beyond the ends: the end buckets
    assert spec.counts["test"]["price"] == {"missing": 1, "unknown": 0}
    constant = FeatureColumn("flat", "item", "buckets")
    FeatureSpec([constant]).fit({"flat": [[3.0, 3.0]]})
    assert constant.edges == [3.0] and constant.cardinality == 4  # repeated quantiles merge
    from hf_seqmask.data import DataArguments

    with pytest.raises(ValueError, match=r"Invalid --feature-buckets=1; must be an int >= 2"):
        DataArguments(dataset="clicks.csv", feature_buckets=1).feature_sources()
