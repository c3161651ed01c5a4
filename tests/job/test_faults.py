"""Kill and resume at CI size: benchmarks/faults.py SIGKILLs the main job 5 times (mid-step, mid-
validation, half-way through a checkpoint's weights, at a random time, half-way through the final
model) and resumes it with ``--resume_from_checkpoint true``; the final weights and metrics.json equal
an uninterrupted run's (about a minute: 7 launches of the job). ``--kills 24`` is in docs/reliability.md."""

import pytest

from .._tiny import load_script


def _faults():
    return load_script("benchmarks/faults.py")


@pytest.mark.slow
def test_killed_five_times_and_resumed_the_job_ends_bit_for_bit_where_an_uninterrupted_run_ends(tmp_path, capsys):
    summary = _faults().main(["--kills", "5", "--workdir", str(tmp_path)])
    assert summary["kills"] == 5 and summary["launches"] == 6
    assert {"step", "eval", "save model.safetensors"} <= set(summary["phases"])
    assert summary["torn_checkpoints_warned"], "the checkpoint torn mid-save was skipped with a warning"
    assert summary["different_tensors"] == [] and summary["different_metrics"] == [] and summary["equal"]
