"""Every rejected input raises ValueError/TypeError naming the option or row and the bad value."""

import numpy as np
import pytest
import torch

from hf_seqmask import SCHEMES, CausalCollator, MaskedCollator, PermutationCollator, make_collator

V = 100


def _mlm(**options):
    return MaskedCollator(vocab_size=V, mask_token_id=1, seed=0, **options)


@pytest.mark.parametrize(
    ("features", "error", "match"),
    [
        ([], ValueError, "empty batch"),
        ({"input_ids": [5]}, TypeError, "list of example dicts"),
        ([[5, 6]], TypeError, r"row 0: expected an example dict, got list"),
        ([{"input_ids": [5]}, {"items": [6]}], ValueError, r"row 1 has no key 'input_ids'; its keys are \['items'\]"),
        ([{"input_ids": [5, 6.5]}], TypeError, r"row 0 of 'input_ids': position 1 holds 6.5 \(float\)"),
        ([{"input_ids": [5]}, {"input_ids": ["7"]}], TypeError, r"row 1 of 'input_ids': position 0 holds '7' \(str\)"),
        ([{"input_ids": [5]}, {"input_ids": [[6, 7]]}], TypeError, r"row 1 of 'input_ids': position 0 holds \[6, 7\]"),
        ([{"input_ids": [5]}, {"input_ids": [6, np.True_]}], TypeError, r"row 1 of 'input_ids': position 1 holds"),
        ([{"input_ids": [5, 2**63]}], TypeError, r"row 0 of 'input_ids': a value does not fit in int64"),
        ([{"input_ids": 5}], TypeError, r"row 0 of 'input_ids': expected a list, tuple.*got int"),
        ([{"input_ids": np.array([1.5])}], TypeError, r"row 0 of 'input_ids'.*dtype float64"),
        ([{"input_ids": np.array([[5, 6]])}], TypeError, r"row 0 of 'input_ids'.*shape \(1, 2\)"),
        ([{"input_ids": torch.tensor([5.0])}], TypeError, r"row 0 of 'input_ids'.*torch.float32"),
        ([{"input_ids": [5]}, {"input_ids": [6, -3]}], ValueError, r"row 1 of 'input_ids': item id -3 at position 1"),
        ([{"input_ids": [5, 100]}], ValueError, r"row 0 of 'input_ids': item id 100 at position 1 is outside"),
        ([{"input_ids": [5, 0, 6]}], ValueError, r"row 0 of 'input_ids': position 1 holds 0, which is pad_token_id"),
        ([{"input_ids": [5]}, {"input_ids": [1]}], ValueError, r"row 1 .* holds 1, which is mask_token_id"),
        ([{"input_ids": [5], "labels": [5]}], ValueError, r"example key 'labels' collides with an output key"),
        ([{"input_ids": [5], "x": [1]}, {"input_ids": [6], "x": [1, 2]}], TypeError, r"per-row field 'x'"),
    ],
)
def test_bad_features(features, error, match):
    with pytest.raises(error, match=match):
        _mlm()(features)


def test_numpy_integers_inside_list_rows_collate_like_python_ints():
    plain = _mlm()([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}])
    numpy_ints = _mlm()([{"input_ids": [np.int64(5), 6, np.int32(7)]}, {"input_ids": [8, np.uint8(9)]}])
    assert plain.keys() == numpy_ints.keys() and all(torch.equal(plain[k], numpy_ints[k]) for k in plain)


def test_special_ids_inside_a_sequence():
    with pytest.raises(ValueError, match=r"holds 7, which is special_token_ids"):
        MaskedCollator(vocab_size=V, mask_token_id=1, special_token_ids=(7,))([{"input_ids": [5, 7]}])


def test_side_feature_errors():
    collator = _mlm(side_feature_keys=("category",))
    with pytest.raises(ValueError, match=r"row 1: side feature 'category' has 1 values but 'input_ids' has 2 items"):
        collator([{"input_ids": [5], "category": [3]}, {"input_ids": [6, 7], "category": [3]}])
    with pytest.raises(ValueError, match=r"row 0 has no key 'category'"):
        collator([{"input_ids": [5]}])
    with pytest.raises(TypeError, match=r"row 0 of 'category': position 0 holds 'a'"):
        collator([{"input_ids": [5], "category": ["a"]}])


@pytest.mark.parametrize(
    ("factory", "options", "error", "match"),
    [
        (MaskedCollator, {"mlm_probabilty": 0.2}, TypeError, "mlm_probabilty"),
        (MaskedCollator, {"mlm_probability": 1.5}, ValueError, r"Invalid mlm_probability=1.5; must be in \[0, 1\]"),
        (MaskedCollator, {"mlm_probability": -0.1}, ValueError, r"Invalid mlm_probability=-0.1"),
        (MaskedCollator, {"mlm_probability": float("nan")}, ValueError, r"Invalid mlm_probability=nan"),
        (MaskedCollator, {"mask_replace_prob": 2}, ValueError, r"Invalid mask_replace_prob=2"),
        (MaskedCollator, {"random_replace_prob": -1}, ValueError, r"Invalid random_replace_prob=-1"),
        (MaskedCollator, {"mask_last_item_prob": 1.1}, ValueError, r"Invalid mask_last_item_prob=1.1"),
        (MaskedCollator, {"mask_replace_prob": 0.8, "random_replace_prob": 0.3}, ValueError, r"must be <= 1"),
        (MaskedCollator, {"mode": "eval", "eval_on_last_item_only": False}, ValueError, "would leak the targets"),
        (
            PermutationCollator,
            {"plm_probability": 0.0},
            ValueError,
            r"Invalid plm_probability=0.0; must be in \(0, 1\]",
        ),
        (PermutationCollator, {"max_span_length": 0}, ValueError, r"Invalid max_span_length=0; must be >= 1"),
        (PermutationCollator, {"max_span_length": 2.5}, TypeError, r"Invalid max_span_length=2.5; must be an int"),
        (PermutationCollator, {"perm_format": "sparse"}, ValueError, r"Invalid perm_format='sparse'"),
        (CausalCollator, {"causal_perm_mask": 1}, TypeError, r"Invalid causal_perm_mask=1; must be a bool"),
        (MaskedCollator, {"return_tensors": "np"}, ValueError, r"Invalid return_tensors='np'; only 'pt'"),
        (MaskedCollator, {"mode": "test"}, ValueError, r"Invalid mode='test'; must be one of"),
        (MaskedCollator, {"max_length": 0}, ValueError, r"Invalid max_length=0; must be >= 1"),
        (MaskedCollator, {"pad_to_multiple_of": 0}, ValueError, r"Invalid pad_to_multiple_of=0"),
        (MaskedCollator, {"seed": 1.5}, TypeError, r"Invalid seed=1.5"),
        (MaskedCollator, {"seed": True}, TypeError, r"Invalid seed=True"),
        (MaskedCollator, {"pad_token_id": 1}, ValueError, r"pad_token_id and mask_token_id must differ; both are 1"),
        (MaskedCollator, {"pad_token_id": 100}, ValueError, r"Invalid pad_token_id=100; must be < vocab_size=100"),
        (MaskedCollator, {"special_token_ids": (100,)}, ValueError, r"special_token_ids entry 100"),
        (MaskedCollator, {"side_feature_keys": "category"}, TypeError, r"Invalid side_feature_keys='category'"),
        (MaskedCollator, {"side_feature_keys": ("labels",)}, ValueError, r"side_feature_keys entry 'labels'"),
        (MaskedCollator, {"side_feature_keys": ("a", "a")}, ValueError, r"names repeat"),
    ],
)
def test_bad_options(factory, options, error, match):
    with pytest.raises(error, match=match):
        factory(vocab_size=V, mask_token_id=1, **options)


def test_bad_vocab_and_mask_ids():
    with pytest.raises(ValueError, match=r"Invalid vocab_size=0; must be >= 1"):
        MaskedCollator(vocab_size=0, mask_token_id=1)
    with pytest.raises(ValueError, match=r"Invalid mask_token_id=-1; must be >= 0"):
        MaskedCollator(vocab_size=V, mask_token_id=-1)
    with pytest.raises(TypeError, match="mask_token_id"):
        MaskedCollator(vocab_size=V)


def test_return_tensors_at_call_time():
    with pytest.raises(ValueError, match=r"Invalid return_tensors='tf'"):
        _mlm()([{"input_ids": [5]}], return_tensors="tf")


def test_unknown_scheme():
    with pytest.raises(ValueError, match=r"Invalid scheme='bert'; must be one of \['clm', 'mlm', 'plm', 'rtd'\]"):
        make_collator("bert", vocab_size=V, mask_token_id=1)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_empty_and_length_one_rows_are_legal(scheme):
    for mode in ("train", "eval", "predict"):
        batch = SCHEMES[scheme](vocab_size=V, mask_token_id=1, seed=0, mode=mode)(
            [{"input_ids": []}, {"input_ids": [5]}]
        )
        if "labels" in batch:
            assert (batch["labels"] == -100).all()
