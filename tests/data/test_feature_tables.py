"""General side features: item and user tables, interaction columns, time features; their
vocabularies, training-split statistics, missing-value policy, JSON form and the errors that name
the file, column and row."""

import json

import pandas as pd
import pytest
from datasets import Dataset, DatasetDict

from hf_seqmask.data import DataArguments, load_data
from hf_seqmask.data.feature_tables import FeatureColumn, FeatureSpec, parse_kinds, read_feature_table, time_values
from hf_seqmask.data.table_features import FeatureSources, attach_features, fit_and_encode

from .._shop import write_shop


def test_vocabularies_and_statistics_come_from_the_training_split_only():
    spec = FeatureSpec([FeatureColumn("brand", "item", "categorical"), FeatureColumn("tags", "item", "multi"),
                        FeatureColumn("price", "item", "continuous")])  # fmt: skip
    splits = DatasetDict(
        train=Dataset.from_dict(
            {"brand": [["x", "y", "x"]], "tags": [[["a"], ["a", "b"], None]], "price": [[1.0, 3.0, None]]}
        ),
        test=Dataset.from_dict({"brand": [["z", None]], "tags": [[["c"], ["b", "c"]]], "price": [[100.0, None]]}),
    )
    out = fit_and_encode(splits, spec)
    brand, tags, price = spec.columns
    assert brand.values == ["x", "y"] and brand.value_counts == [2, 1] and brand.cardinality == 4
    assert tags.values == ["a", "b"] and tags.value_counts == [2, 1] and tags.cardinality == 3
    assert (price.mean, price.std) == (2.0, 1.0)  # the test split's 100.0 is not in the statistics
    assert out["train"][0] == {"brand": [2, 3, 2], "tags": [2, 6, 1], "price": [-1.0, 1.0, 0.0]}
    # unknown -> 1 (categorical) or bit 0 (multi: here with b's bit 2); missing -> 1, bit 0, 0.0 (the mean)
    assert out["test"][0] == {"brand": [1, 1], "tags": [1, 5], "price": [98.0, 0.0]}
    assert spec.counts["train"]["price"] == {"missing": 1, "unknown": 0}
    assert spec.counts["test"]["brand"] == {"missing": 1, "unknown": 1}
    assert spec.counts["test"]["tags"] == {"missing": 0, "unknown": 2}
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.cardinalities == {"brand": 4, "tags": 3, "price": 0} and again.multi_hot == ("tags",)


def test_time_features():
    monday_13h, plus_90s = 4 * 86400 + 13 * 3600, 4 * 86400 + 13 * 3600 + 90  # 1970-01-05 was a Monday
    assert time_values("hour", [monday_13h, plus_90s]) == ["13", "13"]
    assert time_values("weekday", [monday_13h, 6 * 86400]) == ["0", "2"]
    assert time_values("gap", [10.0, 10.0 + 90]) == pytest.approx([0.0, 4.51086])  # log1p(90)


def test_tables_read_kinds_and_refuse_bad_rows(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,brand,tags,price\na,acme,x|y,1.5\nb,zeta,,2\n")
    frame, kinds = read_feature_table(str(path), "sku", what="item table", kinds=parse_kinds("tags=multi"))
    assert kinds == {"brand": "categorical", "tags": "multi", "price": "continuous"}
    assert list(frame.index) == ["a", "b"] and frame.loc["b", "price"] == 2.0
    path.write_text("sku,brand,price\na,acme,1.5\nb,zeta,cheap\n")
    with pytest.raises(ValueError, match=r"item table file '.*items.csv': column 'price' is continuous but row 1 "
                                         r"holds 'cheap' \(not a number\)"):  # fmt: skip
        read_feature_table(str(path), "sku", what="item table", kinds={"price": "continuous"})
    path.write_text("sku,brand\na,acme\nb,zeta\na,other\n")
    with pytest.raises(ValueError, match=r"item table file '.*items.csv': key 'a' \(column 'sku'\) has two rows: "
                                         r"rows 0 and 2"):  # fmt: skip
        read_feature_table(str(path), "sku", what="item table")
    with pytest.raises(ValueError, match=r"item table file '.*items.csv' has no key column 'id'"):
        read_feature_table(str(path), "id", what="item table")
    with pytest.raises(ValueError, match=r"Invalid --feature-kinds entry 'tags'"):
        parse_kinds("tags")
    with pytest.raises(ValueError, match=r"Invalid kind 'list' for feature 'tags'"):
        parse_kinds("tags=list")


def test_an_item_missing_from_the_table_is_named_with_its_row(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,brand\na,acme\n")
    interactions = Dataset.from_dict({"user": ["u", "u", "v"], "sku": ["a", "a", "zz"], "t": [1, 2, 3]})
    sources = FeatureSources(item_table=str(path), item_key="sku")
    with pytest.raises(ValueError, match=r"clicks.csv: item 'zz' \(column 'sku', row 2\) is not in the item table "
                                         r"'.*items.csv' \(key column 'sku'\); 1 items are missing"):  # fmt: skip
        attach_features(interactions, sources, where="clicks.csv", user_column="user", item_column="sku")
    with pytest.raises(ValueError, match=r"Invalid time feature\(s\) \['minute'\]"):
        attach_features(interactions, FeatureSources(time=("minute",)), where="x", user_column="user",
                        item_column="sku")  # fmt: skip
    with pytest.raises(ValueError, match=r"--feature-kinds names \['price'\], which are not features"):
        attach_features(
            interactions, FeatureSources(time=("hour",), kinds={"price": "continuous"}), where="x", user_column="user",
            item_column="sku",
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"feature name\(s\) \['t'\] repeat"):
        attach_features(interactions, FeatureSources(interaction=("t", "t")), where="x", user_column="user",
                        item_column="sku")  # fmt: skip


def test_the_shop_through_load_data(tmp_path):
    clicks, products, users = write_shop(tmp_path)
    args = DataArguments(
        dataset=str(clicks), item_column="product_id", session_column="session_id", item_features=str(products),
        user_features=str(users), interaction_features="paid,device", time_features="hour,weekday,gap",
        feature_kinds="tags=multi",
    )  # fmt: skip
    splits, vocabulary, _, _, side = load_data(args)
    spec = side.features
    names = ["category", "brand", "tags", "price", "country", "age", "paid", "device", "hour", "weekday", "gap"]
    assert spec.names == names and list(side.cardinalities) == names and side.multi_hot == ("tags",)
    assert [c.kind for c in spec.columns] == ["categorical", "categorical", "multi", "continuous", "categorical",
                                             "continuous", "continuous", "categorical", "categorical",
                                             "categorical", "continuous"]  # fmt: skip
    assert side.cardinalities["hour"] == 26 and side.cardinalities["weekday"] == 9 and side.cardinalities["tags"] == 5
    for split in splits.values():
        for row in split:
            assert all(len(row[n]) == len(row["input_ids"]) for n in names)
    # every item's category is the table's, encoded through the training vocabulary
    table = pd.read_csv(products).set_index("product_id")
    category = next(c for c in spec.columns if c.name == "category")
    row = splits["test"][0]
    expected = [2 + category.values.index(table.loc[item, "category"]) for item in vocabulary.decode(row["input_ids"])]
    assert row["category"] == expected
    train_prices = [p for r in splits["train"]["price"] for p in r]
    assert abs(sum(train_prices) / len(train_prices)) < 1e-9  # normalised on the training split
    with pytest.raises(ValueError, match="for ml-100k use --side-features"):
        load_data(DataArguments(dataset="ml-100k", time_features="hour"))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_list_columns_are_multi_valued_in_jsonl_and_parquet(tmp_path, suffix):
    frame = pd.DataFrame({"sku": ["a", "b"], "tags": [["x", "y"], []], "rank": [1, 2], "weight": [0.5, None]})
    path = tmp_path / f"items{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    _, kinds = read_feature_table(str(path), "sku", what="item table")
    assert kinds == {"tags": "multi", "rank": "categorical", "weight": "continuous"}


def test_a_user_missing_from_the_user_table_is_named(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("uid,country\nu,de\n")
    interactions = Dataset.from_dict({"user": ["u", "w"], "sku": ["a", "b"], "t": [1, 2]})
    with pytest.raises(ValueError, match=r"clicks: user 'w' \(column 'user', row 1\) is not in the user table "):
        attach_features(interactions, FeatureSources(user_table=str(path), user_key="uid"), where="clicks",
                        user_column="user", item_column="sku")  # fmt: skip


def test_the_missing_items_row_is_its_row_in_the_file_even_after_the_count_filter(tmp_path):
    clicks = tmp_path / "clicks.csv"
    clicks.write_text("user_id,item_id,timestamp\nu,rare,1\nu,a,2\nu,b,3\nv,a,4\nv,b,5\nv,zz,6\nw,zz,7\n")
    (tmp_path / "items.csv").write_text("item_id,brand\na,x\nb,y\n")
    args = DataArguments(dataset=str(clicks), item_features=str(tmp_path / "items.csv"), min_item_ratings=2)
    with pytest.raises(ValueError, match=r"item 'zz' \(column 'item_id', row 5\) is not in the item table"):
        load_data(args)  # 'rare' (row 0) is dropped by the count filter and needs no row in the table


def test_a_multi_valued_feature_keeps_its_62_most_frequent_values_and_time_keeps_every_hour():
    values = [[f"v{j:02d}"] * (1 + (j < 62)) for j in range(70)]  # v00..v61 twice, v62..v69 once
    spec = FeatureSpec([FeatureColumn("tags", "item", "multi"), FeatureColumn("hour", "time", "categorical")])
    spec.fit({"tags": [[[v] for row in values for v in row]], "hour": [["13", "13", "2"]]})
    tags, hour = spec.columns
    assert len(tags.values) == 62 and tags.cardinality == 63 and "v62" not in tags.values
    assert spec.encode({"tags": [["v62"], ["v00", "v69"]], "hour": ["5", "13"]}) == {
        "tags": [1, 1 | 1 << (1 + tags.values.index("v00"))],  # bit 0: unknown
        "hour": [7, 15],  # id 2 + hour, seen in training or not
    }
    assert hour.cardinality == 26 and hour.value_counts[13] == 2 and hour.value_counts[5] == 0
