"""``train_window="random"``: a training row longer than ``max_length`` keeps a contiguous window drawn
anywhere in it (side features aligned), uniformly, seeded like the masks; evaluation and prediction
keep the most recent items as before."""

import numpy as np
import pytest
import torch

from hf_seqmask import SCHEMES, MaskedCollator, SeqRecModel

from .._tiny import PAIRS, VOCAB, collator, tiny_model

LONG = list(range(2, 2 + 30))  # a 30-item row: ids 2..31, its position = id - 2


def _rows(count=8):
    return [{"input_ids": LONG, "pos": list(range(len(LONG)))} for _ in range(count)] + [
        {"input_ids": [40, 41, 42], "pos": [0, 1, 2]}
    ]


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_a_training_row_keeps_a_contiguous_window_of_its_items_and_their_side_features(scheme):
    make = collator(scheme, max_length=6, train_window="random", side_feature_keys=("pos",))
    starts = set()
    for _ in range(20):
        batch = make(_rows())
        labels, positions = batch["labels"], batch["pos"]
        # The label (where there is one) and the unhidden inputs are the window's items: the side feature
        # (the position in the row) is hidden with them, so read the window off the labels and inputs.
        items = torch.where(labels != -100, labels, batch["input_ids"])[:8]  # (8, 6) the long rows
        visible = batch["attention_mask"][:8].bool() & ~batch["mask_positions"][:8]
        for row_items, row_positions, row_visible in zip(items, positions[:8], visible, strict=True):
            start = int(row_items[0]) - 2
            assert row_items.tolist() == LONG[start : start + 6]
            assert (row_positions[row_visible] == row_items[row_visible] - 2).all()  # aligned with the items
            starts.add(start)
        assert batch["input_ids"][8, :3].ne(0).all() and batch["attention_mask"][8].sum() == 3  # short row whole
    assert min(starts) >= 0 and max(starts) <= len(LONG) - 6
    assert len(starts) > 10  # windows anywhere in the row, not the most recent only


def test_window_starts_are_uniform_over_the_row():
    make = collator("clm", max_length=5, train_window="random")
    counts = np.zeros(len(LONG) - 5 + 1)
    for _ in range(200):
        first = make([{"input_ids": LONG}] * 16)["input_ids"][:, 0]  # (16,)
        np.add.at(counts, first.numpy() - 2, 1)
    expected = counts.sum() / counts.size  # 3,200 draws over 26 starts: ~123 each
    assert counts.min() > 0.7 * expected and counts.max() < 1.3 * expected


def test_rows_of_different_lengths_each_keep_a_window_of_their_own():
    lengths, firsts = (20, 9, 4, 12), (2, 22, 31, 35)  # each row its own ids: 2..21, 22..30, 31..34, 35..46
    rows = [{"input_ids": list(range(first, first + n))} for first, n in zip(firsts, lengths, strict=True)]
    make = collator("clm", max_length=5, train_window="random")
    for _ in range(30):
        items = make(rows)["input_ids"]
        for row, first, n in zip(items, firsts, lengths, strict=True):
            kept = row[row != 0]
            assert len(kept) == min(n, 5) and (kept[1:] == kept[:-1] + 1).all()  # contiguous, in order
            assert int(kept[0]) >= first and int(kept[-1]) < first + n  # inside its own row
    assert make(rows)["input_ids"][2].tolist() == [31, 32, 33, 34, 0]  # a short row whole


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("mode", ["eval", "predict"])
def test_evaluation_and_prediction_keep_the_most_recent_items(scheme, mode):
    rows = _rows()
    options = dict(mode=mode, max_length=6, side_feature_keys=("pos",))
    windowed = collator(scheme, train_window="random", **options)(rows)
    recent = collator(scheme, **options)(rows)
    assert windowed.keys() == recent.keys()
    for key in recent:
        assert torch.equal(windowed[key], recent[key]), key


def test_windows_are_seeded_by_the_batch_generator():
    # clm draws nothing but the windows, so its inputs show the windows alone
    first, again, other = (collator("clm", max_length=6, train_window="random", seed=seed) for seed in (3, 3, 4))
    rows = [{"input_ids": LONG}] * 8
    batches = [make(rows)["input_ids"] for make in (first, again, other)]
    assert torch.equal(batches[0], batches[1])
    assert not torch.equal(batches[0], batches[2])
    first.set_epoch(1)
    again.set_epoch(2)
    assert not torch.equal(first(rows)["input_ids"], again(rows)["input_ids"])
    again.set_epoch(1)
    first.set_epoch(1)
    assert torch.equal(first(rows)["input_ids"], again(rows)["input_ids"])


def test_recent_windows_and_masks_are_those_of_earlier_releases():
    # Drawn by the code before training windows existed (session 35): truncation, side features and the
    # masks of a long-row batch are unchanged.
    rows = [
        {"input_ids": list(range(2, 14)), "pos": list(range(12))},
        {"input_ids": [20, 21, 22], "pos": [0, 1, 2]},
        {"input_ids": list(range(30, 37)), "pos": list(range(7))},
    ]
    make = MaskedCollator(
        vocab_size=40, mask_token_id=1, seed=7, max_length=5, side_feature_keys=("pos",), mlm_probability=0.4,
        mask_last_item_prob=0.2,
    )  # fmt: skip
    first, second = make(rows), make(rows)
    assert first["input_ids"].tolist() == [[9, 1, 1, 1, 1], [1, 1, 22, 0, 0], [32, 33, 34, 35, 1]]
    assert first["labels"].tolist() == [[-100, 10, 11, 12, 13], [20, 21, -100, -100, -100], [-100] * 4 + [36]]
    assert second["input_ids"].tolist() == [[9, 10, 11, 12, 1], [1, 21, 1, 0, 0], [1, 1, 34, 35, 36]]
    assert second["pos"].tolist() == [[7, 8, 9, 10, 0], [0, 1, 0, 0, 0], [0, 0, 4, 5, 6]]
    assert (make.truncated_rows, make.truncated_items) == (4, 18)


def test_a_refused_batch_takes_no_batch_number():
    make = collator("mlm", max_length=6)
    with pytest.raises(ValueError, match="outside"):
        make([{"input_ids": [5, 99]}])
    rows = [{"input_ids": LONG}] * 4
    assert torch.equal(make(rows)["labels"], collator("mlm", max_length=6)(rows)["labels"])


def test_recent_is_the_default_and_counts_what_a_window_cuts():
    recent = collator("clm", max_length=6)
    assert recent.train_window == "recent"
    assert recent([{"input_ids": LONG}])["input_ids"][0].tolist() == LONG[-6:]
    windowed = collator("clm", max_length=6, train_window="random", side_feature_keys=("pos",))
    windowed(_rows())
    assert (windowed.truncated_rows, windowed.truncated_items) == (8, 8 * 24)


def test_bad_train_window_is_refused_naming_the_option():
    with pytest.raises(ValueError, match="train_window"):
        collator("mlm", max_length=6, train_window="sliding")
    with pytest.raises(ValueError, match=r"train_window='random' with max_length=None"):
        collator("mlm", train_window="random")


@pytest.mark.parametrize(("family", "scheme", "extra"), PAIRS)
def test_every_pair_trains_on_windows_from_its_config_and_saves_the_option(family, scheme, extra, tmp_path):
    model = tiny_model(family, scheme, max_seq_length=8, masking={"train_window": "random"})
    make = model.data_collator(mode="train", seed=0)
    assert make.train_window == "random"
    rows = [{"input_ids": [2 + (i + j) % (VOCAB - 2) for j in range(20)]} for i in range(4)]
    batch = make(rows)
    assert batch["input_ids"].shape[1] == 8
    loss = model(**batch).loss  # the model's batch check accepts it
    assert torch.isfinite(loss)
    model.save_pretrained(tmp_path)
    assert SeqRecModel.from_pretrained(tmp_path).data_collator().train_window == "random"
