"""Direct unit tests of the padding helpers (hf_seqmask._padding): small golden inputs, every output
compared in full (values and dtypes)."""

import re

import numpy as np
import pytest
import torch

from hf_seqmask import _padding


def assert_array(actual, expected, dtype):
    assert actual.dtype == dtype
    assert actual.tolist() == expected


def assert_tensor(actual, expected, dtype):
    assert isinstance(actual, torch.Tensor) and actual.dtype == dtype
    assert actual.tolist() == expected


@pytest.mark.parametrize(
    "rows",
    [
        [[3, 4], [], [5]],
        [(3, 4), (), (5,)],
        [np.array([3, 4]), np.array([], dtype=np.int32), np.array([5], dtype=np.uint8)],
        [torch.tensor([3, 4]), torch.tensor([], dtype=torch.long), torch.tensor([5], dtype=torch.int32)],
        [[3, 4], np.array([]), torch.tensor([5])],  # mixed containers: the row-by-row path
    ],
)
def test_flatten_id_rows(rows):
    flat, lengths = _padding.flatten_id_rows(rows, key="input_ids")
    assert_array(flat, [3, 4, 5], np.int64)
    assert_array(lengths, [2, 0, 1], np.int64)


def test_flatten_feature_rows_keeps_integers_and_makes_reals_float32():
    flat, lengths = _padding.flatten_feature_rows([[1, 2], [3]], key="category")
    assert_array(flat, [1, 2, 3], np.int64)
    assert_array(lengths, [2, 1], np.int64)
    flat, lengths = _padding.flatten_feature_rows([[0.5, 2], [True]], key="time")
    assert_array(flat, [0.5, 2.0, 1.0], np.float32)
    assert_array(lengths, [2, 1], np.int64)
    flat, lengths = _padding.flatten_feature_rows([[], []], key="time")  # no value: int64
    assert_array(flat, [], np.int64)
    assert_array(lengths, [0, 0], np.int64)


def test_flatten_names_the_bad_row_position_and_value():
    with pytest.raises(TypeError, match=r"row 1 of 'input_ids': position 1 holds 2.5 \(float\); expected integers"):
        _padding.flatten_id_rows([[3], [4, 2.5]], key="input_ids")
    with pytest.raises(TypeError, match=r"row 0 of 'input_ids': position 0 holds True \(bool\)"):
        _padding.flatten_id_rows([[True, 3]], key="input_ids")
    with pytest.raises(
        TypeError, match=r"row 0 of 'c': expected a list, tuple, 1-D numpy array or 1-D tensor, got str"
    ):
        _padding.flatten_feature_rows(["abc"], key="c")


def test_row_of_flat_index():
    lengths = np.array([2, 0, 3])
    assert [_padding.row_of_flat_index(lengths, i) for i in range(5)] == [(0, 0), (0, 1), (2, 0), (2, 1), (2, 2)]


def test_keep_most_recent():
    flat, lengths = _padding.keep_most_recent(np.array([1, 2, 3, 4, 5, 6]), np.array([3, 0, 1, 2]), 2)
    assert_array(flat, [2, 3, 4, 5, 6], np.int64)
    assert_array(lengths, [2, 0, 1, 2], np.int64)
    same, same_lengths = _padding.keep_most_recent(np.array([1.5, 2.5], np.float32), np.array([1, 1]), 2)
    assert_array(same, [1.5, 2.5], np.float32)  # nothing to cut: returned as is
    assert_array(same_lengths, [1, 1], np.int64)


def test_keep_windows_cuts_each_long_row_at_its_start_and_refuses_a_start_outside_it():
    flat, lengths = np.arange(10, 19), np.array([5, 1, 3])
    kept, kept_lengths = _padding.keep_windows(flat, lengths, 2, np.array([3, 0, 1]))
    assert_array(kept, [13, 14, 15, 17, 18], np.int64)
    assert_array(kept_lengths, [2, 1, 2], np.int64)
    with pytest.raises(ValueError, match=r"row 2: window start 2 outside \[0, 1\]"):
        _padding.keep_windows(flat, lengths, 2, np.array([0, 0, 2]))


def test_scatter_padded():
    real = np.arange(3) < np.array([2, 0, 3])[:, None]
    assert_array(
        _padding.scatter_padded(np.array([7, 8, 1, 2, 3]), real, 0), [[7, 8, 0], [0, 0, 0], [1, 2, 3]], np.int64
    )
    values = np.array([0.5, 1.5], np.float32)
    assert_array(_padding.scatter_padded(values, real[:1], -1), [[0.5, 1.5, -1.0]], np.float32)


def test_all_but_last():
    assert_array(
        _padding.all_but_last(np.array([1, 2, 3, 4, 5]), np.array([3, 0, 2]), 0), [[1, 2], [0, 0], [4, 0]], np.int64
    )
    assert_array(_padding.all_but_last(np.array([9]), np.array([1]), 0), [[0]], np.int64)  # width >= 1


@pytest.mark.parametrize(
    ("longest", "slot", "multiple", "max_width", "width"),
    [
        (0, False, None, None, 1),  # an all-empty batch: one padding column
        (0, True, None, None, 1),
        (5, False, None, None, 5),
        (5, True, None, None, 6),
        (5, False, 8, None, 8),
        (8, False, 8, None, 8),
        (9, False, 8, None, 16),
        (9, False, 8, 10, 10),  # rounding capped at max_width
        (5, False, 8, 10, 8),  # rounding within max_width: kept
        (9, True, 8, 10, 10),
        (3, False, 4, 3, 3),
    ],
)
def test_padded_width(longest, slot, multiple, max_width, width):
    assert _padding.padded_width(longest, slot=slot, pad_to_multiple_of=multiple, max_width=max_width) == width


def test_fits_int64():
    fits = [0, -3, 2.0, 2**63 - 1, -(2**63), np.int64(5)]
    misfits = [0.5, 1e20, 2**63, -(2**63) - 1, 9.3e18, float(2**63)]
    assert [_padding.fits_int64(value) for value in fits] == [True] * len(fits)
    assert [_padding.fits_int64(value) for value in misfits] == [False] * len(misfits)


def test_feature_values_refuses_a_pad_value_integers_cannot_hold():
    integers = np.array([1, 2])
    assert _padding.feature_values(integers, key="c", pad_value=3.0) is integers
    reals = np.array([0.5], np.float32)
    assert _padding.feature_values(reals, key="t", pad_value=0.25) is reals
    assert_array(_padding.feature_values(np.zeros(0, np.int64), key="c", pad_value=0.5), [], np.float32)
    for pad in (0.5, 1e20):
        with pytest.raises(
            ValueError, match=rf"Invalid side_feature_pad_value={re.escape(repr(pad))} for side feature 'c': its values"
        ):
            _padding.feature_values(integers, key="c", pad_value=pad)


def _pad(features, **options):
    defaults = dict(
        input_key="input_ids",
        side_feature_keys=(),
        pad_token_id=0,
        side_feature_pad_value=0,
        history_limit=None,
        slot=False,
        pad_to_multiple_of=None,
        max_width=None,
        emit_seen=False,
        check_ids=lambda flat, lengths: None,
        output_keys=("labels",),
    )
    return _padding.pad_examples(features, **{**defaults, **options})


def test_pad_examples_plain():
    padded = _pad([{"input_ids": [5, 6, 7]}, {"input_ids": []}, {"input_ids": [8]}])
    assert_tensor(padded.items, [[5, 6, 7], [0, 0, 0], [8, 0, 0]], torch.int64)
    assert_tensor(padded.real, [[True, True, True], [False, False, False], [True, False, False]], torch.bool)
    assert_tensor(padded.lengths, [3, 0, 1], torch.int64)
    assert_tensor(padded.slot, [[False] * 3] * 3, torch.bool)
    assert padded.side_features == {} and padded.passthrough == {} and padded.seen is None
    assert (padded.truncated_rows, padded.truncated_items) == (0, 0)


def test_pad_examples_with_every_option():
    features = [
        {"input_ids": [5, 6, 7, 9], "cat": [1, 2, 3, 4], "t": [0.5, 1.0, 1.5, 2.0], "user": 10},
        {"input_ids": [8], "cat": [4], "t": [3.0], "user": 11},
        {"input_ids": [], "cat": [], "t": [], "user": 12},
    ]
    calls = []
    padded = _pad(
        features,
        side_feature_keys=("cat", "t"),
        pad_token_id=2,
        side_feature_pad_value=-1,
        history_limit=2,
        slot=True,
        pad_to_multiple_of=4,
        max_width=3,
        emit_seen=True,
        check_ids=lambda flat, lengths: calls.append((flat.tolist(), lengths.tolist())),
    )
    assert calls == [([5, 6, 7, 9, 8], [4, 1, 0])]  # checked once, before truncation
    assert_tensor(padded.items, [[7, 9, 2], [8, 2, 2], [2, 2, 2]], torch.int64)  # width 3: 4 capped at max_width
    assert_tensor(padded.real, [[True, True, False], [True, False, False], [False, False, False]], torch.bool)
    assert_tensor(padded.lengths, [2, 1, 0], torch.int64)
    assert_tensor(padded.slot, [[False, False, True], [False, True, False], [False, False, False]], torch.bool)
    assert set(padded.side_features) == {"cat", "t"}
    assert_tensor(padded.side_features["cat"], [[3, 4, -1], [4, -1, -1], [-1, -1, -1]], torch.int64)
    assert_tensor(padded.side_features["t"], [[1.5, 2.0, -1.0], [3.0, -1.0, -1.0], [-1.0, -1.0, -1.0]], torch.float32)
    assert set(padded.passthrough) == {"user"}
    assert_tensor(padded.passthrough["user"], [10, 11, 12], torch.int64)
    assert_tensor(padded.seen, [[5, 6, 7], [2, 2, 2], [2, 2, 2]], torch.int64)  # the whole stored row
    assert (padded.truncated_rows, padded.truncated_items) == (1, 2)


def test_pad_examples_names_what_is_wrong():
    with pytest.raises(TypeError, match="features must be a list of example dicts, got dict"):
        _pad({"input_ids": [1]})
    with pytest.raises(ValueError, match="empty batch: features holds no example"):
        _pad([])
    with pytest.raises(ValueError, match=r"row 1 has no key 'input_ids'; its keys are \['items'\]"):
        _pad([{"input_ids": [3]}, {"items": [3]}])
    with pytest.raises(ValueError, match="row 0: side feature 'cat' has 1 values but 'input_ids' has 2 items"):
        _pad([{"input_ids": [3, 4], "cat": [1]}], side_feature_keys=("cat",))
    with pytest.raises(ValueError, match=r"row 1 has other keys than row 0 \(extra \['b'\], missing \[\]\)"):
        _pad([{"input_ids": [3]}, {"input_ids": [3], "b": 1}])
    with pytest.raises(ValueError, match=r"row 1 has no key 'a'; its keys are \['b', 'input_ids'\]"):
        _pad([{"input_ids": [3], "a": 1}, {"input_ids": [3], "b": 1}])  # same count, a swapped key
    with pytest.raises(ValueError, match="example key 'labels' collides with an output key"):
        _pad([{"input_ids": [3], "labels": 1}])
    with pytest.raises(TypeError, match="per-row field 'name' could not be batched"):
        _pad([{"input_ids": [3], "name": object()}])
    with pytest.raises(ValueError, match=r"Invalid side_feature_pad_value=0.5 for side feature 'cat'"):
        _pad([{"input_ids": [3], "cat": [1]}], side_feature_keys=("cat",), side_feature_pad_value=0.5)
