"""The main job under 2-process launches (accelerate and torchrun, gloo on CPU), at a tiny size."""

import json
import shutil
import socket
import subprocess
import sys

import pytest

from hf_seqmask import SeqRecModel
from hf_seqmask.data import load_data
from hf_seqmask.job import parse_args
from hf_seqmask.metrics import evaluate_ranking

from .._tiny import needs_index

pytestmark = pytest.mark.slow  # subprocesses and benchmark scripts

TINY = ["--max-steps", "3", "--hidden-size", "16", "--max-length", "20", "--quiet"]
LAUNCHERS = {
    # accelerate's --cpu multi-process mode needs MPI; --multi_gpu runs torch.distributed.run, which
    # falls back to gloo on a machine without GPUs.
    "accelerate": ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no"],
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"],
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_index
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_process_training_evaluates_every_user_once_like_one_process(tmp_path, launcher):
    if launcher == "accelerate" and shutil.which("accelerate") is None:
        pytest.skip("the accelerate command is not on PATH")
    # A fresh port per launch: back-to-back launches on the default port 29500 can find it still held.
    port = ["--main_process_port" if launcher == "accelerate" else "--master_port", str(_free_port())]
    command = [*LAUNCHERS[launcher], *port, "-m", "hf_seqmask.cli", *TINY, "--output-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["world_size"] == 2
    assert result.stdout.count("| mlm | bert | excluded |") == 1, "rank 0 alone reports"
    # The same saved model evaluated in this single process gives the same numbers, every user once.
    args = parse_args([*TINY, "--output-dir", str(tmp_path)])
    splits = load_data(args)[0]
    model = SeqRecModel.from_pretrained(tmp_path / "model").eval()
    evaluation = model.data_collator("eval")  # the saved model carries its masking spec
    test = splits["test"].select_columns(["input_ids"])
    for row in summary["test"]:
        if row["model"] != "bert":
            continue
        again = evaluate_ranking(
            lambda b: model(**b).logits, test, evaluation, exclude_history=row["history"] == "excluded"
        )
        assert again["rows"] == row["rows"] == 943
        assert again == pytest.approx({k: row[k] for k in again})
