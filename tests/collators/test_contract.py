"""Contract of every collator: inputs, seeding, workers, passthrough, truncation."""

import copy

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from hf_seqmask import SCHEMES, CausalCollator, MaskedCollator, PermutationCollator

from .._tiny import assert_same_batch

V = 1000
RANDOM_SCHEMES = ["mlm", "plm", "rtd"]  # causal targets involve no draw


def _rows(n=64, max_len=30, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(2, V, rng.integers(0, max_len)).tolist() for _ in range(n)]


def _collator(scheme, **options):
    return SCHEMES[scheme](vocab_size=V, mask_token_id=1, **options)


@pytest.mark.parametrize("scheme", RANDOM_SCHEMES)
def test_same_seed_same_batch_and_different_seed_different_batch(scheme):
    features = [{"input_ids": r} for r in _rows()]
    assert_same_batch(_collator(scheme, seed=0)(features), _collator(scheme, seed=0)(features))
    first, other = _collator(scheme, seed=0)(features), _collator(scheme, seed=1)(features)
    assert not torch.equal(first["labels"], other["labels"])


@pytest.mark.parametrize("scheme", RANDOM_SCHEMES)
def test_stream_continues_across_calls(scheme):
    collator = _collator(scheme, seed=0)
    features = [{"input_ids": r} for r in _rows()]
    assert not torch.equal(collator(features)["labels"], collator(features)["labels"])


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_list_numpy_and_tensor_inputs_give_the_same_batch(scheme):
    rows = _rows()
    as_lists = [{"input_ids": r, "time": [float(i) for i in range(len(r))]} for r in rows]
    as_numpy = [{"input_ids": np.array(r, dtype=np.int32), "time": np.arange(len(r), dtype=np.float64)} for r in rows]
    as_tensors = [{"input_ids": torch.tensor(r, dtype=torch.int16), "time": torch.arange(len(r)).float()} for r in rows]
    options = dict(seed=3, side_feature_keys=("time",))
    reference = _collator(scheme, **options)(as_lists)
    assert reference["time"].dtype == torch.float32
    assert_same_batch(reference, _collator(scheme, **options)(as_numpy))
    assert_same_batch(reference, _collator(scheme, **options)(as_tensors))


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_inputs_are_not_mutated(scheme):
    features = [{"input_ids": np.array(r), "category": list(r), "user": i} for i, r in enumerate(_rows())]
    before = copy.deepcopy(features)
    _collator(scheme, seed=0, side_feature_keys=("category",))(features)
    for a, b in zip(features, before, strict=True):
        assert np.array_equal(a["input_ids"], b["input_ids"]) and a["category"] == b["category"]
        assert a["user"] == b["user"]


def test_per_row_fields_pass_through():
    features = [{"input_ids": [5, 6], "user_id": 7, "name": "a"}, {"input_ids": [8], "user_id": 9, "name": "b"}]
    batch = _collator("mlm", seed=0)(features)
    assert batch["user_id"].tolist() == [7, 9] and batch["name"] == ["a", "b"]


def test_max_length_keeps_the_most_recent_items_and_counts_them():
    collator = CausalCollator(vocab_size=V, mask_token_id=1, max_length=3, side_feature_keys=("pos",))
    batch = collator([{"input_ids": [5, 6, 7, 8, 9], "pos": [0, 1, 2, 3, 4]}, {"input_ids": [10, 11], "pos": [0, 1]}])
    assert batch["input_ids"].tolist() == [[7, 8, 9], [10, 11, 0]]
    assert batch["pos"].tolist() == [[2, 3, 4], [0, 1, 0]]
    assert (collator.truncated_rows, collator.truncated_items) == (1, 2)


def test_pad_to_multiple_of():
    batch = MaskedCollator(vocab_size=V, mask_token_id=1, pad_to_multiple_of=8, seed=0)([{"input_ids": [5, 6, 7]}])
    assert batch["input_ids"].shape == (1, 8)


def test_all_empty_batch_gives_one_padding_column_and_no_target():
    for scheme in SCHEMES:
        for mode in ("train", "eval", "predict"):
            batch = _collator(scheme, seed=0, mode=mode)([{"input_ids": []}, {"input_ids": []}])
            assert batch["input_ids"].tolist() == [[0], [0]]
            assert not batch["attention_mask"].any()
            if "labels" in batch:
                assert (batch["labels"] == -100).all()


def test_with_mode_copies_every_option():
    collator = PermutationCollator(vocab_size=V, mask_token_id=1, seed=5, max_span_length=2, perm_format="compact")
    evaluation = collator.with_mode("eval")
    assert evaluation.mode == "eval" and collator.mode == "train"
    assert (evaluation.seed, evaluation.max_span_length, evaluation.perm_format) == (5, 2, "compact")


class _Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return {"input_ids": self.rows[index]}


def _masks_per_worker(collator, rows, seed):
    loader = DataLoader(
        _Rows(rows), batch_size=8, num_workers=2, collate_fn=collator, generator=torch.Generator().manual_seed(seed)
    )
    return [batch["mask_positions"] for batch in loader]


@pytest.mark.parametrize("scheme", ["mlm", "plm"])
def test_dataloader_workers_draw_different_reproducible_masks(scheme):
    rows = [[2 + (i * 7 + j) % 50 for j in range(20)] for i in range(16)]  # two batches of identical shape
    rows[8:] = rows[:8]  # worker 0 and worker 1 get the SAME examples
    collator = _collator(scheme, seed=0)
    first = _masks_per_worker(collator, rows, seed=1)
    assert len(first) == 2
    assert not torch.equal(first[0], first[1]), "the two workers draw different masks"
    again = _masks_per_worker(collator, rows, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)), "reproducible for a seeded DataLoader"
    next_epoch = _masks_per_worker(collator, rows, seed=2)
    assert not torch.equal(first[0], next_epoch[0]), "a new epoch (new DataLoader seed) draws new masks"


def test_rank_changes_the_stream(monkeypatch):
    features = [{"input_ids": r} for r in _rows()]
    rank0 = _collator("mlm", seed=0)(features)
    monkeypatch.setenv("RANK", "1")
    rank1 = _collator("mlm", seed=0)(features)
    assert not torch.equal(rank0["labels"], rank1["labels"])


def test_no_global_rng_is_used():
    features = [{"input_ids": r} for r in _rows()]
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for scheme in SCHEMES:
        _collator(scheme, seed=0)(features)
        _collator(scheme, seed=None)(features)
    assert torch.equal(state, torch.get_rng_state())
