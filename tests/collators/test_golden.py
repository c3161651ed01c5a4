"""Golden batches: lengths 3, 5, 1, 0 with a side feature and a per-row field, every scheme and mode.

Each expected batch was checked by hand against the batch contract; the test compares the exact key
set (in order), every dtype and every value.
"""

import pytest
import torch

from hf_seqmask import SCHEMES

from ._golden_data import FEATURES, GOLDEN

PERM_KEYS = ("perm_mask", "target_mapping")


def _as_plain(key, tensor):
    if key in PERM_KEYS:
        return [["".join(str(int(x)) for x in row) for row in matrix] for matrix in tensor.tolist()]
    return tensor.tolist()


def flat(batch):
    """Nested dicts of tensors (rtd's ``unmasked_side_features``) as ``"outer.inner"`` keys."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            out.update({f"{key}.{inner}": tensor for inner, tensor in value.items()})
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda case: f"{case[0]}-{dict(case[1])}-{case[2]}")
def test_golden_batch(case):
    scheme, extra, mode = case
    options = dict(vocab_size=20, mask_token_id=1, seed=0, mode=mode, side_feature_keys=("category",))
    options.update(dict(extra))
    batch = flat(SCHEMES[scheme](**options)(FEATURES))
    expected = GOLDEN[case]
    assert list(batch) == list(expected)
    for key, (dtype, value) in expected.items():
        assert batch[key].dtype == getattr(torch, dtype), key
        assert _as_plain(key, batch[key]) == value, key


def test_golden_cases_cover_every_scheme_and_mode():
    covered = {(scheme, mode) for scheme, _, mode in GOLDEN}
    assert covered == {(s, m) for s in SCHEMES for m in ("train", "eval", "predict")}
