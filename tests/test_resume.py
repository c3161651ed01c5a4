"""Resume: a run stopped at a checkpoint and resumed ends close to an uninterrupted run.

What resume guarantees (also in the README): model weights, mask vector, side-feature embeddings,
optimizer, scheduler and the Trainer's RNG states come back exactly; the data order too (the
sampler is re-seeded and already-seen batches are skipped). The collators' mask streams do NOT
continue where they stopped: skipped batches are never collated, and the collator's generator is
re-created from (seed, rank, worker, epoch seed) in the new process, so batches after the resume
point get other masks than in the uninterrupted run. Metrics therefore match within a tolerance,
not bit for bit; with ``mode="eval"`` collators (no draws) evaluation itself is exact.
"""

import numpy as np
import torch
from transformers import TrainingArguments

from hf_seqmask import SeqRecModel, SeqRecTrainer

from ._tiny import collator, sessions, tiny_model


def _trainer(tmp_path, model, max_steps):
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=max_steps, per_device_train_batch_size=32, learning_rate=3e-3,
        save_strategy="steps", save_steps=30, report_to="none", disable_tqdm=True, use_cpu=True, seed=0,
        log_level="error",
    )  # fmt: skip
    return SeqRecTrainer(
        model=model,
        args=args,
        train_dataset=sessions(60 * 32),
        eval_dataset=sessions(256, seed=1),
        data_collator=collator("mlm", mlm_probability=0.3, side_feature_keys=()),
    )


def test_resumed_run_matches_an_uninterrupted_one_within_tolerance(tmp_path):
    torch.manual_seed(0)
    straight = _trainer(tmp_path / "straight", tiny_model("bert", "mlm"), 60)
    straight.train()
    reference = straight.evaluate()["eval_loss"]

    torch.manual_seed(0)
    first = _trainer(tmp_path / "resumed", tiny_model("bert", "mlm"), 30)
    first.train()  # stops at step 30, checkpoint-30
    checkpoint = tmp_path / "resumed" / "checkpoint-30"
    saved = SeqRecModel.from_pretrained(checkpoint)
    assert torch.equal(saved.mask_embedding.vector, first.model.mask_embedding.vector)

    second = _trainer(tmp_path / "resumed", tiny_model("bert", "mlm"), 60)
    second.train(resume_from_checkpoint=str(checkpoint))
    assert second.state.global_step == 60
    resumed = second.evaluate()["eval_loss"]
    print(f"eval loss uninterrupted {reference:.4f}, resumed {resumed:.4f}")
    assert np.isfinite(resumed) and abs(resumed - reference) / reference < 0.05, (reference, resumed)
