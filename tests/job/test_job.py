"""The main job's library side: validation epochs come from the Trainer's state (issue 22)."""

import errno
import json

import pytest
import torch
from transformers import modeling_utils

from hf_seqmask.checkpoints import checkpoint_problem
from hf_seqmask.cli import main
from hf_seqmask.resume import updates_per_epoch

from .test_main_job import OWN, _interactions

# 40 users -> 5 batches of 8 per epoch: 5 updates, or 3 with accumulation 2 (the last one shorter).
SMALL = ["--scheme", "clm", "--model", "gpt2", "--hidden-size", "16", "--max-length", "12", "--batch-size", "8",
         "--epochs", "3", "--validate-every", "1", "--patience", "0", "--quiet"]  # fmt: skip


@pytest.mark.parametrize(("accumulation", "updates"), [(1, 5), (2, 3)])
def test_validation_epochs_count_epochs_under_gradient_accumulation(tmp_path, capsys, accumulation, updates):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, *SMALL, "--output-dir", str(tmp_path / "out")]
    summary = main([*flags, "--gradient_accumulation_steps", str(accumulation)])
    assert updates_per_epoch(5, accumulation) == updates
    history = json.loads((tmp_path / "out" / "metrics.json").read_text())["validation"]["history"]
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert [record["step"] for record in history] == [updates, 2 * updates, 3 * updates]
    assert "validation, epoch 2: ndcg@10 " in capsys.readouterr().out
    assert summary["epochs_trained"] == 3


def test_a_full_disk_while_the_job_saves_names_the_checkpoint_and_a_relaunch_goes_on(tmp_path, capsys, monkeypatch):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    out = tmp_path / "out"
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, *SMALL, "--output-dir", str(out)]
    flags += ["--resume_from_checkpoint", "true"]  # the same command before and after: no checkpoint yet at first
    save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        if str(path).endswith("checkpoint-10/optimizer.pt"):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file")
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(SystemExit) as raised:
        main(flags)
    assert f"error: could not write the checkpoint {out / 'checkpoint-10'} (RuntimeError: " in str(raised.value)
    assert f"the previous checkpoint {out / 'checkpoint-5'} is untouched" in str(raised.value)
    assert "--resume_from_checkpoint true: training from the start" in capsys.readouterr().out
    monkeypatch.setattr(torch, "save", save)
    summary = main(flags)
    assert f"--resume_from_checkpoint true: resuming from {out / 'checkpoint-5'}" in capsys.readouterr().out
    assert [record["step"] for record in summary["validation"]["history"]] == [5, 10, 15]  # epoch 1's kept
    assert summary["epochs_trained"] == 3 and (out / "model" / "model.safetensors").is_file()


def test_a_finished_run_killed_before_its_outputs_were_written_is_finished_without_another_update(tmp_path):
    # 40 users, batches of 8: 5 updates an epoch; 7 updates end in the middle of the second epoch, where
    # transformers' Trainer, resumed from checkpoint-7, would train update 8.
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, "--scheme", "clm", "--model", "gpt2",
             "--hidden-size", "16", "--max-length", "12", "--batch-size", "8", "--max-steps", "7",
             "--save_strategy", "steps", "--save_steps", "7", "--quiet"]  # fmt: skip
    flags += ["--output-dir", str(tmp_path / "out")]
    first = main(flags)
    weights = (tmp_path / "out" / "model" / "model.safetensors").read_bytes()
    again = main([*flags, "--resume_from_checkpoint", "true"])  # as after a kill while testing
    assert again["log_history"][-2]["step"] == first["log_history"][-2]["step"] == 7
    assert (tmp_path / "out" / "model" / "model.safetensors").read_bytes() == weights
    assert again["test"] == first["test"] and again["stopped_by"] == first["stopped_by"] == "schedule"


def _no_space(path):
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_full_disk_enospc_while_checkpointing_says_so_and_the_previous_checkpoint_resumes(
    tmp_path, capsys, monkeypatch
):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    out = tmp_path / "out"
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, *SMALL, "--output-dir", str(out)]
    flags += ["--save_strategy", "epoch", "--resume_from_checkpoint", "true"]
    save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        if str(path).endswith("checkpoint-10/optimizer.pt"):
            raise _no_space(path)
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(SystemExit) as raised:
        main(flags)
    message = str(raised.value)
    assert f"error: could not write the checkpoint {out / 'checkpoint-10'} (OSError: [Errno 28] No space" in message
    assert (
        f"it was removed and the previous checkpoint {out / 'checkpoint-5'} is untouched; the disk is full (" in message
    )
    assert message.endswith("make room, then run the same command with --resume_from_checkpoint true")
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-5"]  # no torn folder left
    assert checkpoint_problem(out / "checkpoint-5") is None
    monkeypatch.setattr(torch, "save", save)
    summary = main(flags)
    assert [record["step"] for record in summary["validation"]["history"]] == [5, 10, 15]
    assert f"--resume_from_checkpoint true: resuming from {out / 'checkpoint-5'}" in capsys.readouterr().out
    assert (out / "model" / "model.safetensors").is_file()


def test_a_full_disk_while_writing_the_final_model_names_it_and_a_relaunch_finishes(tmp_path, monkeypatch):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    out = tmp_path / "out"
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, *SMALL, "--output-dir", str(out)]
    flags += ["--save_strategy", "epoch", "--resume_from_checkpoint", "true"]
    write = modeling_utils.safe_save_file

    def full_disk(tensors, filename, *args, **kwargs):
        if ".model.partial-" in str(filename):
            raise _no_space(filename)
        return write(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(modeling_utils, "safe_save_file", full_disk)
    with pytest.raises(SystemExit) as raised:
        main(flags)
    message = str(raised.value)
    assert message.startswith(f"error: could not write {out / 'model'}: No space left on device; the disk is full (")
    assert message.endswith(
        f"the checkpoint {out / 'checkpoint-15'} is untouched: rerun with --resume_from_checkpoint true"
    )
    assert not any(p.name.startswith(".model") for p in out.iterdir()) and not (out / "model").exists()
    monkeypatch.setattr(modeling_utils, "safe_save_file", write)
    summary = main(flags)  # finished from checkpoint-15 without another update
    assert summary["epochs_trained"] == 3 and (out / "model" / "model.safetensors").is_file()


def test_the_job_ends_by_leaving_the_process_group_after_its_outputs_are_written(tmp_path, monkeypatch):
    # Under a launch the other ranks wait there for rank 0's writes (hf_seqmask.job.peers.leave_process_group).
    import hf_seqmask.cli

    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    out = tmp_path / "out"
    written_when_left = []
    monkeypatch.setattr(hf_seqmask.cli, "leave_process_group", lambda: written_when_left.append(
        sorted(path.name for path in out.iterdir())))  # fmt: skip
    main(["--dataset", str(tmp_path / "clicks.csv"), *OWN, *SMALL, "--epochs", "1", "--output-dir", str(out)])
    assert len(written_when_left) == 1 and {"metrics.json", "model"} <= set(written_when_left[0])
