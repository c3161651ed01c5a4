"""Early stopping on validation NDCG@10: when it stops, which weights it keeps, and the main job's use."""

import json

import pytest
import torch
from datasets import Dataset
from transformers import TrainerControl, TrainerState

from hf_seqmask import RankingEarlyStopping, SeqRecModel
from hf_seqmask.cli import load_data, main, parse_args
from hf_seqmask.metrics import evaluate_ranking

from ._tiny import collator, tiny_model
from .test_data import needs_index
from .test_main_job import TINY


def scripted_stopper(values, patience, every_epochs=1):
    """A stopper whose evaluations return ``values`` in turn instead of ranking a dataset."""
    stopper = RankingEarlyStopping(
        Dataset.from_dict({"input_ids": [[2, 3]]}),
        collator("clm", "eval"),
        patience=patience,
        every_epochs=every_epochs,
    )
    scripted = iter(values)
    stopper.evaluate = lambda model: {"ndcg@10": next(scripted)}
    return stopper


def run_epochs(stopper, model, epochs):
    """Calls the callback like the Trainer does, moving the weights each epoch; returns the stop
    epoch (or None) and each epoch's first weight value."""
    state, control, weights = TrainerState(), TrainerControl(), {}
    parameter = next(model.parameters())
    for epoch in range(1, epochs + 1):
        with torch.no_grad():
            parameter.view(-1)[0] = float(epoch)  # the weights of epoch e carry the value e
        weights[epoch] = float(epoch)
        state.epoch, state.global_step = float(epoch), 10 * epoch
        stopper.on_epoch_end(None, state, control, model=model)
        if control.should_training_stop:
            break
    stopper.on_train_end(None, state, control, model=model)
    return (epoch if control.should_training_stop else None), float(parameter.detach().view(-1)[0])


def test_stops_after_patience_evaluations_without_improvement_and_restores_the_best():
    stopper = scripted_stopper([0.1, 0.3, 0.2, 0.3, 0.25, 0.9], patience=3)
    stopped_at, restored = run_epochs(stopper, tiny_model("gpt2", "clm"), epochs=6)
    # Epoch 2 is best (0.3); 0.3 again at epoch 4 is not an improvement; the third miss (epoch 5) stops.
    assert stopped_at == 5
    assert stopper.best == {"epoch": 2, "step": 20, "ndcg@10": 0.3}
    assert [record["epoch"] for record in stopper.history] == [1, 2, 3, 4, 5]
    assert restored == 2.0  # the weights of epoch 2, not the last ones


def test_patience_zero_never_stops_but_keeps_the_best_and_every_epochs_skips():
    stopper = scripted_stopper([0.5, 0.1, 0.2], patience=0, every_epochs=2)
    stopped_at, restored = run_epochs(stopper, tiny_model("gpt2", "clm"), epochs=6)
    assert stopped_at is None
    assert [record["epoch"] for record in stopper.history] == [2, 4, 6]
    assert restored == 2.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patience": -1}, "Invalid patience=-1"),
        ({"every_epochs": 0}, "Invalid every_epochs=0"),
        ({"metric": "ndcg@20"}, r"Invalid metric='ndcg@20'; must be one of \['mrr@10'"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        RankingEarlyStopping([], collator("clm", "eval"), **options)


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
