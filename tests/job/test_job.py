"""The main job's library side: validation epochs come from the Trainer's state (issue 22)."""

import json

import pytest

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
