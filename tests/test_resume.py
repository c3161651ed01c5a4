"""Exact resume: "stop at 30, resume to 60" ends with the weights of "straight to 60".

The Trainer restores weights, optimizer, scheduler, RNG states and the data order and skips the
batches already trained; the collators key each batch's masks by (seed, rank, epoch, batch index),
told by ``CollatorEpochCallback`` (added by ``SeqRecTrainer``), so the resumed run also draws the
same masks -- and ``rtd``'s model-side replacement draws continue from the checkpointed draw count.
Without the callback the masks after the resume point differ, and the weights do too (checked below,
so the comparison can fail).
"""

import pytest
import torch
from transformers import TrainerCallback, TrainingArguments

from hf_seqmask import SeqRecModel, SeqRecTrainer
from hf_seqmask.resume import CollatorEpochCallback

from ._tiny import collator, sessions, tiny_model


def _trainer(out, family, scheme, max_steps, workers=0):
    args = TrainingArguments(
        output_dir=str(out), max_steps=max_steps, per_device_train_batch_size=32, learning_rate=3e-3,
        save_strategy="steps", save_steps=30, report_to="none", disable_tqdm=True, use_cpu=True, seed=0,
        log_level="error", dataloader_num_workers=workers,
    )  # fmt: skip
    torch.manual_seed(0)
    return SeqRecTrainer(
        model=tiny_model(family, scheme),
        args=args,
        train_dataset=sessions(20 * 32),  # 20 batches an epoch: step 30 is in the middle of epoch 2
        data_collator=collator(scheme, **({"mlm_probability": 0.3} if scheme in ("mlm", "rtd") else {})),
    )


class _InterruptAt(TrainerCallback):
    """Stops a 60-step run after step ``step`` (its checkpoint saved), as a crash or a time limit would."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


def _weights(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _stop_and_resume(tmp_path, family, scheme, workers=0, break_resume=False):
    first = _trainer(tmp_path, family, scheme, 60, workers)
    first.add_callback(_InterruptAt(30))
    first.train()
    checkpoint = tmp_path / "checkpoint-30"
    saved = SeqRecModel.from_pretrained(checkpoint)
    assert torch.equal(saved.mask_embedding.vector, first.model.mask_embedding.vector)
    second = _trainer(tmp_path, family, scheme, 60, workers)
    if break_resume:
        second.remove_callback(CollatorEpochCallback)
    second.train(resume_from_checkpoint=str(checkpoint))
    assert second.state.global_step == 60
    return _weights(second.model)


def _assert_same(straight, resumed):
    for name, value in straight.items():
        torch.testing.assert_close(resumed[name], value, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("xlnet", "plm"), ("electra", "rtd")])
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, family, scheme):
    straight = _trainer(tmp_path / "straight", family, scheme, 60)
    straight.train()
    _assert_same(_weights(straight.model), _stop_and_resume(tmp_path / "resumed", family, scheme))


@pytest.mark.slow
def test_exact_with_dataloader_workers_and_a_broken_resume_fails_the_comparison(tmp_path):
    straight = _trainer(tmp_path / "straight", "bert", "mlm", 60)
    straight.train()
    reference = _weights(straight.model)
    _assert_same(reference, _stop_and_resume(tmp_path / "workers", "bert", "mlm", workers=2))
    broken = _stop_and_resume(tmp_path / "broken", "bert", "mlm", break_resume=True)
    with pytest.raises(AssertionError):
        _assert_same(reference, broken)
