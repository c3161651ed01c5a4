"""The collators' size-dependent fast paths (chosen for speed by batch size) give the same batches and
the same errors on both sides of their thresholds."""

import numpy as np
import pytest

from hf_seqmask import SCHEMES, _padding
from hf_seqmask.collators._base import SequenceCollator

from .._tiny import assert_same_batch, collator, sessions


@pytest.mark.parametrize("mode", ["train", "eval", "predict"])
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_numpy_and_torch_assembly_give_the_same_batch(monkeypatch, scheme, mode):
    rows = sessions(24, with_category=True)
    options = {"side_feature_keys": ("category",)}
    if scheme == "mlm" and mode == "train":
        options.update(mask_replace_prob=0.5, random_replace_prob=0.3)  # random replacement as well
    batches = []
    for limit in (0, 10**9):  # every batch through torch, then every batch through numpy
        monkeypatch.setattr(SequenceCollator, "_numpy_outputs_up_to", limit)
        batches.append(collator(scheme, mode, **options)(rows))
    assert_same_batch(*batches)


@pytest.mark.parametrize("count", [10, _padding._STRUCT_UP_TO + 1])
def test_list_rows_convert_and_refuse_the_same_on_both_sides_of_the_struct_threshold(count):
    rng = np.random.default_rng(0)
    values = rng.integers(2, 40, count).tolist()
    rows = [values[: count // 2], values[count // 2 :]]
    flat, lengths = _padding.flatten_id_rows(rows, key="input_ids")
    assert flat.tolist() == values and lengths.tolist() == [count // 2, count - count // 2]
    for bad, message in ((2.5, r"holds 2\.5 \(float\)"), ("7", r"holds '7' \(str\)"), (None, "holds None")):
        broken = [rows[0], [*rows[1][:-1], bad]]
        with pytest.raises(TypeError, match=rf"row 1 of 'input_ids': position {len(rows[1]) - 1} {message}"):
            _padding.flatten_id_rows(broken, key="input_ids")
    with pytest.raises(TypeError, match="row 1 of 'input_ids': a value does not fit in int64"):
        _padding.flatten_id_rows([rows[0], [*rows[1][:-1], 2**63]], key="input_ids")
