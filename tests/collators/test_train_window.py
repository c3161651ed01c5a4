"""``train_window="random"``: a training row longer than ``max_length`` keeps a contiguous window drawn
anywhere in it (side features aligned), uniformly, seeded like the masks; evaluation and prediction
keep the most recent items as before."""

import numpy as np
import pytest
import torch

from hf_seqmask import SCHEMES, SeqRecModel

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


def test_clm_windows_keep_every_next_item_target_inside_the_window():
    batch = collator("clm", max_length=4, train_window="random")([{"input_ids": LONG}])
    items = batch["input_ids"][0]
    assert (items[1:] == items[:-1] + 1).all()  # contiguous
    assert batch["labels"][0].tolist() == [-100, *items[1:].tolist()]  # GPT-2 shifts inside


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
    options = dict(max_length=6, train_window="random", side_feature_keys=("pos",))
    first, again, other = (collator("mlm", seed=seed, **options) for seed in (3, 3, 4))
    batches = [make(_rows()) for make in (first, again, other)]
    assert torch.equal(batches[0]["input_ids"], batches[1]["input_ids"])
    assert not torch.equal(batches[0]["labels"], batches[2]["labels"])
    first.set_epoch(1)
    again.set_epoch(2)
    assert not torch.equal(first(_rows())["labels"], again(_rows())["labels"])


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
