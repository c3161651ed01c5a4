"""Streaming: interaction files -> sequences -> collator, sharded over DataLoader workers and ranks."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from datasets import Dataset
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader

from hf_seqmask import MaskedCollator
from hf_seqmask.data import ItemVocabulary, encode_sequences, group_into_sequences, stream_sequences


def _write_interactions(folder, users=40, files=4, suffix=".parquet"):
    rng = np.random.default_rng(0)
    frames = []
    for user in range(users):
        length = int(rng.integers(1, 12))
        frames.append(
            pd.DataFrame(
                {
                    "user_id": user,
                    "item_id": rng.integers(0, 30, length),
                    "timestamp": np.arange(length),
                    "category": rng.integers(0, 4, length),
                }
            )
        )
    paths = []
    for shard, chunk in enumerate(np.array_split(np.arange(users), files)):
        frame = pd.concat([frames[u] for u in chunk], ignore_index=True)
        path = folder / f"part-{shard}{suffix}"
        frame.to_parquet(path) if suffix == ".parquet" else frame.to_json(path, orient="records", lines=True)
        paths.append(path)
    return pd.concat(frames, ignore_index=True), paths


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_streamed_sequences_equal_the_in_memory_ones(tmp_path, suffix):
    frame, paths = _write_interactions(tmp_path, suffix=suffix)
    vocabulary = ItemVocabulary.build(frame["item_id"].tolist(), min_frequency=3)
    streamed = list(stream_sequences(paths, vocabulary, side_columns=("category",)))
    in_memory = Dataset.from_pandas(frame[frame["item_id"].isin(vocabulary.items)], preserve_index=False)
    expected = encode_sequences(group_into_sequences(in_memory, side_columns=("category",)), vocabulary)
    by_user = {row["user_id"]: row for row in streamed}
    for row in expected:
        assert by_user[row["user_id"]]["input_ids"] == row["input_ids"]
        assert by_user[row["user_id"]]["category"] == row["category"]


def test_every_sequence_is_seen_once_per_epoch_across_workers_and_ranks(tmp_path):
    frame, paths = _write_interactions(tmp_path, users=40, files=4)
    vocabulary = ItemVocabulary.build(frame["item_id"].tolist())
    sequences = stream_sequences(paths, vocabulary)
    collator = MaskedCollator(vocab_size=vocabulary.vocab_size, mask_token_id=1, seed=0)
    seen = []
    for rank in range(2):
        shard = split_dataset_by_node(sequences, rank=rank, world_size=2)  # 2 files per rank
        loader = DataLoader(shard, batch_size=3, num_workers=2, collate_fn=collator)  # 1 file per worker
        for batch in loader:
            seen += batch["user_id"].tolist()
            # Every row holds exactly its user's items (masked ones restored from the labels).
            restored = torch.where(batch["labels"] != -100, batch["labels"], batch["input_ids"])
            for user, row, real in zip(
                batch["user_id"].tolist(), restored, batch["attention_mask"].bool(), strict=True
            ):
                expected = vocabulary.encode(frame.loc[frame["user_id"] == user, "item_id"].tolist())
                assert sorted(row[real].tolist()) == sorted(expected), user
    assert sorted(seen) == list(range(40)), "each user exactly once"


def test_a_user_split_across_runs_or_files_is_refused(tmp_path):
    pd.DataFrame({"user_id": [1, 2, 1], "item_id": [5, 6, 7]}).to_parquet(tmp_path / "a.parquet")
    vocabulary = ItemVocabulary.build([5, 6, 7])
    with pytest.raises(ValueError, match=r"a\.parquet, row 2: user 1 already had rows earlier in this file"):
        list(stream_sequences([tmp_path / "a.parquet"], vocabulary, time_column=None))
    pd.DataFrame({"user_id": [1, 2], "item_id": [5, 6]}).to_parquet(tmp_path / "b.parquet")
    pd.DataFrame({"user_id": [2, 3], "item_id": [7, 5]}).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(ValueError, match=r"c\.parquet, row 0: user 2 already had rows in .*b\.parquet"):
        list(stream_sequences([tmp_path / "b.parquet", tmp_path / "c.parquet"], vocabulary, time_column=None))
    with pytest.raises(ValueError, match=r"all be \.parquet or all \.jsonl"):
        stream_sequences([tmp_path / "a.parquet", tmp_path / "b.csv"], vocabulary)


@pytest.mark.slow
def test_preprocessing_a_large_file_with_two_processes_equals_one(tmp_path):
    rng = np.random.default_rng(1)
    sequences = Dataset.from_dict(
        {"item_id": [rng.integers(0, 500, rng.integers(1, 60)).tolist() for _ in range(20_000)]}
    )
    vocabulary = ItemVocabulary.build(np.concatenate(sequences["item_id"]))
    one = encode_sequences(sequences, vocabulary, num_proc=1)
    two = encode_sequences(sequences, vocabulary, num_proc=2)
    assert one["input_ids"] == two["input_ids"]


def test_rows_without_a_user_or_time_are_refused_and_each_user_is_sorted_by_time(tmp_path):
    vocabulary = ItemVocabulary.build([5, 6, 7])
    pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [5, 6, 7, 5], "timestamp": [30, 10, 20, 1]}).to_parquet(
        tmp_path / "ok.parquet"
    )
    rows = list(stream_sequences([tmp_path / "ok.parquet"], vocabulary))
    assert [r["input_ids"] for r in rows] == [vocabulary.encode([6, 7, 5]), vocabulary.encode([5])]
    (tmp_path / "nouser.jsonl").write_text(
        '{"user_id": 1, "item_id": 5, "timestamp": 1}\n{"item_id": 6, "timestamp": 2}\n'
    )
    with pytest.raises(ValueError, match=r"nouser\.jsonl, row 1: no 'user_id' value"):
        list(stream_sequences([tmp_path / "nouser.jsonl"], vocabulary))
    (tmp_path / "notime.jsonl").write_text('{"user_id": 1, "item_id": 5, "timestamp": null}\n')
    with pytest.raises(ValueError, match=r"notime\.jsonl, row 0: user 1 has no 'timestamp' value"):
        list(stream_sequences([tmp_path / "notime.jsonl"], vocabulary))


def test_streamed_times_sort_as_group_into_sequences_sorts_them(tmp_path):
    """Times written as text sort as numbers ("9" < "10") or as ISO dates, on both paths; mixed kinds
    and text that is no time raise naming the file, row and column."""
    vocabulary = ItemVocabulary.build([5, 6, 7])
    cases = {
        "text_numbers": ["10", "9", "100"],
        "mixed_int_and_text": [10, "9", 100.0],
        "iso_dates": ["2024-01-10", "2024-01-09T23:00:00", "2024-02-01"],
    }
    for name, times in cases.items():
        path = tmp_path / f"{name}.jsonl"
        lines = [{"user_id": 1, "item_id": item, "timestamp": t} for item, t in zip([5, 6, 7], times, strict=True)]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        streamed = next(iter(stream_sequences([path], vocabulary)))["input_ids"]
        assert streamed == vocabulary.encode([6, 5, 7]), name
        if name != "mixed_int_and_text":  # a mixed column cannot even become an Arrow table
            frame = Dataset.from_list(lines)
            grouped = group_into_sequences(frame)["item_id"][0]
            assert vocabulary.encode(grouped) == streamed, name
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": 1, "item_id": 5, "timestamp": 3}\n{"user_id": 1, "item_id": 6, "timestamp": "soon"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl, row 1: 'timestamp' value 'soon' is not a time"):
        list(stream_sequences([bad], vocabulary))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        '{"user_id": 1, "item_id": 5, "timestamp": 3}\n{"user_id": 1, "item_id": 6, "timestamp": "2024-01-01"}\n'
    )
    with pytest.raises(ValueError, match=r"mixed\.jsonl, rows 0 and 1: 'timestamp' mixes numbers and dates"):
        list(stream_sequences([mixed], vocabulary))
