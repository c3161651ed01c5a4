"""Checkpoints a killed run can trust (hf_seqmask.checkpoints, SeqRecTrainer's saving and resuming).

A real two-checkpoint run of a tiny model, then its folders torn the ways a kill tears them: a file
cut short (mid-write), the later files missing (the Trainer writes trainer_state.json last), files
deleted by a kill during the Trainer's checkpoint rotation. The kill-and-resume harness
(benchmarks/faults.py, tests/job/test_faults.py) does the same to the main job with SIGKILL.
"""

import re
import shutil
import warnings

import pytest
import torch
from transformers import TrainingArguments

from hf_seqmask import SeqRecTrainer
from hf_seqmask.checkpoints import (
    CheckpointSaveError,
    TornCheckpointWarning,
    atomic_path,
    checkpoint_problem,
    last_complete_checkpoint,
    stopped_early,
    write_text_atomic,
)

from ._tiny import collator, sessions, tiny_model


def _trainer(out, max_steps=2):
    args = TrainingArguments(
        output_dir=str(out), max_steps=max_steps, per_device_train_batch_size=8, save_strategy="steps", save_steps=1,
        report_to="none", disable_tqdm=True, use_cpu=True, seed=0, log_level="error",
    )  # fmt: skip
    torch.manual_seed(0)
    return SeqRecTrainer(
        model=tiny_model("gpt2", "clm"), args=args, train_dataset=sessions(32), data_collator=collator("clm")
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An output folder with checkpoint-1 and checkpoint-2, both whole."""
    out = tmp_path_factory.mktemp("run") / "out"
    _trainer(out).train()
    return out


@pytest.fixture
def out(saved, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(saved, copy)
    return copy


def _cut(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_whole_checkpoints_have_no_problem(out):
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-1", "checkpoint-2"]
    assert checkpoint_problem(out / "checkpoint-1") is None and checkpoint_problem(out / "checkpoint-2") is None
    assert last_complete_checkpoint(out) == out / "checkpoint-2"


@pytest.mark.parametrize(
    ("tear", "problem"),
    [
        (lambda c: (c / "trainer_state.json").unlink(), "no trainer_state.json"),  # killed before the last file
        (lambda c: _cut(c / "trainer_state.json"), "trainer_state.json: unreadable (JSONDecodeError"),
        (lambda c: _cut(c / "model.safetensors"), "model.safetensors: cut short"),
        (lambda c: _cut(c / "model.safetensors", 0.0001), "model.safetensors: cut short"),
        (lambda c: _cut(c / "optimizer.pt"), "optimizer.pt: unreadable (BadZipFile"),
        (lambda c: _cut(c / "rng_state.pth", 0.9), "rng_state.pth: unreadable (BadZipFile"),
        (lambda c: (c / "scheduler.pt").write_bytes(b""), "scheduler.pt: unreadable (BadZipFile"),
        (lambda c: (c / "model.safetensors").write_bytes(b"\x02" + bytes(7) + b"[]"), "model.safetensors: unreadable"),
        (lambda c: (c / "optimizer.pt").unlink(), "no optimizer.pt"),  # rotation: some files deleted
        (lambda c: [(c / n).unlink() for n in ("model.safetensors", "rng_state.pth")], "no model.safetensors, rng"),
        (lambda c: shutil.rmtree(c) or c.mkdir(), "no model.safetensors, trainer_state.json, config.json"),
    ],
)
def test_a_torn_checkpoint_is_named_and_skipped_never_returned(out, tear, problem):
    tear(out / "checkpoint-2")
    assert checkpoint_problem(out / "checkpoint-2").startswith(problem)
    expected = re.escape(f"skipping the torn checkpoint {out / 'checkpoint-2'} ({problem}")
    with pytest.warns(TornCheckpointWarning, match=expected):
        assert last_complete_checkpoint(out) == out / "checkpoint-1"


def test_numeric_order_no_checkpoint_and_save_only_model(out, tmp_path):
    (out / "checkpoint-2").rename(out / "checkpoint-10")
    shutil.copytree(out / "checkpoint-1", out / "checkpoint-9")
    assert last_complete_checkpoint(out) == out / "checkpoint-10"
    assert last_complete_checkpoint(tmp_path / "absent") is None
    (out / "checkpoint-10" / "optimizer.pt").unlink()  # what a run with save_only_model writes
    assert checkpoint_problem(out / "checkpoint-10", needs_training_state=False) is None
    for name in ("checkpoint-10", "checkpoint-9", "checkpoint-1"):
        (out / name / "trainer_state.json").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert last_complete_checkpoint(out) is None
    assert [str(w.message).split(" (")[0] for w in caught] == [
        f"skipping the torn checkpoint {out / name}" for name in ("checkpoint-10", "checkpoint-9", "checkpoint-1")
    ]


def test_the_trainer_resumes_from_the_newest_whole_checkpoint_and_rewrites_the_torn_one(out):
    _cut(out / "checkpoint-2" / "optimizer.pt")
    trainer = _trainer(out, max_steps=3)
    with pytest.warns(TornCheckpointWarning, match="checkpoint-2"):
        trainer.train(resume_from_checkpoint=True)
    assert trainer.state.global_step == 3
    assert checkpoint_problem(out / "checkpoint-2") is None  # saved again, from scratch
    assert last_complete_checkpoint(out) == out / "checkpoint-3"
    for name in ("checkpoint-1", "checkpoint-2", "checkpoint-3"):
        (out / name / "trainer_state.json").unlink()
    with pytest.raises(ValueError, match="No valid checkpoint found"), pytest.warns(TornCheckpointWarning):
        _trainer(out, max_steps=4).train(resume_from_checkpoint=True)


def test_a_full_disk_while_saving_names_the_checkpoint_and_keeps_the_previous_one(out, monkeypatch):
    trainer = _trainer(out, max_steps=4)
    save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        if str(path).endswith("checkpoint-4/optimizer.pt"):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file")
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointSaveError) as raised:
        trainer.train(resume_from_checkpoint=str(out / "checkpoint-2"))
    message = str(raised.value)
    assert f"could not write the checkpoint {out / 'checkpoint-4'} (RuntimeError: [enforce fail" in message
    assert f"it was removed and the previous checkpoint {out / 'checkpoint-3'} is untouched" in message
    assert not (out / "checkpoint-4").exists() and last_complete_checkpoint(out) == out / "checkpoint-3"
    monkeypatch.setattr(torch, "save", save)
    resumed = _trainer(out, max_steps=4)
    resumed.train(resume_from_checkpoint=True)  # the disk has room again: on from checkpoint-3
    assert resumed.state.global_step == 4 and checkpoint_problem(out / "checkpoint-4") is None


def test_the_end_of_a_schedule_is_not_an_early_stop(out):
    assert stopped_early(out / "checkpoint-1", patience=3) is None
    assert stopped_early(out / "checkpoint-2", patience=3) is None  # stopped at max_steps: a longer run goes on


def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path):
    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    with pytest.raises(KeyError), atomic_path(target) as partial:
        partial.write_text("half")
        raise KeyError("killed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    with atomic_path(target):
        pass  # nothing written (no picture to draw): the file stays
    assert target.read_text() == "new"
    model = tmp_path / "model"
    for version in ("1", "2"):
        with atomic_path(model) as partial:
            partial.mkdir()
            (partial / "weights").write_text(version)
    assert (model / "weights").read_text() == "2" and sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json",
        "model",
    ]


def test_a_failed_atomic_write_names_the_path(tmp_path):
    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    full = pytest.raises(CheckpointSaveError, match=re.escape(f"could not write {target}: No space left on device"))
    with full, atomic_path(target) as partial:
        partial.write_text("half")
        raise OSError(28, "No space left on device")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
