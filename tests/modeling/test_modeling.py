"""The model wrapper: every family x scheme trains with the HF Trainer, leak tests, dtypes, save/load, RTD."""

import numpy as np
import pytest
import torch
from transformers import ElectraConfig, TrainingArguments

from hf_seqmask import (
    MaskEmbedding,
    SeqRecConfig,
    SeqRecModel,
    SeqRecTrainer,
    apply_mask_embedding,
)

from .._tiny import PAIRS, VOCAB, backbone_config, collator, sessions, tiny_model


def _args(tmp_path, **overrides):
    options = dict(
        output_dir=str(tmp_path),
        per_device_train_batch_size=32,
        per_device_eval_batch_size=64,
        learning_rate=3e-3,
        max_steps=40,
        logging_steps=1,
        log_level="error",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    options.update(overrides)
    return TrainingArguments(**options)


@pytest.mark.parametrize(("family", "scheme", "options"), PAIRS, ids=[f"{f}-{s}" for f, s, _ in PAIRS])
def test_trainer_trains_every_pair_with_decreasing_loss(tmp_path, family, scheme, options):
    model = tiny_model(family, scheme)
    if scheme in ("mlm", "rtd"):
        options = dict(options, mlm_probability=0.3)
    trainer = SeqRecTrainer(
        model=model,
        args=_args(tmp_path, max_steps=100),
        train_dataset=sessions(100 * 32),
        eval_dataset=sessions(256, seed=1),
        data_collator=collator(scheme, **options),
    )
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 100 and all(np.isfinite(losses))
    assert after < 0.95 * before, (before, after)  # next-item loss on held-out last items
    if scheme != "rtd":
        # RTD's total holds the discriminator's loss, which hovers near its constant-
        # predictor value while the generator's replacements get harder to spot; its next-item
        # (eval) loss above is the measure of learning.
        assert np.mean(losses[-20:]) < 0.95 * np.mean(losses[:20]), losses


def _eval_scores(model, batch_collator, features):
    model.eval()
    with torch.no_grad():
        return model(**batch_collator(features)).logits


@pytest.mark.parametrize(("family", "scheme", "options"), PAIRS, ids=[f"{f}-{s}" for f, s, _ in PAIRS])
def test_changing_the_target_and_its_side_features_leaves_its_prediction_unchanged(family, scheme, options):
    model = tiny_model(family, scheme, side_features={"category": 5})
    evaluation = collator(scheme, "eval", side_feature_keys=("category",), **options)
    features = sessions(16, seed=2, with_category=True)
    changed = [
        {
            "input_ids": [*f["input_ids"][:-1], (f["input_ids"][-1] + 7) % (VOCAB - 2) + 2],
            "category": [*f["category"][:-1], 4 - f["category"][-1] % 5],
        }
        for f in features
    ]
    before, after = _eval_scores(model, evaluation, features), _eval_scores(model, evaluation, changed)
    assert before.shape == (16, VOCAB)
    torch.testing.assert_close(before, after, rtol=0, atol=0)
    # ... and the prediction in eval mode is the predict-mode prediction on the history.
    history = [{k: v[:-1] for k, v in f.items()} for f in features if len(f["input_ids"]) >= 2]
    keep = [i for i, f in enumerate(features) if len(f["input_ids"]) >= 2]
    predicted = _eval_scores(model, collator(scheme, "predict", side_feature_keys=("category",), **options), history)
    torch.testing.assert_close(before[keep], predicted, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("family", "options"), [("gpt2", {}), ("xlnet", {"causal_perm_mask": True})])
def test_causal_training_never_sees_the_future(family, options):
    model = tiny_model(family, "clm").eval()
    every_next_item = collator("clm", **options)  # causal training: every next item, nothing hidden
    items = list(range(5, 17))
    with torch.no_grad():
        base = model(**every_next_item([{"input_ids": items}])).logits  # (11, V): targets at 1..11
        for t in range(2, 11):
            changed = [*items[:t], 40, *items[t + 1 :]]
            logits = model(**every_next_item([{"input_ids": changed}])).logits
            # Row t - 1 predicts item t: it and every earlier prediction must not see the change.
            torch.testing.assert_close(logits[:t], base[:t], rtol=0, atol=1e-6)
            assert not torch.allclose(logits[t:], base[t:])


def test_plm_prediction_ignores_every_target():
    model = tiny_model("xlnet", "plm").eval()
    train = collator("plm", plm_probability=0.5)
    features = sessions(8, seed=3)
    batch = train(features)
    targets = batch["labels"] != -100
    with torch.no_grad():
        base = model(**batch).logits
        changed = dict(batch)
        changed["labels"] = torch.where(targets, (batch["labels"] + 3) % (VOCAB - 2) + 2, batch["labels"])
        torch.testing.assert_close(model(**changed).logits, base, rtol=0, atol=0)


def test_xlnet_causal_without_perm_mask_is_refused():
    model = tiny_model("xlnet", "clm")
    with pytest.raises(ValueError, match="causal_perm_mask=True"):
        model(**collator("clm")([{"input_ids": [5, 6, 7]}]))


def test_mask_vector_gets_gradients_only_where_used():
    model = tiny_model("bert", "mlm")
    batch = collator("mlm")(sessions(8))
    model(**batch).loss.backward()
    assert model.mask_embedding.vector.grad.abs().sum() > 0
    gpt = tiny_model("gpt2", "clm")
    gpt(**collator("clm")(sessions(8))).loss.backward()  # causal training hides nothing
    grad = gpt.mask_embedding.vector.grad
    assert grad is None or not grad.any()
    embeddings = torch.randn(2, 3, 4, requires_grad=True)
    vector = torch.randn(4, requires_grad=True)
    apply_mask_embedding(
        embeddings, torch.tensor([[True, False, False], [False, False, True]]), vector
    ).sum().backward()
    assert embeddings.grad[0, 0].abs().sum() == 0 and embeddings.grad[0, 1].abs().sum() > 0
    assert torch.equal(vector.grad, torch.full((4,), 2.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_mask_embedding_keeps_the_input_dtype(dtype):
    layer = MaskEmbedding(8)
    out = layer(torch.zeros(2, 3, 8, dtype=dtype), torch.tensor([[True, False, False], [False, True, False]]))
    assert out.dtype == dtype
    torch.testing.assert_close(out[0, 0].float(), layer.vector.detach().to(dtype).float())


def test_mask_vector_is_initialised_like_transformers4rec():
    assert 0.0003 < tiny_model("bert", "mlm").mask_embedding.vector.std() < 0.003


@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("gpt2", "clm"), ("electra", "rtd")])
def test_bfloat16_model_runs_with_finite_loss(family, scheme):
    model = tiny_model(family, scheme).to(torch.bfloat16)
    output = model(**collator(scheme)(sessions(8)))
    assert torch.isfinite(output.loss) and output.logits.dtype == torch.bfloat16


@pytest.mark.parametrize(("family", "scheme", "options"), PAIRS, ids=[f"{f}-{s}" for f, s, _ in PAIRS])
def test_bfloat16_autocast_gives_finite_losses(family, scheme, options):
    # XLNet's relative position encoding is float32 inside transformers, so a bfloat16-cast XLNet
    # fails there; under autocast (how mixed precision trains) every family runs.
    model = tiny_model(family, scheme)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**collator(scheme, **options)(sessions(8))).loss
    assert torch.isfinite(loss)
    loss.backward()


def test_no_target_gives_zero_loss_not_nan():
    model = tiny_model("bert", "mlm")
    loss = model(**collator("mlm")([{"input_ids": [5]}, {"input_ids": []}])).loss
    assert loss.item() == 0.0 and loss.requires_grad


@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("electra", "rtd"), ("xlnet", "plm")])
def test_save_and_load_round_trip(tmp_path, family, scheme):
    model = tiny_model(family, scheme, side_features={"category": 5, "time": 0}, side_feature_combiner="concat")
    with torch.no_grad():
        model.mask_embedding.vector.add_(1.0)  # not the initial value
    model.save_pretrained(tmp_path)
    loaded = SeqRecModel.from_pretrained(tmp_path)
    assert torch.equal(loaded.mask_embedding.vector, model.mask_embedding.vector)
    for name in ("category", "time"):
        assert torch.equal(loaded.side_embeddings[name].weight, model.side_embeddings[name].weight)
    features = [dict(f, time=[float(i) for i in range(len(f["input_ids"]))]) for f in sessions(8, with_category=True)]
    evaluation = collator(scheme, "eval", side_feature_keys=("category", "time"))
    torch.testing.assert_close(_eval_scores(model, evaluation, features), _eval_scores(loaded, evaluation, features))


def test_trainer_checkpoint_restores_the_mask_vector(tmp_path):
    train = dict(train_dataset=sessions(8 * 32), data_collator=collator("mlm"))
    trainer = SeqRecTrainer(
        model=tiny_model("bert", "mlm"), args=_args(tmp_path, max_steps=4, save_steps=4, save_strategy="steps"), **train
    )
    trainer.train()
    trained = trainer.model.mask_embedding.vector.detach().clone()
    assert not torch.equal(trained, tiny_model("bert", "mlm").mask_embedding.vector)
    resumed = SeqRecTrainer(model=tiny_model("bert", "mlm"), args=_args(tmp_path, max_steps=4), **train)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-4"))
    assert torch.equal(resumed.model.mask_embedding.vector, trained)


def _rtd_model(**config):
    return tiny_model("electra", "rtd", **config)


def test_rtd_discriminator_labels_mark_exactly_the_replaced_items():
    model = _rtd_model()
    batch = collator("rtd", mlm_probability=0.4)(sessions(32))
    output = model(**batch)
    targets = batch["labels"] != -100
    replaced = (output.corrupted_input_ids != batch["labels"]) & targets
    assert torch.equal(output.discriminator_labels.bool(), replaced)
    assert torch.equal(output.corrupted_input_ids[~targets], batch["input_ids"][~targets])
    drawn = output.corrupted_input_ids[targets]
    assert ((drawn >= 2) & (drawn < VOCAB)).all(), "never pad or mask ids"


def test_rtd_sample_from_batch_draws_among_the_batch_targets():
    model = _rtd_model()
    batch = collator("rtd", sample_from_batch=True)(sessions(32))
    output = model(**batch)
    targets = batch["labels"] != -100
    assert set(output.corrupted_input_ids[targets].tolist()) <= set(batch["replacement_candidates"].tolist())


def test_rtd_loss_weights_are_honoured():
    batch = collator("rtd")(sessions(16))
    output = _rtd_model(generator_loss_weight=2.0, discriminator_loss_weight=7.0)(**batch)
    torch.testing.assert_close(output.loss, 2.0 * output.generator_loss + 7.0 * output.discriminator_loss)


def test_rtd_with_a_separate_generator_trains(tmp_path):
    generator = ElectraConfig(
        vocab_size=VOCAB,
        embedding_size=16,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
        max_position_embeddings=40,
    )
    model = SeqRecModel(
        SeqRecConfig(
            backbone_config=backbone_config("electra"), scheme="rtd", tie_generator=False, generator_config=generator
        )
    )
    trainer = SeqRecTrainer(
        model=model, args=_args(tmp_path, max_steps=20), train_dataset=sessions(20 * 32), data_collator=collator("rtd")
    )
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    model.save_pretrained(tmp_path / "saved")
    assert SeqRecModel.from_pretrained(tmp_path / "saved").generator is not None


def test_config_errors():
    with pytest.raises(ValueError, match=r"Invalid scheme='bert'"):
        SeqRecConfig(backbone_config=backbone_config("bert"), scheme="bert")
    with pytest.raises(ValueError, match=r"Invalid side_features\['c'\]=-1"):
        SeqRecConfig(backbone_config=backbone_config("bert"), side_features={"c": -1})
    with pytest.raises(ValueError, match="a 'gpt2' backbone trains with scheme 'clm', not 'mlm'"):
        SeqRecConfig(backbone_config=backbone_config("gpt2"), scheme="mlm")
    with pytest.raises(ValueError, match="Invalid mlm_probability=2"):
        SeqRecConfig(backbone_config=backbone_config("bert"), masking={"mlm_probability": 2})
    with pytest.raises(ValueError, match="Invalid masking option 'max_length'"):
        SeqRecConfig(backbone_config=backbone_config("bert"), masking={"max_length": 5})
    with pytest.raises(ValueError, match="Invalid max_seq_length=41: the bert backbone has 40 position embeddings"):
        SeqRecConfig(backbone_config=backbone_config("bert"), max_seq_length=41)
    with pytest.raises(ValueError, match="needs generator_config"):
        SeqRecModel(SeqRecConfig(backbone_config=backbone_config("bert"), scheme="rtd", tie_generator=False))
    model = tiny_model("bert", "mlm", side_features={"category": 5})
    batch = collator("mlm")([{"input_ids": [5, 6]}])
    with pytest.raises(ValueError, match=r"side features \['category'\] are configured but missing"):
        model(**batch)
    with pytest.raises(TypeError, match=r"unexpected inputs \['colour'\]"):
        model(**batch, category=torch.zeros_like(batch["input_ids"]), colour=batch["input_ids"])
