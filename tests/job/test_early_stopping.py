"""Early stopping on validation NDCG@10 through transformers' EarlyStoppingCallback: when it stops,
which weights it keeps, and the main job's use."""

import json

import pytest
from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments

from hf_seqmask import SeqRecModel, SeqRecTrainer
from hf_seqmask.cli import main
from hf_seqmask.data import load_data
from hf_seqmask.job import parse_args
from hf_seqmask.metrics import evaluate_ranking

from .._tiny import collator, needs_index, sessions, tiny_model
from .test_main_job import TINY


class _Scripted(TrainerCallback):
    """Replaces each evaluation's eval_ndcg@10 by the next scripted value (before early stopping reads it)."""

    def __init__(self, values):
        self.values = iter(values)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics["eval_ndcg@10"] = next(self.values)


def _stopping_trainer(tmp_path, values, patience):
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=40, per_device_train_batch_size=16, eval_strategy="steps",
        eval_steps=5, save_strategy="steps", save_steps=5, load_best_model_at_end=True,
        metric_for_best_model="eval_ndcg@10", report_to="none", disable_tqdm=True, use_cpu=True,
        log_level="error",
    )  # fmt: skip
    trainer = SeqRecTrainer(
        model=tiny_model("bert", "mlm"),
        args=args,
        train_dataset=sessions(640),
        eval_dataset=[s for s in sessions(32, seed=1) if len(s["input_ids"]) >= 2],
        data_collator=collator("mlm"),
    )
    trainer.callback_handler.callbacks.insert(0, _Scripted(values))
    trainer.add_callback(EarlyStoppingCallback(early_stopping_patience=patience))
    return trainer


def test_the_trainer_stops_after_patience_evaluations_without_improvement_and_keeps_the_best(tmp_path):
    trainer = _stopping_trainer(tmp_path, [0.1, 0.3, 0.2, 0.25, 0.29, 0.5, 0.6, 0.7], patience=3)
    trainer.train()
    assert trainer.state.global_step == 25  # evaluations at 5..25; 3 without improving on 0.3 (step 10)
    assert trainer.state.best_metric == 0.3 and trainer.state.best_model_checkpoint.endswith("checkpoint-10")


def test_the_metric_early_stopping_watches_is_the_headline(tmp_path):
    trainer = _stopping_trainer(tmp_path, [], patience=3)
    trainer.callback_handler.callbacks.pop(0)  # unscripted: the real metric
    metrics = trainer.evaluate()
    assert "eval_ndcg@10" in metrics and trainer.args.metric_for_best_model == "eval_ndcg@10"


@needs_index
def test_main_job_keeps_the_best_validation_weights(tmp_path, capsys):
    flags = ["--scheme", "clm", "--model", "gpt2", "--output-dir", str(tmp_path), *TINY]
    flags[flags.index("--max-steps") + 1] = "-1"
    flags += ["--epochs", "3", "--validate-every", "1", "--patience", "0"]
    summary = main(flags)
    out = capsys.readouterr().out
    assert "validation, epoch 1: ndcg@10 " in out and "validation, epoch 3: ndcg@10 " in out
    validation = json.loads((tmp_path / "metrics.json").read_text())["validation"]
    assert validation == summary["validation"]
    assert [record["epoch"] for record in validation["history"]] == [1, 2, 3]
    assert validation["best"]["ndcg@10"] == max(record["ndcg@10"] for record in validation["history"])
    # The saved model is the best validation one: it reproduces that evaluation exactly.
    args = parse_args(flags)
    splits = load_data(args)[0]
    model = SeqRecModel.from_pretrained(tmp_path / "model").eval()
    again = evaluate_ranking(
        lambda batch: model(**batch).logits,
        splits["validation"].select_columns(["input_ids"]),
        model.data_collator("eval"),
        exclude_history=True,
    )
    assert again["ndcg@10"] == pytest.approx(validation["best"]["ndcg@10"], abs=1e-12)


@needs_index
@pytest.mark.parametrize(
    "extra",
    [
        ["--scheme", "clm", "--model", "gpt2", "--loss", "sampled_softmax", "--num-negatives", "8"],
        [
            "--scheme",
            "mlm",
            "--model",
            "bert",
            "--loss",
            "gbce",
            "--num-negatives",
            "8",
            "--mask-last-item-prob",
            "0.5",
        ],
    ],
)
def test_main_job_trains_with_sampled_losses_and_last_item_masking(tmp_path, extra):
    summary = main([*extra, "--output-dir", str(tmp_path), *TINY])
    assert summary["arguments"]["loss"] == extra[extra.index("--loss") + 1]
    assert SeqRecModel.from_pretrained(tmp_path / "model").config.loss == summary["arguments"]["loss"]
    assert all(row["rows"] == 943 for row in summary["test"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--loss", "gbce"], "--loss gbce needs --num-negatives >= 1, got 0"),
        (["--scheme", "clm", "--model", "gpt2", "--mask-last-item-prob", "0.2"], "--mask-last-item-prob is for"),
    ],
)
def test_main_job_refuses_inconsistent_flags(flags, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(flags)
    assert message in capsys.readouterr().err


@needs_index
def test_time_limit_stops_training_and_the_best_validation_weights_are_still_tested(tmp_path):
    flags = ["--scheme", "clm", "--model", "gpt2", "--output-dir", str(tmp_path), *TINY]
    flags[flags.index("--max-steps") + 1] = "-1"
    # 6 epochs of 30 updates; validation every epoch; a limit that has passed by the first check (update 10)
    flags += ["--epochs", "6", "--validate-every", "1", "--patience", "0", "--max-minutes", "1e-9"]
    summary = main(flags)
    assert summary["stopped_by"] == "time limit"
    assert summary["epochs_trained"] < 1  # stopped at update 10 of the first epoch, before any validation
    assert summary["validation"] is None and len(summary["test"]) == 4


@needs_index
def test_a_run_that_ends_on_its_schedule_says_so(tmp_path):
    summary = main(["--scheme", "clm", "--model", "gpt2", "--output-dir", str(tmp_path), *TINY, "--max-minutes", "60"])
    assert summary["stopped_by"] == "schedule"


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_a_negative_time_limit_is_refused(capsys, value):
    with pytest.raises(SystemExit):
        parse_args(["--max-minutes", value])
    assert f"--max-minutes must be >= 0 (0: no limit), got {float(value)}" in capsys.readouterr().err
