"""Sparse item-table gradients with sampled losses: only the used rows move, training matches the
dense path, and the Trainer builds the matching optimizer (and checkpoints it)."""

import numpy as np
import pytest
import torch
from transformers import TrainingArguments

from hf_seqmask import SeqRecConfig, SeqRecTrainer
from hf_seqmask.optim import SparseDenseAdam

from .._tiny import backbone_config, collator, sessions, tiny_model


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm")])
def test_the_item_table_gets_a_sparse_gradient_of_the_used_rows_only(family, scheme):
    model = tiny_model(family, scheme, loss="sampled_softmax", sparse_item_embeddings=True)
    batch = collator(scheme, num_negatives=4)(sessions(4))
    model(**batch).loss.backward()
    grad = model.get_input_embeddings().weight.grad
    assert grad.is_sparse
    used = set(batch["input_ids"].flatten().tolist()) | set(batch["labels"].flatten().tolist())
    used |= set(batch["negative_ids"].tolist())
    touched = set(grad.coalesce().indices()[0].tolist())
    assert touched <= used and len(touched) < model.get_input_embeddings().weight.shape[0]


def _train(sparse, steps=60):
    torch.manual_seed(0)
    model = tiny_model("gpt2", "clm", loss="sampled_softmax", sparse_item_embeddings=sparse)
    optimizer = SparseDenseAdam.for_model(model, lr=3e-3) if sparse else torch.optim.Adam(model.parameters(), lr=3e-3)
    train = collator("clm", num_negatives=16)
    rows = sessions(steps * 32)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = model(**train(rows[step * 32 : (step + 1) * 32])).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.mean(losses[:10]), np.mean(losses[-10:])


def test_the_sparse_path_trains_to_the_loss_of_the_dense_one():
    dense_first, dense_last = _train(sparse=False)
    sparse_first, sparse_last = _train(sparse=True)
    assert sparse_first == pytest.approx(dense_first, rel=0.02)
    assert dense_last < 0.8 * dense_first and sparse_last < 0.8 * sparse_first
    assert sparse_last == pytest.approx(dense_last, rel=0.1), (dense_last, sparse_last)  # lazy Adam: close, not equal


def test_the_trainer_builds_and_checkpoints_the_sparse_optimizer(tmp_path):
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=4, save_steps=2, save_strategy="steps", per_device_train_batch_size=16,
        report_to="none", disable_tqdm=True, use_cpu=True, log_level="error",
    )  # fmt: skip
    make = dict(train_dataset=sessions(64), data_collator=collator("clm", num_negatives=8))
    trainer = SeqRecTrainer(
        model=tiny_model("gpt2", "clm", loss="sampled_softmax", sparse_item_embeddings=True), args=args, **make
    )
    trainer.train()
    assert isinstance(trainer.optimizer.optimizer, SparseDenseAdam)  # inside accelerate's wrapper
    resumed = SeqRecTrainer(
        model=tiny_model("gpt2", "clm", loss="sampled_softmax", sparse_item_embeddings=True), args=args, **make
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    assert resumed.state.global_step == 4


def test_sparse_needs_a_sampled_loss():
    with pytest.raises(ValueError, match="sparse_item_embeddings=True needs a sampled loss"):
        SeqRecConfig(backbone_config=backbone_config("gpt2"), scheme="clm", sparse_item_embeddings=True)
