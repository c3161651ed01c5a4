"""Fault injection for benchmarks/faults.py, imported by the main job's process before the job runs.

    python -c "import faulthook; faulthook.install(); from hf_seqmask.cli import main; main()" FLAGS

It wraps a few functions of transformers and hf_seqmask (nothing of the job changes otherwise) to

- write the phase the job is in to ``$FAULT_BEACON`` (``step 12``, ``eval 12``,
  ``save 12 optimizer.pt``, ``rotate 12``, ``test``, ``final model``), so the harness knows where a
  kill at a random time landed, and append ``saved N`` to ``$FAULT_EVENTS`` once checkpoint N is
  written (``tore checkpoint-M`` when it tears an old one while the Trainer deletes it);
- SIGKILL the process at the fault ``$FAULT`` names, at a deterministic point:

  ``step@N``          after the backward pass of update N, before the optimizer step;
  ``eval@N``          after the second batch of the validation at step N;
  ``save:FILE@N``     half-way through writing FILE of checkpoint-N (``model.safetensors``,
                      ``optimizer.pt``, ``scheduler.pt``, ``rng_state.pth``, ``trainer_state.json``):
                      the first half of its bytes is on disk, the process dies before the rest;
  ``rotate@N``        while the Trainer deletes an old checkpoint after saving checkpoint-N
                      (``save_total_limit``): its optimizer and weights are gone, the rest is not;
  ``test``            after the second batch of the final test evaluation;
  ``final:model``     half-way through writing the final ``model/`` weights (into its temporary folder);
  ``final:metrics``   half-way through writing ``metrics.json`` (its temporary file, before the rename).

``$FAULT_BREAK=rng`` breaks resuming on purpose (the Trainer restores no RNG state, so the dropout
after a resume differs): the harness's negative control, which its comparison must catch.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import time
from pathlib import Path

# Under a multi-process launch, $FAULT_RANK names the one rank that the fault hits (default: every rank).
_RANK = os.environ.get("RANK", "0")
FAULT = os.environ.get("FAULT", "") if os.environ.get("FAULT_RANK", _RANK) == _RANK else ""
_state = {"phase": "startup", "batches": 0, "step": 0}


def _die() -> None:
    """SIGKILL this process; ``$FAULT_SIGNAL=STOP``: SIGSTOP it instead (a hung peer, alive but silent).
    Appends ``fault TIME PID`` to ``$FAULT_EVENTS`` first."""
    _event(f"fault {time.time():.3f} {os.getpid()}")
    os.kill(os.getpid(), signal.SIGSTOP if os.environ.get("FAULT_SIGNAL") == "STOP" else signal.SIGKILL)


def _beacon(phase: str) -> None:
    """One ``pwrite`` of a fixed width: a kill never leaves the beacon half written."""
    _state["phase"] = phase
    path = os.environ.get("FAULT_BEACON")
    if path:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT)
        os.pwrite(descriptor, phase.ljust(64).encode(), 0)
        os.close(descriptor)


def _event(line: str) -> None:
    path = os.environ.get("FAULT_EVENTS")
    if path:
        with open(path, "a") as file:
            file.write(line + "\n")


def _write_half_and_die(data: bytes, path: str | os.PathLike) -> None:
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])
    _die()


def install() -> None:
    """Wrap the functions; a no-op for the job's results when ``$FAULT`` is empty."""
    import safetensors.torch
    import torch
    import transformers.modeling_utils
    from transformers import Trainer, TrainerState

    from hf_seqmask import SeqRecTrainer, checkpoints

    training_step, evaluate, prediction_step = Trainer.training_step, Trainer.evaluate, Trainer.prediction_step
    save_checkpoint, save_to_json = SeqRecTrainer._save_checkpoint, TrainerState.save_to_json
    torch_save, safe_save_file, rmtree, replace = (
        torch.save,
        transformers.modeling_utils.safe_save_file,
        shutil.rmtree,
        os.replace,
    )

    def training_step_(self, *args, **kwargs):
        step = self.state.global_step + 1
        _state["step"] = step
        _beacon(f"step {step}")
        loss = training_step(self, *args, **kwargs)
        if f"step@{step}" == FAULT:
            _die()
        return loss

    def evaluate_(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        _state["batches"] = 0
        _beacon(f"eval {self.state.global_step}" if metric_key_prefix == "eval" else "test")
        return evaluate(self, eval_dataset, ignore_keys, metric_key_prefix)

    def prediction_step_(self, *args, **kwargs):
        output = prediction_step(self, *args, **kwargs)
        _state["batches"] += 1
        where = "test" if _state["phase"] == "test" else f"eval@{self.state.global_step}"
        if _state["batches"] == 2 and where == FAULT:
            _die()
        return output

    def save_checkpoint_(self, model, trial):
        _state["step"] = self.state.global_step
        _beacon(f"save {self.state.global_step}")
        save_checkpoint(self, model, trial)
        _event(f"saved {self.state.global_step}")

    def _saving(path) -> str | None:
        """The fault to fire while writing ``path``, announced on the beacon."""
        name = os.path.basename(str(path))
        if _state["phase"].startswith("save"):
            _beacon(f"save {_state['step']} {name}")
            return f"save:{name}@{_state['step']}"
        if ".model.partial" in str(path):
            _beacon("final model")
            return "final:model"
        return None

    def torch_save_(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and FAULT and _saving(f) == FAULT:
            buffer = io.BytesIO()
            torch_save(obj, buffer, *args, **kwargs)
            _write_half_and_die(buffer.getvalue(), f)
        return torch_save(obj, f, *args, **kwargs)

    def safe_save_file_(tensors, filename, metadata=None):
        if FAULT and _saving(filename) == FAULT:
            _write_half_and_die(safetensors.torch.save(tensors, metadata=metadata), filename)
        return safe_save_file(tensors, filename, metadata=metadata)

    def save_to_json_(self, json_path):
        if FAULT and _saving(json_path) == FAULT:
            text = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"
            _write_half_and_die(text.encode(), json_path)
        save_to_json(self, json_path)
        if _state["phase"].startswith("save"):
            _beacon(f"rotate {_state['step']}")  # what the Trainer does next: delete old checkpoints

    def rmtree_(path, *args, **kwargs):
        if _state["phase"].startswith("rotate") and f"rotate@{_state['step']}" == FAULT:
            _event(f"tore {Path(path).name}")
            for name in ("optimizer.pt", "model.safetensors"):
                Path(path, name).unlink(missing_ok=True)
            _die()
        return rmtree(path, *args, **kwargs)

    def replace_(source, target, *args, **kwargs):
        if os.path.basename(str(target)) == "metrics.json":
            _beacon("final metrics")
            if FAULT == "final:metrics":
                data = Path(source).read_bytes()
                _write_half_and_die(data, source)
        return replace(source, target, *args, **kwargs)

    if os.environ.get("FAULT_BREAK") == "rng":  # the negative control: a resume without the RNG states
        Trainer._load_rng_state = lambda self, checkpoint: None
    Trainer.training_step = training_step_
    Trainer.evaluate = evaluate_
    Trainer.prediction_step = prediction_step_
    SeqRecTrainer._save_checkpoint = save_checkpoint_
    TrainerState.save_to_json = save_to_json_
    torch.save = torch_save_
    transformers.modeling_utils.safe_save_file = safe_save_file_
    shutil.rmtree = rmtree_
    checkpoints.os.replace = replace_  # type: ignore[attr-defined]  # the os module: every os.replace


if __name__ == "__main__":  # torchrun ... -m faulthook FLAGS: the job with the faults installed
    _event(f"rank {_RANK} {os.getpid()}")
    install()
    from hf_seqmask.cli import main

    main()
