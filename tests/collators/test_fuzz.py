"""Fuzzed inputs: thousands of random ragged batches through every scheme and mode.

Either the documented invariants hold or a clear ValueError/TypeError is raised: never an error from
inside torch, never a silently dropped row. Long sequences (L = 1,000) and the compact PLM's memory.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_seqmask import IGNORE_INDEX, SCHEMES, expand_perm_order

from .._tiny import tiny_model

VOCAB, MASK = 300, 1
DTYPES = ["list", "int64", "int32", "int16", "uint8", "tensor_int32", "tensor_int16"]


def _as(row, kind):
    if kind == "list":
        return list(row)
    if kind.startswith("tensor_"):
        return torch.tensor(row, dtype=getattr(torch, kind.removeprefix("tensor_")))
    return np.asarray(row, dtype=kind)


@st.composite
def fuzz_case(draw):
    scheme = draw(st.sampled_from(sorted(SCHEMES)))
    mode = draw(st.sampled_from(["train", "eval", "predict"]))
    kind = draw(st.sampled_from(DTYPES))
    top = 255 if kind == "uint8" else VOCAB - 1
    item = st.one_of(st.integers(2, top), st.just(top))  # ids at the top of the range are common
    rows = draw(st.lists(st.lists(item, max_size=draw(st.sampled_from([0, 1, 2, 12]))), min_size=1, max_size=6))
    max_length = draw(st.sampled_from([None, 1, 2, 5]))
    return scheme, mode, kind, rows, max_length


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=fuzz_case(), seed=st.integers(0, 2**16))
def test_fuzzed_batches_keep_the_contract(case, seed):
    scheme, mode, kind, rows, max_length = case
    collator = SCHEMES[scheme](vocab_size=VOCAB, mask_token_id=MASK, seed=seed, mode=mode, max_length=max_length,
                               side_feature_keys=("time",))  # fmt: skip
    features = [{"input_ids": _as(row, kind), "time": [float(t) for t in range(len(row))]} for row in rows]
    batch = collator(features)
    limit = collator.history_limit  # max_length, or max_length - 1 in predict mode
    kept = [(row[-limit:] if limit else []) if limit is not None else row for row in rows]
    lengths = torch.tensor([len(r) for r in kept])
    assert batch["input_ids"].shape[0] == len(rows), "no row dropped"
    assert batch["input_ids"].dtype == torch.int64
    # an all-empty column shows no value to take a dtype from: int64 then (documented)
    assert batch["time"].dtype == (torch.float32 if any(rows) else torch.int64)  # the input's dtype, cut or not
    slot = int(mode == "predict" and collator.predict_slot)
    expected_attended = lengths + slot * (lengths > 0)
    assert torch.equal(batch["attention_mask"].sum(1), expected_attended), "every kept item is attended"
    assert ((batch["input_ids"] >= 0) & (batch["input_ids"] < VOCAB)).all()
    if "labels" in batch:
        targets = batch["labels"] != IGNORE_INDEX
        assert not targets[lengths < 2].any(), "rows with < 2 items give no target"
        assert (batch["labels"][targets] >= 2).all() and (batch["labels"][targets] < VOCAB).all()
    if "prediction_positions" in batch:
        positions = batch["prediction_positions"]
        assert (positions >= -1).all() and (positions < batch["input_ids"].shape[1]).all()
    if "perm_mask" in batch:
        assert batch["perm_mask"].dtype == torch.float32
        assert not (batch["perm_mask"] == 0)[
            ~batch["attention_mask"].bool()[:, None, :].expand_as(batch["perm_mask"])
        ].any()


@pytest.mark.parametrize("kind", ["float_tensor", "bool_array", "float_list", "nested"])
def test_fuzz_rejections_are_clear(kind):
    bad = {
        "float_tensor": torch.tensor([5.0, 6.0]),
        "bool_array": np.array([True, False]),
        "float_list": [5, 6.5],
        "nested": [[5, 6]],
    }[kind]
    for scheme in SCHEMES:
        with pytest.raises(TypeError, match=r"row 1 of 'input_ids'"):
            SCHEMES[scheme](vocab_size=VOCAB, mask_token_id=MASK)([{"input_ids": [5]}, {"input_ids": bad}])


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm")])
def test_sequences_of_length_1000(family, scheme):
    from transformers import BertConfig, GPT2Config

    from hf_seqmask import SeqRecConfig, SeqRecModel

    if family == "gpt2":
        backbone = GPT2Config(vocab_size=VOCAB, n_positions=1001, n_embd=16, n_layer=1, n_head=2)
    else:
        backbone = BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, max_position_embeddings=1001)  # fmt: skip
    model = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme=scheme))
    rng = np.random.default_rng(0)
    features = [{"input_ids": rng.integers(2, VOCAB, 1000).tolist()} for _ in range(2)]
    collator = SCHEMES[scheme](vocab_size=VOCAB, mask_token_id=MASK, seed=0)
    loss = model(**collator(features)).loss
    assert torch.isfinite(loss)
    loss.backward()
    scores = model(**collator.with_mode("predict")(features)).logits
    assert scores.shape == (2, VOCAB)


def test_compact_plm_keeps_memory_bounded_at_length_1000():
    rng = np.random.default_rng(0)
    features = [{"input_ids": rng.integers(2, VOCAB, 1000).tolist()} for _ in range(8)]
    compact = SCHEMES["plm"](vocab_size=VOCAB, mask_token_id=MASK, seed=0, perm_format="compact")(features)
    batch_bytes = sum(v.untyped_storage().nbytes() for v in compact.values())
    dense_bytes = 8 * 1000 * 1000 * 4 * 2  # perm_mask + target_mapping as float32
    assert batch_bytes < dense_bytes / 100
    perm_mask = expand_perm_order(compact["perm_order"], compact["attention_mask"], dtype=torch.bfloat16)
    assert perm_mask.shape == (8, 1000, 1000) and perm_mask.dtype == torch.bfloat16


def test_fuzzed_batches_never_give_a_nan_loss():
    rng = np.random.default_rng(1)
    for scheme, family in (("mlm", "bert"), ("clm", "gpt2"), ("plm", "xlnet"), ("rtd", "electra")):
        model = tiny_model(family, scheme)
        collator = SCHEMES[scheme](vocab_size=48, mask_token_id=1, seed=0)
        for _ in range(25):
            rows = [rng.integers(2, 48, rng.integers(0, 4)).tolist() for _ in range(rng.integers(1, 5))]
            loss = model(**collator([{"input_ids": r} for r in rows])).loss
            assert torch.isfinite(loss), rows
