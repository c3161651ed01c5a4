"""The main job: train a next-item recommender with one scheme, evaluate, recommend.

Run (also as ``hf-seqmask-train``):
    python examples/train.py                                   # BERT + mlm on ML-100K, a few minutes on 2 cores
    python examples/train.py --scheme clm --model gpt2 --dataset ml-1m --bf16 --dataloader_num_workers 2
    python examples/train.py --dataset "clicks/*.parquet" --user-column visitor --item-column sku
    python examples/train.py job.yaml --learning_rate 1e-3     # a JSON/YAML file of flags, then overrides

Flags: the data, model, masking and job options (``hf_seqmask.job.arguments``), plus the
``transformers.TrainingArguments`` flags (``--bf16``, ``--dataloader_num_workers``, ``--report_to``,
``--save_strategy``, ``--resume_from_checkpoint``, ``--label_smoothing_factor``,
``--gradient_checkpointing``, ...) with this job's defaults, passed to the Trainer as they are (those
the tests run: docs/main_job.md); ``--help`` lists them.

Protocol: leave-one-out per user (last item = test, second-to-last = validation), or with
``--session-column`` sessions split by time (the sessions that end last are the test split); every
item ranked (reserved ids excluded), Recall@10 / NDCG@10 / MRR@10 with the items already in the
history excluded (the headline) and included, next to a popularity baseline computed the same way.
The model's metrics come from ``trainer.evaluate`` (sharded over ranks). Writes ``metrics.json``,
``curves.png`` (with the ``plots`` extra) and the saved model (masking spec and item vocabulary
included) into ``--output-dir``.

This script is thin: the options, configs and callbacks live in :mod:`hf_seqmask.job`, the data
loading in :func:`hf_seqmask.data.load_data`, the result table in :mod:`hf_seqmask.evaluation`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import EarlyStoppingCallback, TrainerCallback
from transformers.utils import logging as transformers_logging

from . import SeqRecModel, SeqRecTrainer
from ._device import cpu_facts
from .checkpoints import CheckpointSaveError, atomic_path, last_complete_checkpoint, write_text_atomic
from .data import load_data_and_bad_rows
from .evaluation import evaluate_test, format_table, model_input_columns
from .job import (
    Job,
    LogAtCheckpoints,
    TimeLimit,
    ValidationReport,
    apply_collective_timeout,
    leave_process_group,
    model_config,
    parse_args,
    peers_watched,
    resuming,
    stop_reason,
    training_arguments,
)

__all__ = ["main", "print_recommendations"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the job on ``argv`` (default: the command line); returns what it writes to metrics.json
    (``{}`` on the ranks other than 0 of a multi-process launch)."""
    args = parse_args(argv)
    # A rank that lost a peer (dead, or silent past --ddp_timeout) exits with one line that says so.
    with peers_watched(args.training.ddp_timeout), _compile_settings(args.training.torch_compile):
        summary = _run(args)
        leave_process_group()  # the other ranks wait for rank 0's writes; no rank exits with the group up
    return summary


def _compile_settings(compiling: bool) -> contextlib.AbstractContextManager:
    """Under ``--torch_compile``, dynamo traces data-dependent shapes, so a compiled training step
    scores only the target positions, as eager does (the masked schemes' ~20%), not every position
    (docs/train_step.md measures both)."""
    if not compiling:
        return contextlib.nullcontext()
    return torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True)


def _run(args: Job) -> dict[str, Any]:
    arguments = args.summary()  # as given (a resumed run that had stopped changes its Trainer's max_steps)
    started = time.time()
    if args.quiet:
        datasets.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    # A process of a multi-process launch prints only on rank 0 (the Trainer reads the same variable).
    show = int(os.environ.get("RANK", "0") or 0) == 0
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.training.seed)
    try:
        splits, vocabulary, item_names, description, side_spec, bad_rows = load_data_and_bad_rows(args.data_args)
    except (FileNotFoundError, ValueError, TypeError) as error:  # bad data: the error names the file and column
        raise SystemExit(f"error: {error}") from None
    if show:
        print(description)
        if bad_rows is not None and bad_rows.counts:  # (--bad-rows skip: under error they stopped the job)
            print(bad_rows.describe())
    model = SeqRecModel(model_config(args, vocabulary.vocab_size, side_spec))
    model.set_vocabulary(vocabulary)
    model.feature_spec = side_spec.features  # saved beside the weights: recommend() on raw histories
    report = ValidationReport(show)
    time_limit = TimeLimit(args.max_minutes) if args.max_minutes else None
    trainer = _trainer(args, model, splits, report, time_limit)
    apply_collective_timeout(trainer.args.ddp_timeout)  # transformers sets it off the CPU only
    schedule = resuming.train(trainer, show, args.patience if args.validate_every else 0, len(splits["train"]))
    train_seconds = time.time() - started
    trainer.remove_callback(EarlyStoppingCallback)  # it watches validation only
    # Every rank evaluates its shard of the test users (the Trainer gathers them: each user once).
    test_metrics = trainer.evaluate(splits["test"].select_columns(model_input_columns(model)), metric_key_prefix="test")
    if not trainer.is_world_process_zero():
        return {}
    rows = evaluate_test(model, splits, test_metrics)
    print(format_table(rows))
    output_dir = Path(trainer.args.output_dir or "out/train")
    output_dir.mkdir(parents=True, exist_ok=True)
    with _naming_a_failed_write(output_dir), atomic_path(output_dir / "model") as partial:  # never half a model
        # With its masking spec, item vocabulary and a model card that holds the data and the test table.
        model.save_pretrained(partial, model_card={"data": description, "metrics": rows})
    best = max(report.history, key=lambda r: r["ndcg@10"]) if report.history else None
    device = trainer.args.device
    summary = {
        "data": description,
        "bad_rows": bad_rows.summary() if bad_rows is not None else None,
        "arguments": arguments,
        "train_seconds": round(train_seconds, 1),
        "world_size": trainer.args.world_size,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu": cpu_facts(),  # train_seconds depend on it: one model name covers hosts with and without bf16 units
        "epochs_trained": round(trainer.state.epoch or 0, 2),
        "stopped_by": stop_reason(trainer.state, time_limit, max_steps=schedule),
        "validation": {"history": report.history, "best": best} if report.history else None,
        "test": rows,
        "log_history": trainer.state.log_history,  # what curves.png shows
    }
    with _naming_a_failed_write(output_dir):
        write_text_atomic(output_dir / "metrics.json", json.dumps(summary, indent=2))
    print(f"saved the model to {output_dir / 'model'} and the metrics to {output_dir / 'metrics.json'}")
    from .plots import plot_training_curves

    with _naming_a_failed_write(output_dir), atomic_path(output_dir / "curves.png") as partial:
        drawn = plot_training_curves(trainer.state.log_history, partial, title=description)
    if drawn:
        print(f"the loss and validation curves are in {output_dir / 'curves.png'}")
    print_recommendations(model, splits["test"][0], item_names)
    return summary


@contextlib.contextmanager
def _naming_a_failed_write(output_dir: Path) -> Iterator[None]:
    """A failed write of the job's outputs (a full disk) exits with one line naming the path; the
    checkpoints (if saved) are untouched, so the same command with --resume_from_checkpoint true goes on."""
    try:
        yield
    except CheckpointSaveError as error:
        found = last_complete_checkpoint(output_dir, warn=False)
        kept = f"; the checkpoint {found} is untouched: rerun with --resume_from_checkpoint true" if found else ""
        raise SystemExit(f"error: {error}{kept}") from None


def _trainer(
    args: Job,
    model: SeqRecModel,
    splits: datasets.DatasetDict,
    report: ValidationReport,
    time_limit: TimeLimit | None,
) -> SeqRecTrainer:
    """The Trainer on the train split, validating on the validation split, with the job's callbacks."""
    callbacks: list[TrainerCallback] = [report, LogAtCheckpoints()]
    if args.validate_every and args.patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=args.patience))
    if time_limit:
        callbacks.append(time_limit)
    columns = model_input_columns(model)
    return SeqRecTrainer(
        model=model,
        args=training_arguments(args, len(splits["train"])),
        train_dataset=splits["train"].select_columns(columns),
        eval_dataset=splits["validation"].select_columns(columns),
        data_collator=model.data_collator("train"),
        eval_data_collator=model.data_collator("eval"),
        callbacks=callbacks,
    )


def print_recommendations(model: SeqRecModel, example: dict[str, Any], item_names: dict) -> None:
    """Top-10 next items for one user, through ``model.recommend`` (the whole history as input; the
    model reads its ``max_seq_length - 1`` most recent items; every seen item excluded)."""
    if model.vocabulary is None:
        raise ValueError("the model has no vocabulary to name its recommendations (model.set_vocabulary)")
    history = model.vocabulary.decode(example["input_ids"])
    side = {name: example[name] for name in model.config.side_features}  # beside each item of the history
    recommendations = model.recommend([{"input_ids": history, **side}], k=10)[0]
    print(f"user {example['user_id']}: last watched {', '.join(str(item_names.get(i, i)) for i in history[-3:])}")
    for rank, (item, _) in enumerate(recommendations, start=1):
        print(f"{rank:>3}. {item_names.get(item, item)}")


if __name__ == "__main__":
    main()
