"""Collator options that used to pass and then fail (issue 26): a side-feature pad value an integer
feature cannot hold, and pad_to_multiple_of widening a batch past the model's max_seq_length."""

import re

import pytest
import torch

from hf_seqmask import SeqRecConfig

from .._tiny import backbone_config, collator, sessions, tiny_model


@pytest.mark.parametrize("pad", [1e20, 0.5])
@pytest.mark.parametrize("mode", ["train", "eval", "predict"])
def test_an_integer_side_feature_refuses_a_pad_value_it_cannot_hold(pad, mode):
    features = sessions(4, with_category=True)
    make = collator("mlm", mode, side_feature_keys=("category",), side_feature_pad_value=pad)  # type unknown yet
    with pytest.raises(
        ValueError, match=rf"Invalid side_feature_pad_value={re.escape(repr(pad))} for side feature 'category'"
    ):
        make(features)


def test_a_real_side_feature_keeps_a_real_pad_value_and_an_integer_one_an_integral_float():
    features = [{"input_ids": [5, 6, 7], "time": [0.5, 1.0, 2.0], "category": [1, 2, 3]}]
    batch = collator("mlm", "eval", side_feature_keys=("time",), side_feature_pad_value=0.25)(
        [{k: v for k, v in row.items() if k != "category"} for row in features]
    )
    assert batch["time"].dtype == torch.float32 and batch["time"].tolist() == [[0.5, 1.0, 0.25]]
    batch = collator("mlm", "eval", side_feature_keys=("category",), side_feature_pad_value=4.0)(
        [{k: v for k, v in row.items() if k != "time"} for row in features]
    )
    assert batch["category"].dtype == torch.int64 and batch["category"].tolist() == [[1, 2, 4]]


@pytest.mark.parametrize("pad", [1e20, 0.5])
def test_a_model_with_an_embedded_side_feature_refuses_such_a_pad_value_up_front(pad):
    with pytest.raises(
        ValueError, match=rf"Invalid side_feature_pad_value={re.escape(repr(pad))} for side feature 'category'"
    ):
        SeqRecConfig(
            backbone_config=backbone_config("bert"),
            scheme="mlm",
            side_features={"time": 0, "category": 5},
            masking={"side_feature_pad_value": pad},
        )
    SeqRecConfig(  # a real-valued feature alone takes it
        backbone_config=backbone_config("bert"),
        scheme="mlm",
        side_features={"time": 0},
        masking={"side_feature_pad_value": 0.5},
    )


@pytest.mark.parametrize("mode", ["train", "eval", "predict"])
@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("gpt2", "clm"), ("xlnet", "plm")])
def test_pad_to_multiple_of_never_widens_a_batch_past_max_seq_length(family, scheme, mode):
    model = tiny_model(family, scheme, max_seq_length=10)
    make = model.data_collator(mode, pad_to_multiple_of=8)
    long_rows = [{"input_ids": list(range(2, 14))}, {"input_ids": [5, 6, 7]}]  # 12 items, cut to the 10 newest
    short_rows = [{"input_ids": [5, 6, 7, 8, 9]}, {"input_ids": [5, 6]}]
    for rows, width in ((long_rows, 10), (short_rows, 8)):  # 16 capped at 10; 8 as asked
        batch = make(rows)
        assert batch["input_ids"].shape == (2, width)
        model.eval()
        with torch.no_grad():
            model(**batch)  # the model accepts the batch (spec.check_batch refused the 16-wide one)
