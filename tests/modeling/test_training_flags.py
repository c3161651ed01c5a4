"""TrainingArguments flags that reach the model: label smoothing, gradient checkpointing, and the
ranking metrics of a plain transformers.Trainer."""

import math

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, ElectraConfig, GPT2Config, PrinterCallback, Trainer, TrainingArguments

from hf_seqmask import SeqRecConfig, SeqRecModel, SeqRecTrainer, ranking_metrics_for_trainer
from hf_seqmask.losses import target_selection
from hf_seqmask.modeling import item_logits

from .._tiny import VOCAB, collator, sessions, tiny_model

ROWS = sessions(24, max_length=10, seed=3)
# transformers 5.0 names the flag gradient_checkpointing; later releases activation_checkpointing (the old
# name still works there, with a deprecation warning).
CHECKPOINTING = next(
    name
    for name in ("activation_checkpointing", "gradient_checkpointing")
    if name in TrainingArguments.__dataclass_fields__
)


def _args(tmp_path, **flags):
    return TrainingArguments(
        str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=8, per_device_eval_batch_size=8,
        report_to="none", disable_tqdm=True, use_cpu=True, save_strategy="no", **flags,
    )  # fmt: skip


# ----------------------------------------------------------------------------------- label smoothing
def test_label_smoothing_is_the_smoothed_cross_entropy_over_the_targets():
    torch.manual_seed(0)
    model = tiny_model("gpt2", "clm", label_smoothing=0.1).eval()
    batch = collator("clm")(ROWS[:6])
    loss = model(**batch).loss
    embeddings = model.embed(batch["input_ids"], {}, batch["mask_positions"])
    hidden = model.backbone.base_model(inputs_embeds=embeddings, attention_mask=batch["attention_mask"])[0]
    where, targets = target_selection(batch["labels"], shift=True)
    logits = item_logits(model.backbone, hidden[where])
    assert torch.allclose(loss, F.cross_entropy(logits, targets, label_smoothing=0.1), atol=1e-6)
    assert not torch.allclose(loss, F.cross_entropy(logits, targets), atol=1e-4)
    model.config.label_smoothing = 0.0  # the default: the plain cross-entropy, bit for bit
    assert torch.equal(model(**batch).loss, F.cross_entropy(logits.float(), targets))


def test_label_smoothing_reaches_rtd_item_loss_only():
    batch = collator("rtd")(ROWS[:6])
    plain, smoothed = tiny_model("electra", "rtd"), tiny_model("electra", "rtd", label_smoothing=0.2)
    smoothed.load_state_dict(plain.state_dict())
    one, two = plain.eval()(**batch), smoothed.eval()(**batch)  # no dropout: only the smoothing differs
    assert torch.equal(one.discriminator_loss, two.discriminator_loss)  # same draws, same detection loss
    targets = batch["labels"][batch["labels"] != -100]
    assert torch.allclose(two.generator_loss, F.cross_entropy(one.logits, targets, label_smoothing=0.2), atol=1e-6)
    assert not torch.equal(two.generator_loss, one.generator_loss)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"label_smoothing": 1.0}, r"Invalid label_smoothing=1\.0; must be in \[0, 1\)"),
        ({"label_smoothing": -0.1}, r"Invalid label_smoothing=-0\.1"),
        ({"label_smoothing": 0.1, "loss": "bce", "in_batch_negatives": True}, "needs loss='full', got loss='bce'"),
        ({"label_smoothing": 0.1, "softmax_chunk_size": 8}, "not implemented for the chunked cross-entropy"),
    ],
)
def test_label_smoothing_is_refused_where_it_has_no_meaning(options, match):
    with pytest.raises(ValueError, match=match):
        tiny_model("gpt2", "clm", **options)


def test_trainer_label_smoothing_factor_trains_through_the_model_loss(tmp_path):
    model = tiny_model("bert", "mlm")
    trainer = SeqRecTrainer(
        model=model, args=_args(tmp_path, label_smoothing_factor=0.1), train_dataset=ROWS,
        data_collator=model.data_collator(seed=0),
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    assert trainer.label_smoother is None and model.config.label_smoothing == 0.1
    losses = [row["loss"] for row in trainer.train() and trainer.state.log_history if "loss" in row]
    assert trainer.state.global_step == 2 and all(math.isfinite(loss) for loss in losses)


def test_trainer_refuses_label_smoothing_for_a_sampled_loss_before_training(tmp_path):
    model = tiny_model("gpt2", "clm", loss="sampled_softmax", in_batch_negatives=True)
    with pytest.raises(ValueError, match=r"label_smoothing_factor=0\.1 needs loss='full'"):
        SeqRecTrainer(model=model, args=_args(tmp_path, label_smoothing_factor=0.1), train_dataset=ROWS,
                      data_collator=model.data_collator(seed=0))  # fmt: skip


# ------------------------------------------------------------------------------ gradient checkpointing
def _no_dropout_model(family, scheme):
    common = {"vocab_size": VOCAB, "pad_token_id": 0}
    if family == "gpt2":
        backbone = GPT2Config(n_positions=40, n_embd=32, n_layer=2, n_head=2, resid_pdrop=0.0, embd_pdrop=0.0,
                              attn_pdrop=0.0, **common)  # fmt: skip
    else:
        kind = BertConfig if family == "bert" else ElectraConfig
        extra = {"embedding_size": 16} if family == "electra" else {}
        backbone = kind(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=40, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        **extra, **common)  # fmt: skip
    torch.manual_seed(0)
    return SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme=scheme, seed=0))


def _checkpointing(model, action):
    """``enable``, ``disable`` or the state, by transformers' current name (5.0: gradient_, later: activation_)."""
    prefix = "activation" if hasattr(model, "activation_checkpointing_enable") else "gradient"
    if action == "state":
        return getattr(model, f"is_{prefix}_checkpointing")
    return getattr(model, f"{prefix}_checkpointing_{action}")()


def _gradients(model, batch):
    model.zero_grad()
    model(**batch).loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm"), ("electra", "mlm")])
def test_gradient_checkpointing_gives_the_same_gradients(family, scheme):
    model = _no_dropout_model(family, scheme).train()  # checkpointing acts in training mode; no dropout here
    batch = collator(scheme)(ROWS[:6])
    expected = _gradients(model, batch)
    _checkpointing(model, "enable")
    assert _checkpointing(model, "state")
    layer = [m for m in model.backbone.modules() if getattr(m, "gradient_checkpointing", False) is True][-1]
    calls = []
    handle = next(layer.children()).register_forward_pre_hook(lambda *_: calls.append(1))
    got = _gradients(model, batch)
    handle.remove()
    assert len(calls) == 2, "a checkpointed layer starts again in the backward pass"
    assert got.keys() == expected.keys()
    for name in expected:
        assert torch.allclose(got[name], expected[name], atol=1e-6, rtol=1e-5), name
    _checkpointing(model, "disable")
    assert not _checkpointing(model, "state")


def test_gradient_checkpointing_is_refused_for_xlnet_with_the_reason(tmp_path):
    model = tiny_model("xlnet", "plm")
    with pytest.raises(ValueError, match="not available for the xlnet backbone: transformers' XLNetLMHeadModel"):
        _checkpointing(model, "enable")
    with pytest.raises(ValueError, match="XLNetLMHeadModel does not support it"):  # before training starts
        SeqRecTrainer(model=model, args=_args(tmp_path, **{CHECKPOINTING: True}), train_dataset=ROWS,
                      data_collator=model.data_collator(seed=0))  # fmt: skip


def test_trainer_trains_with_gradient_checkpointing(tmp_path):
    model = tiny_model("gpt2", "clm")
    trainer = SeqRecTrainer(model=model, args=_args(tmp_path, **{CHECKPOINTING: True}), train_dataset=ROWS,
                            data_collator=model.data_collator(seed=0))  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    assert _checkpointing(model, "state") and trainer.state.global_step == 2
    assert all(math.isfinite(row["loss"]) for row in trainer.state.log_history if "loss" in row)


# ------------------------------------------------------------------------------- a plain Trainer
def test_plain_trainer_reports_the_ranking_metrics_of_seqrec_trainer(tmp_path):
    model = tiny_model("gpt2", "clm").eval()
    expected = SeqRecTrainer(model=model, args=_args(tmp_path), data_collator=model.data_collator(seed=0))
    plain = Trainer(model=model, args=_args(tmp_path), data_collator=model.data_collator("eval"),
                    **ranking_metrics_for_trainer(model))  # fmt: skip
    ours, theirs = expected.evaluate(ROWS), plain.evaluate(ROWS)
    keys = [key for key in ours if "@" in key or key == "eval_rows"]
    assert "eval_ndcg@10" in keys and {key: theirs[key] for key in keys} == {key: ours[key] for key in keys}


def test_plain_trainer_with_a_training_collator_is_refused_not_scored(tmp_path):
    model = tiny_model("bert", "mlm")
    plain = Trainer(model=model, args=_args(tmp_path), data_collator=model.data_collator("train", seed=0),
                    **ranking_metrics_for_trainer(model))  # fmt: skip
    with pytest.raises(ValueError, match="a training batch; evaluate with the collator's eval mode"):
        plain.evaluate(ROWS)


def test_ranking_metrics_for_trainer_checks_its_cutoffs():
    with pytest.raises(ValueError, match=r"Invalid ks=\(10, 20\): the hooks keep the top 10 ids"):
        ranking_metrics_for_trainer(k=10, ks=(10, 20))
