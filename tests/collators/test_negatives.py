"""Negative sampling in the collators and the sampled losses of the model wrapper."""

import math

import numpy as np
import pytest
import torch
from transformers import TrainingArguments

from hf_seqmask import MaskedCollator, SeqRecTrainer
from hf_seqmask.losses import bce_loss, gbce_beta, gbce_loss, in_batch_log_q, sampled_softmax_loss

from .._tiny import VOCAB, collator, sessions, tiny_model


def _draws(**options):
    batch = collator("mlm", num_negatives=4000, mlm_probability=0.3, **options)(sessions(16, seed=5))
    return batch


def test_uniform_negatives_cover_the_real_ids_evenly_and_never_reserved_ones():
    batch = _draws()
    negatives = batch["negative_ids"]
    assert negatives.shape == (4000,) and negatives.dtype == torch.int64
    counts = torch.bincount(negatives, minlength=VOCAB).float()
    assert counts[:2].sum() == 0  # pad and mask never drawn
    expected = 4000 / (VOCAB - 2)
    assert ((counts[2:] - expected).abs() < 5 * math.sqrt(expected)).all()
    torch.testing.assert_close(batch["negative_log_q"], torch.full((4000,), -math.log(VOCAB - 2)))
    targets = batch["labels"][batch["labels"] != -100]
    assert batch["target_log_q"].shape == targets.shape


def test_popularity_negatives_follow_the_frequencies():
    frequencies = np.zeros(VOCAB)
    frequencies[2:] = np.arange(1, VOCAB - 1)
    frequencies[1] = 1000.0  # a weight on the mask id must be ignored
    batch = collator("clm", num_negatives=20000, negative_sampling="popularity", item_frequencies=frequencies)(
        sessions(8)
    )
    counts = torch.bincount(batch["negative_ids"], minlength=VOCAB).double()
    probabilities = torch.tensor(frequencies)
    probabilities[:2] = 0
    probabilities /= probabilities.sum()
    assert counts[:2].sum() == 0
    assert (counts / 20000 - probabilities).abs().max() < 0.01
    torch.testing.assert_close(
        batch["negative_log_q"].double(), probabilities[batch["negative_ids"]].log(), atol=1e-6, rtol=0
    )


def test_per_target_negatives_exclude_the_target_and_optionally_the_history():
    features = sessions(32, seed=6)
    batch = collator("mlm", num_negatives=30, shared_negatives=False, exclude_history_from_negatives=True)(features)
    is_target = batch["labels"] != -100
    targets = batch["labels"][is_target]
    negatives = batch["negative_ids"]
    assert negatives.shape == (targets.numel(), 30)
    assert not (negatives == targets[:, None]).any()
    for (row, _), drawn in zip(is_target.nonzero().tolist(), negatives, strict=True):
        assert not set(drawn.tolist()) & set(features[row]["input_ids"])


def test_negatives_are_seeded_and_only_in_training():
    first, again = _draws(seed=3), _draws(seed=3)
    assert torch.equal(first["negative_ids"], again["negative_ids"])
    evaluation = collator("mlm", "eval", num_negatives=10)(sessions(4))
    assert "negative_ids" not in evaluation


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"num_negatives": -1}, ValueError, r"Invalid num_negatives=-1"),
        ({"num_negatives": 5, "negative_sampling": "zipf"}, ValueError, r"Invalid negative_sampling='zipf'"),
        ({"num_negatives": 5, "negative_sampling": "popularity"}, ValueError, r"needs item_frequencies"),
        (
            {"num_negatives": 5, "negative_sampling": "popularity", "item_frequencies": [1, 2]},
            ValueError,
            r"Invalid item_frequencies of shape \(2,\)",
        ),
        ({"num_negatives": 5, "exclude_history_from_negatives": True}, ValueError, r"needs shared_negatives=False"),
    ],
)
def test_negative_option_errors(options, error, match):
    with pytest.raises(error, match=match):
        MaskedCollator(vocab_size=VOCAB, mask_token_id=1, **options)


def _brute_sampled_softmax(positive, negative, hits, pos_q, neg_q):
    losses = []
    for t in range(len(positive)):
        logits = [positive[t] - pos_q[t]] + [
            negative[t, n] - neg_q[t, n] for n in range(negative.shape[1]) if not hits[t, n]
        ]
        losses.append(-logits[0] + math.log(sum(math.exp(v) for v in logits)))
    return sum(losses) / len(losses)


def test_sampled_softmax_with_logq_and_hit_removal_matches_brute_force():
    generator = torch.Generator().manual_seed(0)
    positive, negative = torch.randn(5, generator=generator), torch.randn(5, 7, generator=generator)
    pos_q, neg_q = torch.rand(5, generator=generator).log(), torch.rand(5, 7, generator=generator).log()
    hits = torch.rand(5, 7, generator=generator) < 0.2
    value = sampled_softmax_loss(positive, negative, hits, positive_log_q=pos_q, negative_log_q=neg_q)
    reference = _brute_sampled_softmax(positive.tolist(), negative, hits, pos_q.tolist(), neg_q)
    assert float(value) == pytest.approx(reference, rel=1e-5)


def test_gbce_against_hand_computed_values():
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    positive, negative = torch.tensor([1.0]), torch.tensor([[0.5, -1.0, 2.0]])
    hits = torch.tensor([[False, False, True]])
    beta = gbce_beta(2, 101, 0.75)
    alpha = 2 / 100
    assert beta == pytest.approx(alpha * (0.75 * (1 - 1 / alpha) + 1 / alpha))
    by_hand = -math.log(sigmoid(1.0) ** beta) - math.log(1 - sigmoid(0.5)) - math.log(1 - sigmoid(-1.0))
    assert float(gbce_loss(positive, negative, hits, beta=beta)) == pytest.approx(by_hand, rel=1e-6)
    plain = -math.log(sigmoid(1.0)) - math.log(1 - sigmoid(0.5)) - math.log(1 - sigmoid(-1.0))
    assert float(bce_loss(positive, negative, hits)) == pytest.approx(plain, rel=1e-6)


def test_in_batch_log_q():
    assert in_batch_log_q(torch.tensor([3, 3, 5, 7])).exp().tolist() == pytest.approx([0.5, 0.5, 0.25, 0.25])


def test_sampled_losses_score_only_candidates_and_match_the_full_head():
    model = tiny_model("bert", "mlm", loss="sampled_softmax", logq_correction=False).eval()
    batch = collator("mlm", num_negatives=VOCAB - 2, mlm_probability=0.3)(sessions(8))
    # every real item as a (uniform) negative: the sampled softmax over them equals the full softmax
    # over the real items once the target's duplicate is removed as an accidental hit.
    batch["negative_ids"] = torch.arange(2, VOCAB)
    output = model(**batch)
    full = tiny_model("bert", "mlm").eval()
    full.load_state_dict(model.state_dict())
    full_logits = full(**batch).logits[:, 2:]  # (T, V - 2) real items
    targets = batch["labels"][batch["labels"] != -100] - 2
    expected = torch.nn.functional.cross_entropy(full_logits, targets)
    torch.testing.assert_close(output.loss, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("family", "scheme", "loss", "options"),
    [
        ("gpt2", "clm", "sampled_softmax", {}),
        ("gpt2", "clm", "gbce", {}),
        ("bert", "mlm", "sampled_softmax", {"shared_negatives": False}),
        ("bert", "mlm", "gbce", {}),
        ("bert", "mlm", "bce", {}),
        ("gpt2", "clm", "sampled_softmax", {"in_batch": True}),
    ],
)
def test_each_loss_trains_with_the_trainer_and_evaluation_ranks_all_items(tmp_path, family, scheme, loss, options):
    in_batch = options.pop("in_batch", False)
    model = tiny_model(family, scheme, loss=loss, in_batch_negatives=in_batch)
    train = collator(scheme, num_negatives=0 if in_batch else 16, **options)
    if scheme == "mlm":
        train = train.with_mode("train", mlm_probability=0.3)
    trainer = SeqRecTrainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp_path), max_steps=60, per_device_train_batch_size=32, learning_rate=3e-3,
            logging_steps=1, report_to="none", disable_tqdm=True, use_cpu=True, save_strategy="no", log_level="error",
        ),
        train_dataset=sessions(60 * 32),
        eval_dataset=sessions(128, seed=1),
        data_collator=train,
    )  # fmt: skip
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert all(np.isfinite(losses)) and np.mean(losses[-15:]) < 0.95 * np.mean(losses[:15])
    model.eval()
    with torch.no_grad():
        scores = model(**collator(scheme, "eval")(sessions(4, seed=2))).logits
    assert scores.shape == (4, VOCAB)  # evaluation ranks every item
