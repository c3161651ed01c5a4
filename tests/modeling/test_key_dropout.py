"""Attention dropout per key (``SeqRecConfig(attention_dropout_unit="key")``): SDPA itself outside
training (padding and causal masks included), whole keys dropped in training, no leak, clear refusals."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface

from hf_seqmask import SeqRecConfig, SeqRecModel
from hf_seqmask.modeling.key_dropout import KEY_DROPOUT_ATTENTION, key_dropout_sdpa_attention
from tests._tiny import backbone_config, collator, sessions, tiny_model

KEY_PAIRS = [("gpt2", "clm"), ("bert", "mlm"), ("electra", "mlm"), ("bert", "rtd")]


def _per_weight_and_per_key(family, scheme):
    """Two models with the same weights: HF's attention dropout, and attention dropout per key."""
    per_weight = tiny_model(family, scheme)
    per_key = tiny_model(family, scheme, attention_dropout_unit="key")
    per_key.load_state_dict(per_weight.state_dict())
    return per_weight, per_key


@pytest.mark.parametrize(("family", "scheme"), KEY_PAIRS)
def test_outside_training_it_is_sdpa_on_padded_batches(family, scheme):
    per_weight, per_key = _per_weight_and_per_key(family, scheme)
    assert per_key.backbone.config._attn_implementation == KEY_DROPOUT_ATTENTION
    assert per_weight.backbone.config._attn_implementation == "sdpa"
    batch = collator(scheme, "eval")(sessions(12, seed=3))  # rows of 1..16 items: padded
    assert (batch["input_ids"] == 0).any()
    with torch.no_grad():
        expected = per_weight.eval()(**batch).logits
        got = per_key.eval()(**batch).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_a_dropped_key_is_dropped_for_every_query():
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(2, 2, 6, 4, generator=generator) for _ in range(3))
    torch.manual_seed(1)
    keep = F.dropout(torch.ones(2, 2, 6, 1), p=0.5)  # the draw the attention makes under the same seed
    torch.manual_seed(1)
    out, _ = key_dropout_sdpa_attention(nn.Module(), query, key, value, None, dropout=0.5, is_causal=False)
    expected = F.scaled_dot_product_attention(query, key, value * keep).transpose(1, 2)
    torch.testing.assert_close(out, expected)
    assert (keep == 0).any() and (keep == 2).any()
    dropped = (keep[..., 0] == 0).nonzero()[0].tolist()  # (batch, head, key)
    kept = (keep[..., 0] == 2).nonzero()[0].tolist()
    for (b, h, j), changes in ((dropped, False), (kept, True)):
        moved = value.clone()
        moved[b, h, j] += 10.0
        torch.manual_seed(1)
        other, _ = key_dropout_sdpa_attention(nn.Module(), query, key, moved, None, dropout=0.5, is_causal=False)
        differs = (other[b, :, h] - out[b, :, h]).abs().amax(dim=-1) > 1e-4  # per query
        assert bool(differs.all()) is changes  # a dropped key reaches no query; a kept one every query


def test_training_with_key_dropout_never_sees_the_future():
    model = tiny_model("gpt2", "clm", attention_dropout_unit="key").train()
    every_next_item = collator("clm")
    items = list(range(5, 17))

    def logits(sequence):
        torch.manual_seed(0)  # the same keys dropped in both forwards
        return model(**every_next_item([{"input_ids": sequence}])).logits

    with torch.no_grad():
        base = logits(items)
        for t in range(2, 11):
            changed = logits([*items[:t], 40, *items[t + 1 :]])
            torch.testing.assert_close(changed[:t], base[:t], rtol=0, atol=1e-6)
            assert not torch.allclose(changed[t:], base[t:])


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm")])
def test_training_draws_key_masks_at_the_attention_rate(family, scheme, monkeypatch):
    # Attention dropout alone (the other sites at 0): training differs from eval only through the keys.
    backbone = backbone_config(family)
    if family == "gpt2":
        backbone.attn_pdrop, backbone.resid_pdrop, backbone.embd_pdrop = 0.3, 0.0, 0.0
    else:
        backbone.attention_probs_dropout_prob, backbone.hidden_dropout_prob = 0.3, 0.0
    model = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme=scheme, attention_dropout_unit="key"))
    rates = []

    def recording(module, query, key, value, attention_mask, dropout=0.0, **kwargs):
        rates.append(dropout)
        return key_dropout_sdpa_attention(module, query, key, value, attention_mask, dropout=dropout, **kwargs)

    monkeypatch.setitem(AttentionInterface._global_mapping, KEY_DROPOUT_ATTENTION, recording)
    batch = model.data_collator("eval", seed=0)(sessions(6, seed=5))
    with torch.no_grad():
        trained = model.train()(**batch).logits
        assert rates == [0.3, 0.3]  # both layers, the config's rate
        evaluated = model.eval()(**batch).logits
    assert rates[2:] == [0.0, 0.0] and not torch.allclose(trained, evaluated)


def test_in_expectation_it_is_sdpa():
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(1, 2, 6, 4, generator=generator).expand(20_000, -1, -1, -1) for _ in range(3))
    torch.manual_seed(0)
    out, _ = key_dropout_sdpa_attention(nn.Module(), query, key, value, None, dropout=0.3, is_causal=True)
    expected = F.scaled_dot_product_attention(query[:1], key[:1], value[:1], is_causal=True).transpose(1, 2)
    torch.testing.assert_close(out.mean(dim=0, keepdim=True), expected, rtol=0, atol=0.02)
    assert (out - expected).abs().amax() > 0.1  # single draws do drop keys


def test_left_padding_is_masked_as_sdpa_masks_it():
    # With right padding a causal model never looks at the pads; left padding needs the padding mask.
    per_weight, per_key = (model.eval() for model in _per_weight_and_per_key("gpt2", "clm"))
    input_ids = torch.tensor([[0, 0, 5, 6, 7], [3, 4, 5, 6, 7]])
    attention_mask = (input_ids != 0).long()
    with torch.no_grad():
        expected = per_weight.backbone.base_model(input_ids=input_ids, attention_mask=attention_mask)
        got = per_key.backbone.base_model(input_ids=input_ids, attention_mask=attention_mask)
        unmasked = per_weight.backbone.base_model(input_ids=input_ids)
    torch.testing.assert_close(got.last_hidden_state, expected.last_hidden_state)
    assert not torch.allclose(unmasked.last_hidden_state[0, 2:], expected.last_hidden_state[0, 2:])


def test_the_unit_is_saved_with_the_model(tmp_path):
    tiny_model("bert", "mlm", attention_dropout_unit="key").save_pretrained(tmp_path)
    loaded = SeqRecModel.from_pretrained(tmp_path)
    assert loaded.config.attention_dropout_unit == "key"
    assert loaded.backbone.config._attn_implementation == KEY_DROPOUT_ATTENTION
    older = SeqRecConfig.from_dict({k: v for k, v in loaded.config.to_dict().items() if k != "attention_dropout_unit"})
    assert older.attention_dropout_unit == "weight"


def test_refusals_name_the_option():
    with pytest.raises(ValueError, match="attention_dropout_unit='keys'"):
        SeqRecConfig(backbone_config=backbone_config("gpt2"), scheme="clm", attention_dropout_unit="keys")
    with pytest.raises(ValueError, match=r"attention_dropout_unit=.key.*XLNet"):
        SeqRecConfig(backbone_config=backbone_config("xlnet"), scheme="plm", attention_dropout_unit="key")


def test_the_training_forward_is_traced_whole_and_the_export_equals_per_weight():
    from hf_seqmask.export import INPUT_NAMES, export_program

    per_weight, per_key = _per_weight_and_per_key("gpt2", "clm")
    batch = per_key.data_collator("train", seed=0)(sessions(8, seed=2))
    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):
        explanation = torch._dynamo.explain(per_key.train())(**batch)
    assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]
    # Serving is the same graph as the per-weight model's: the unit only matters in training.
    predict = per_key.data_collator("predict")(sessions(5, seed=4))
    inputs = {name: predict[name] for name in INPUT_NAMES}
    exported = export_program(per_key.eval()).module()(**inputs)
    expected = export_program(per_weight.eval()).module()(**inputs)
    torch.testing.assert_close(exported, expected)
