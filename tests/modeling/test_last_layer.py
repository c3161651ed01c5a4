"""The last layer at the scored positions only (``SeqRecConfig(last_layer_at_scored_positions=True)``):
the full model's outputs, loss and gradients where they are read (mlm; rtd's masked passes), on padded
batches, with every attention function and side features; the saved model and a deep copy keep it; clear refusals."""

import copy
import pickle

import pytest
import torch

from hf_seqmask import SeqRecConfig, SeqRecModel
from hf_seqmask.modeling.last_layer import (
    QUERY_MASK,
    ScoredPositionsBertLayer,
    use_last_layer_at_scored_positions,
)
from tests._tiny import backbone_config, collator, sessions, tiny_model


def _full_and_pruned(family, dropout=None, **config):
    """Two models with the same weights: the whole last layer, and the last layer at scored positions."""
    backbone = backbone_config(family)
    if dropout is not None:
        backbone.hidden_dropout_prob = backbone.attention_probs_dropout_prob = dropout
    full = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme="mlm", seed=0, **config))
    pruned = SeqRecModel(
        SeqRecConfig(backbone_config=backbone, scheme="mlm", seed=0, last_layer_at_scored_positions=True, **config)
    )
    pruned.load_state_dict(full.state_dict())
    return full, pruned


def _rows_through_last_feed_forward(model, run):
    """The row counts the last layer's feed-forward block sees while ``run()`` runs."""
    rows = []
    layer = model.backbone.base_model.encoder.layer[-1]
    hook = layer.intermediate.register_forward_hook(
        lambda module, args, output: rows.append(args[0].shape[:-1].numel())
    )
    try:
        run()
    finally:
        hook.remove()
    return rows


def _scored(batch):
    scored = batch["labels"] != -100
    positions = batch["prediction_positions"]
    scored[torch.arange(len(scored))[positions >= 0], positions[positions >= 0]] = True  # -1: no prediction
    return int(scored.sum())


@pytest.mark.parametrize("family", ["bert", "electra"])
@pytest.mark.parametrize("attention", ["sdpa", "eager", "key"])
def test_evaluation_is_the_full_models_on_padded_batches(family, attention):
    unit = "key" if attention == "key" else "weight"
    full, pruned = _full_and_pruned(family, attention_dropout_unit=unit)
    if attention == "eager":
        for model in (full, pruned):
            model.backbone.set_attn_implementation("eager")
    batch = collator("mlm", "eval")(sessions(12, seed=3))  # rows of 1..16 items: padded
    assert (batch["input_ids"] == 0).any()
    with torch.no_grad():
        expected = full.eval()(**batch)
        outputs = []
        rows = _rows_through_last_feed_forward(pruned, lambda: outputs.append(pruned.eval()(**batch)))
    got = outputs[0]
    assert rows == [_scored(batch)] and rows[0] < batch["input_ids"].numel()  # pruned, not run whole
    torch.testing.assert_close(got.logits, expected.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got.loss, expected.loss, rtol=1e-5, atol=1e-6)


def test_the_last_layer_runs_at_the_scored_positions_only():
    _, pruned = _full_and_pruned("bert")
    batch = collator("mlm")(sessions(8, seed=1))
    rows_seen = _rows_through_last_feed_forward(pruned, lambda: pruned.train()(**batch))
    assert rows_seen == [int((batch["labels"] != -100).sum())]  # the targets, not B x L


@pytest.mark.parametrize("family", ["bert", "electra"])
def test_training_loss_and_gradients_are_the_full_models(family):
    full, pruned = _full_and_pruned(family, dropout=0.0)  # no random draw: the two steps compare exactly
    batch = collator("mlm")(sessions(10, seed=2))
    losses = []
    for model in (full, pruned):
        model.train().zero_grad()
        loss = model(**batch).loss
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    for (name, a), (_, b) in zip(full.named_parameters(), pruned.named_parameters(), strict=True):
        if a.grad is None:
            assert b.grad is None or not b.grad.any(), name
            continue
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_gradient_checkpointing_checkpoints_the_pruned_layer_and_dropout_trains():
    _, pruned = _full_and_pruned("bert", dropout=0.3)
    prefix = "activation" if hasattr(pruned, "activation_checkpointing_enable") else "gradient"
    getattr(pruned, f"{prefix}_checkpointing_enable")()  # transformers renamed it
    checkpointed = []
    for index, layer in enumerate(pruned.backbone.bert.encoder.layer):
        inner = layer._gradient_checkpointing_func
        layer._gradient_checkpointing_func = lambda *a, index=index, inner=inner, **k: (
            checkpointed.append(index) or inner(*a, **k)
        )
    batch = collator("mlm")(sessions(10, seed=4))
    loss = pruned.train()(**batch).loss
    loss.backward()
    assert checkpointed == [0, 1]  # the pruned last layer too
    assert torch.isfinite(loss) and pruned.backbone.bert.encoder.layer[-1].output.dense.weight.grad.any()


def test_side_features_and_a_batch_without_targets():
    _, pruned = _full_and_pruned("bert", side_features={"category": 5})
    full, _ = _full_and_pruned("bert", side_features={"category": 5})
    full.load_state_dict(pruned.state_dict())
    batch = collator("mlm", "eval", side_feature_keys=("category",))(sessions(6, seed=5, with_category=True))
    with torch.no_grad():
        torch.testing.assert_close(pruned.eval()(**batch).logits, full.eval()(**batch).logits, rtol=1e-5, atol=1e-5)
    no_targets = collator("mlm", side_feature_keys=("category",))(sessions(2, seed=5, with_category=True))
    no_targets["labels"][:] = -100
    no_targets["input_ids"][no_targets["input_ids"] == 1] = 5  # nothing hidden, nothing scored
    loss = pruned.train()(**{k: v for k, v in no_targets.items() if k != "mask_positions"}).loss
    loss.backward()
    assert float(loss.detach()) == 0.0
    # The last layer ran on 0 rows, its parameters in the graph as the full layer's (DDP expects gradients).
    assert pruned.backbone.bert.encoder.layer[-1].output.dense.weight.grad is not None


def test_saved_copied_and_pickled_models_keep_it(tmp_path):
    full, pruned = _full_and_pruned("bert")
    pruned.save_pretrained(tmp_path)
    loaded = SeqRecModel.from_pretrained(tmp_path)
    assert loaded.config.last_layer_at_scored_positions
    assert set(loaded.state_dict()) == set(full.state_dict())  # the saved state is the full model's
    batch = collator("mlm", "eval")(sessions(5, seed=6))
    with torch.no_grad():
        expected = full.eval()(**batch).logits
        for model in (loaded, copy.deepcopy(pruned), pickle.loads(pickle.dumps(pruned))):
            assert type(model.backbone.bert.encoder.layer[-1]) is ScoredPositionsBertLayer
            assert type(model.backbone.bert.encoder.layer[0]) is not ScoredPositionsBertLayer
            rows = _rows_through_last_feed_forward(model, lambda m=model: m.eval()(**batch))
            assert rows == [_scored(batch)]
            torch.testing.assert_close(model.eval()(**batch).logits, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_traced_it_runs_the_whole_layer_without_a_graph_break(mode):
    model = _full_and_pruned("bert")[1].train(mode == "train")
    batch = model.data_collator(mode, seed=0)(sessions(8, seed=1))
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(**batch)
    assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]


def test_the_exported_scoring_program_equals_the_full_model(tmp_path):
    from hf_seqmask.export import export_model

    full, pruned = _full_and_pruned("bert", max_seq_length=12)
    program = torch.export.load(export_model(pruned.eval(), tmp_path, format="torch")).module()
    batch = pruned.data_collator("predict")(sessions(7, seed=8))
    inputs = {name: batch[name] for name in ("input_ids", "attention_mask")}
    torch.testing.assert_close(program(**inputs), full.eval().score_batch(batch), rtol=0, atol=1e-4)


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("xlnet", "mlm"), ("xlnet", "plm")])
def test_refused_where_every_position_is_scored_or_the_body_is_not_berts(family, scheme):
    with pytest.raises(ValueError, match=rf"last_layer_at_scored_positions=True.*scheme={scheme!r} on \['{family}'\]"):
        tiny_model(family, scheme, last_layer_at_scored_positions=True)
    with pytest.raises(TypeError, match="last_layer_at_scored_positions=1; must be a bool"):
        tiny_model("bert", "mlm", last_layer_at_scored_positions=1)


@pytest.mark.parametrize("separate_generator", [False, True])
def test_rtd_masked_passes_prune_and_train_as_the_full_model(separate_generator):
    options = {}
    if separate_generator:
        generator = backbone_config("bert")
        generator.hidden_size, generator.intermediate_size = 16, 32
        options = {"tie_generator": False, "generator_config": generator}
    backbone = backbone_config("bert")
    backbone.hidden_dropout_prob = backbone.attention_probs_dropout_prob = 0.0
    if separate_generator:
        options["generator_config"].hidden_dropout_prob = options["generator_config"].attention_probs_dropout_prob = 0.0
    models = [
        SeqRecModel(
            SeqRecConfig(backbone_config=backbone, scheme="rtd", seed=0, last_layer_at_scored_positions=flag, **options)
        )
        for flag in (False, True)
    ]
    models[1].load_state_dict(models[0].state_dict())
    batch = collator("rtd")(sessions(10, seed=2))
    outputs = []
    for model in models:
        model.train().zero_grad()
        rows = _rows_through_last_feed_forward(model, lambda m=model: outputs.append(m(**batch)))
        outputs[-1].loss.backward()
    targets = int((batch["labels"] != -100).sum())
    assert rows == [targets, batch["input_ids"].numel()]  # the masked pass pruned, the discriminator's pass whole
    torch.testing.assert_close(outputs[1].corrupted_input_ids, outputs[0].corrupted_input_ids, rtol=0, atol=0)
    torch.testing.assert_close(outputs[1].loss, outputs[0].loss, rtol=1e-5, atol=1e-6)
    for (name, a), (_, b) in zip(models[0].named_parameters(), models[1].named_parameters(), strict=True):
        if a.grad is not None:
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)
    with torch.no_grad():
        evaluation = collator("rtd", "eval")(sessions(6, seed=3))
        torch.testing.assert_close(models[1].eval()(**evaluation).logits, models[0].eval()(**evaluation).logits)


def test_a_mask_that_is_not_4d_is_refused_with_the_option_named():
    from transformers import BertModel

    body = BertModel(backbone_config("bert"))
    use_last_layer_at_scored_positions(body)
    hidden, scored = torch.randn(2, 5, 32), torch.zeros(2, 5, dtype=torch.bool)
    flash_style = torch.ones(2, 5)  # (B, L): what flash attention's layers get
    with pytest.raises(ValueError, match=r"last_layer_at_scored_positions=True needs one of the attention.*'sdpa'"):
        body.encoder.layer[-1](hidden, flash_style, **{QUERY_MASK: scored})


def test_the_body_alone_refuses_a_decoder():
    from transformers import BertModel

    config = backbone_config("bert")
    config.is_decoder = True
    with pytest.raises(ValueError, match="is_decoder=True"):
        use_last_layer_at_scored_positions(BertModel(config))
    assert QUERY_MASK.startswith("hf_seqmask")
