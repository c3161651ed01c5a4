"""benchmarks/time_to_quality.py at a tiny size (ML-100K, one epoch): the curve, the levels, the
report and its picture; the RecBole line it times is the one benchmarks/peers.py prints."""

import json

import torch

from tests._tiny import load_script

ttq = load_script("benchmarks/time_to_quality.py")
peers = load_script("benchmarks/peers.py")


def test_minutes_to_each_level_is_the_first_validation_at_or_above_it():
    curve = [{"minutes": 1.0, "ndcg@10": 0.12}, {"minutes": 2.0, "ndcg@10": 0.151}, {"minutes": 3.0, "ndcg@10": 0.14}]
    assert ttq.minutes_to(curve, (0.12, 0.15, 0.16)) == {"0.12": 1.0, "0.15": 2.0, "0.16": None}
    assert ttq.minutes_to([], (0.15,)) == {"0.15": None}


def test_the_peer_line_it_times_is_the_one_peers_prints():
    found = ttq.PEER_LINE.match(peers.epoch_line("BERT4Rec", 12, 0.0987, 600.0))
    assert found and (found[1], found[2]) == ("12", "0.0987")
    assert not ttq.PEER_LINE.match("SASRec epoch 3 done")
    within = ttq.PEER_LINE.match(peers.epoch_line("SASRec", 40 / 480, 0.05, 180.0))
    assert within and (within[1], within[2]) == ("0.083", "0.0500")


class _ScriptedTrainer:
    """RecBole's trainer as Validations sees it: _valid_epoch returns the next scripted score and, as
    RecBole's does, leaves the model in eval mode."""

    def __init__(self, model, scores):
        self.model, self.scores = model, iter(scores)

    def _valid_epoch(self, valid, show_progress=False):
        self.model.eval()
        return next(self.scores), {}


def _validations(scores, patience=2, minutes=60.0, every_minutes=0.0):
    model = torch.nn.Linear(2, 2)
    return peers.Validations(model, _ScriptedTrainer(model, scores), None, "SASRec", minutes, patience, every_minutes)


def test_peer_patience_counts_epochs_since_the_best_validation_also_within_epochs():
    record = _validations([0.1, 0.2, 0.15, 0.19, 0.18, 0.17])
    assert [record.check(e) for e in (0.5, 1.0, 1.5, 2.0, 2.5)] == [False] * 5
    assert record.model.training, "training goes on after a validation within an epoch"
    assert record.check(3.0) and record.stopped_by == "early stopping"  # two epochs since the best (1.0)
    assert record.best["epoch"] == 1.0 and [h["epoch"] for h in record.history] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    weight = record.model.weight.detach().clone()
    with torch.no_grad():
        record.model.weight.add_(1.0)
    assert torch.equal(record.best_state["weight"], weight), "the best state is a copy"


def test_peer_time_limit_and_validations_due_within_an_epoch():
    record = _validations([0.1, 0.2], minutes=0.0)
    assert not record.due(0.5), "no validations within epochs unless asked"
    assert record.check(1.0) and record.stopped_by == "time limit"
    due = _validations([0.3], minutes=0.0, every_minutes=1e-9)
    assert list(peers.CheckedBatches(range(10), due.due)) == [0], "the time limit ends the epoch early"
    assert due.history[0]["epoch"] == 0.1 and due.stopped_by == "time limit"


def test_our_recipes_train_on_ml1m_unless_told_otherwise():
    """The main job's default dataset is ML-100K: every recipe names ML-1M, and a later --dataset wins."""
    for name, recipe in ttq.RECIPES.items():
        if recipe.kind == "ours":
            command = ttq.command_for(name, recipe, 2, ttq.Path("w"), ["--dataset", "ml-100k"], "unused")
            assert command.index("ml-1m") < command.index("ml-100k"), name


def test_one_recipe_is_timed_tested_and_drawn(tmp_path):
    output, work = tmp_path / "docs", tmp_path / "work"
    extra = ["--dataset", "ml-100k", "--epochs", "2", "--max-length", "10", "--hidden-size", "16"]
    summary = ttq.run("gpt2-clm-L50", 1, extra, output, work, "unused", name="tiny-clm")
    assert [p["epoch"] for p in summary["curve"]] == [1.0, 2.0]
    minutes = [p["minutes"] for p in summary["curve"]]
    assert 0 < minutes[0] <= minutes[1] <= summary["total_minutes"]
    assert set(summary["levels"]) == {"0.15", "0.17", "0.18", "0.19"}
    metrics = json.loads((work / "tiny-clm" / "metrics.json").read_text())
    validation = [round(r["ndcg@10"], 4) for r in metrics["validation"]["history"]]
    assert [p["ndcg@10"] for p in summary["curve"]] == validation  # the lines are the job's validations
    assert summary["test"]["ndcg@10"] == next(r for r in metrics["test"] if r["history"] == "excluded")["ndcg@10"]
    assert summary["threads"] == 1 and summary["machine"]["logical_cores"] >= 1
    assert summary["recipe"] == "tiny-clm" and summary["base_recipe"] == "gpt2-clm-L50"
    assert json.loads((output / "tiny-clm.json").read_text()) == summary
    assert "validation, epoch 2: ndcg@10" in (output / "tiny-clm.log").read_text()
    lines = ttq.report(output, tmp_path / "ttq.png")
    assert len(lines) == 3 and lines[2].startswith("| tiny-clm | 1 | cpu | 0.15: ")
    assert (tmp_path / "ttq.png").stat().st_size > 1000
    assert len(ttq.report(output, tmp_path / "none.png", runs_named="recbole-*")) == 2  # a subset: no rows
    assert not (tmp_path / "none.png").exists()


def test_a_failing_child_stops_with_its_log_named(tmp_path):
    import pytest

    with pytest.raises(SystemExit, match=r"gpt2-clm-L50 exited with [1-9]\d*; its output is in .*gpt2-clm-L50\.log"):
        ttq.run("gpt2-clm-L50", 1, ["--dataset", "no-such-data"], tmp_path / "docs", tmp_path / "work", "unused")


def test_every_timed_command_of_the_idle_script_parses():
    """Each ``time_to_quality.py run`` line of benchmarks/idle_machine.sh names a recipe and options its
    child accepts (a session-31 script named a peers.py option that did not exist and lost a step)."""
    import shlex

    import pytest

    from hf_seqmask.job import parse_args

    lines = (ttq.ROOT / "benchmarks" / "idle_machine.sh").read_text().splitlines()
    runs = [shlex.split(line.split("python ", 1)[1]) for line in lines if "time_to_quality.py run " in line]
    assert len(runs) >= 6
    for words in runs:
        recipe = ttq.RECIPES[words[2]]
        extra = words[words.index("--") + 1 :] if "--" in words else []
        command = ttq.command_for(words[2], recipe, 2, ttq.Path("w"), extra, "python")  # the child's argv
        if recipe.kind == "recbole":
            peers.build_parser().parse_args(command[2:])  # after: python peers.py
        else:
            parse_args(command[3:])  # after: python -m hf_seqmask.cli
    with pytest.raises(SystemExit):
        peers.build_parser().parse_args(["run", "--model", "SASRec", "--validate-every-batches", "40"])
