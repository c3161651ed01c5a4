"""The batches through plain HF models (tiny configs built here): accepted as is, and leak-free."""

import pytest
import torch
from transformers import BertForMaskedLM, ElectraForMaskedLM, GPT2LMHeadModel, XLNetLMHeadModel

from hf_seqmask import CausalCollator, MaskedCollator, PermutationCollator, ReplacementCollator

from .._tiny import backbone_config

V, PAD, MASK = 40, 0, 1
FEATURES = [{"input_ids": [5, 6, 7, 8, 9, 10, 11]}, {"input_ids": [12, 13, 14]}, {"input_ids": [15]}, {"input_ids": []}]
NOT_MODEL_INPUTS = ("mask_positions", "prediction_positions")


def _tiny(name):
    """A plain HF model (not the hf_seqmask wrapper) of the family, with the tests' tiny config."""
    torch.manual_seed(0)
    model_class = {
        "gpt2": GPT2LMHeadModel,
        "bert": BertForMaskedLM,
        "electra": ElectraForMaskedLM,
        "xlnet": XLNetLMHeadModel,
    }[name]
    return model_class(backbone_config(name, vocab=V)).eval()


def _model_inputs(batch):
    return {k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS}


@pytest.mark.parametrize(
    ("model_name", "collator"),
    [
        ("gpt2", CausalCollator(vocab_size=V, mask_token_id=MASK, seed=0)),
        ("bert", MaskedCollator(vocab_size=V, mask_token_id=MASK, seed=0)),
        ("electra", ReplacementCollator(vocab_size=V, mask_token_id=MASK, seed=0)),
        ("xlnet", PermutationCollator(vocab_size=V, mask_token_id=MASK, seed=0)),
        ("xlnet", CausalCollator(vocab_size=V, mask_token_id=MASK, seed=0, causal_perm_mask=True)),
        ("xlnet", MaskedCollator(vocab_size=V, mask_token_id=MASK, seed=0)),
    ],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_plain_hf_models_take_the_batch_as_is(model_name, collator, mode):
    batch = collator.with_mode(mode)(FEATURES)
    output = _tiny(model_name)(**_model_inputs(batch))
    assert torch.isfinite(output.loss)
    assert output.logits.shape == (*batch["input_ids"].shape, V)


def _unhidden(batch):
    """The batch's input ids with every target put back (what a leaking model would see)."""
    targets = batch["labels"] != -100
    return torch.where(targets, batch["labels"], batch["input_ids"])


def _xlnet_logits(model, batch, input_ids):
    with torch.no_grad():
        return model(
            input_ids=input_ids,
            attention_mask=batch["attention_mask"],
            perm_mask=batch["perm_mask"],
            target_mapping=batch["target_mapping"],
        ).logits


@pytest.mark.parametrize("seed", range(3))
def test_xlnet_perm_mask_hides_every_target_from_itself_and_earlier_targets(seed):
    """Even with the targets NOT hidden in the input, XLNet's prediction at a target cannot see its own
    item nor any target later in the order: changing one target item moves only the predictions of
    targets after it in the order."""
    model = _tiny("xlnet")
    features = [{"input_ids": list(range(2 + i, 14 + i))} for i in range(3)]
    options = dict(vocab_size=V, mask_token_id=MASK, seed=seed, plm_probability=0.5, max_span_length=2)
    batch = PermutationCollator(**options)(features)
    order = PermutationCollator(perm_format="compact", **options)(features)["perm_order"]
    inputs = _unhidden(batch)
    base = _xlnet_logits(model, batch, inputs)
    moved_any = False
    for b, j in (order >= 0).nonzero().tolist():
        changed = inputs.clone()
        changed[b, j] = 39 if inputs[b, j] != 39 else 38
        logits = _xlnet_logits(model, batch, changed)
        may_not_see = (order[b] <= order[b, j]).nonzero().flatten()  # incl. j itself and every non-target
        torch.testing.assert_close(logits[b, may_not_see], base[b, may_not_see], rtol=0, atol=1e-6)
        may_see = (order[b] > order[b, j]).nonzero().flatten()
        moved_any |= bool(may_see.numel()) and not torch.allclose(logits[b, may_see], base[b, may_see])
    assert moved_any, "the test must be able to fail: later targets do see earlier ones"


def test_xlnet_causal_perm_mask_never_sees_the_future():
    model = _tiny("xlnet")
    collator = CausalCollator(vocab_size=V, mask_token_id=MASK, causal_perm_mask=True)
    batch = collator(FEATURES[:2])
    inputs = batch["input_ids"].clone()
    base = _xlnet_logits(model, batch, inputs)
    for t in range(1, 6):  # row 0 has 7 items: a later position exists to see the change
        changed = inputs.clone()
        changed[0, t] = 39
        logits = _xlnet_logits(model, batch, changed)
        torch.testing.assert_close(logits[0, : t + 1], base[0, : t + 1], rtol=0, atol=1e-6)  # t predicted w/o t
        assert not torch.allclose(logits[0, t + 1 :], base[0, t + 1 :])


@pytest.mark.parametrize(
    ("model_name", "collator"),
    [
        ("gpt2", CausalCollator(vocab_size=V, mask_token_id=MASK)),
        ("xlnet", CausalCollator(vocab_size=V, mask_token_id=MASK, causal_perm_mask=True)),
        ("bert", MaskedCollator(vocab_size=V, mask_token_id=MASK)),
        ("xlnet", PermutationCollator(vocab_size=V, mask_token_id=MASK)),
    ],
)
def test_eval_prediction_equals_predict_mode_on_the_history(model_name, collator):
    """The eval prediction for a row's last item is the predict-mode prediction on the items before it:
    the target never reaches the model, and ``prediction_positions`` point at the right place."""
    model = _tiny(model_name)
    evaluation = collator.with_mode("eval")(FEATURES[:2])
    history = [{"input_ids": f["input_ids"][:-1]} for f in FEATURES[:2]]
    prediction = collator.with_mode("predict")(history)
    with torch.no_grad():
        eval_logits = model(**_model_inputs(evaluation)).logits
        predict_logits = model(**{k: v for k, v in _model_inputs(prediction).items()}).logits
    rows = torch.arange(2)
    at_eval = eval_logits[rows, evaluation["prediction_positions"]]
    at_predict = predict_logits[rows, prediction["prediction_positions"]]
    torch.testing.assert_close(at_eval, at_predict, rtol=1e-5, atol=1e-5)
