"""The main job's Trainer callbacks: the validation record and the time limit, and why training ended."""

from __future__ import annotations

import time
from typing import Any

import torch
from transformers import TrainerCallback, TrainerState


class ValidationReport(TrainerCallback):
    """Prints each validation NDCG@10 on rank 0 and keeps the records for metrics.json.

    Each record's ``epoch`` is the Trainer's own (``state.epoch``, which counts batches, so gradient
    accumulation and the number of processes are accounted for), rounded to 2 decimals. A resumed
    run starts from the validations in its checkpoint's ``log_history``, so its record is the
    uninterrupted run's.
    """

    def __init__(self, show: bool) -> None:
        self.show = show
        self.history: list[dict[str, Any]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.history = [_record(e, e.get("epoch", 0), e.get("step", 0)) for e in state.log_history if _NDCG in e]
        return control

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not metrics or _NDCG not in metrics:
            return control
        record = _record(metrics, state.epoch or 0, state.global_step)
        self.history.append(record)
        if self.show:
            print(f"validation, epoch {record['epoch']:g}: ndcg@10 {record['ndcg@10']:.4f}")
        return control


_NDCG = "eval_ndcg@10"


def _record(metrics: dict[str, Any], epoch: float, step: int) -> dict[str, Any]:
    record = {"epoch": round(epoch, 2), "step": step}
    record.update({key.removeprefix("eval_"): value for key, value in metrics.items() if "@" in key})
    return record


class LogAtCheckpoints(TrainerCallback):
    """Logs the training loss at every checkpoint too, so a run resumed from one starts with nothing
    unlogged: the Trainer does not save the loss summed since the last log, and a resumed run's next
    logged loss would average only the steps since the resume (not those of the uninterrupted run)."""

    def on_step_end(self, args, state, control, **kwargs):
        control.should_log = control.should_log or control.should_save
        return control

    on_epoch_end = on_step_end


class TimeLimit(TrainerCallback):
    """Stops training once ``minutes`` have passed since it began (checked every ``check_every`` updates).

    Under a multi-process launch rank 0's clock decides and is broadcast, so every rank stops at the
    same update (ranks that stopped apart would wait on each other's gradients forever).
    """

    def __init__(self, minutes: float, check_every: int = 10) -> None:
        if not minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {minutes!r}")
        self.seconds, self.check_every = minutes * 60, check_every
        self.started = time.monotonic()
        self.stopped_at_step: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.check_every:
            return control
        decision = [time.monotonic() - self.started > self.seconds]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast_object_list(decision, src=0)
        if decision[0]:
            control.should_training_stop = True
            self.stopped_at_step = state.global_step
        return control


def stop_reason(state: TrainerState, time_limit: TimeLimit | None, max_steps: int | None = None) -> str:
    """Why training ended: the epochs ran out (``"schedule"``), ``"early stopping"``, or the ``"time limit"``
    (``max_steps``: the schedule's updates, when not ``state.max_steps``)."""
    if time_limit and time_limit.stopped_at_step == state.global_step:
        return "time limit"
    if state.global_step < (max_steps or state.max_steps):
        return "early stopping"
    return "schedule"
