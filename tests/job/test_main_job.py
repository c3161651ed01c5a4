"""The main job (examples/train.py, the hf-seqmask-train command) at a tiny size, every scheme."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from hf_seqmask import SeqRecModel
from hf_seqmask.cli import main
from hf_seqmask.data import ItemVocabulary
from hf_seqmask.job import parse_args
from hf_seqmask.modeling.configuration import DISCRIMINATOR_LOSS_WEIGHT, REPLACEMENTS_FROM_BATCH

from .._tiny import needs_index

TINY = ["--max-steps", "3", "--hidden-size", "16", "--max-length", "20", "--batch-size", "32", "--quiet"]


@needs_index
@pytest.mark.parametrize(
    ("scheme", "model"),
    [("mlm", "bert"), ("clm", "gpt2"), ("plm", "xlnet"), ("clm", "xlnet"), ("rtd", "electra"), ("rtd", "xlnet")],
)
def test_main_job_trains_evaluates_saves_and_recommends(tmp_path, capsys, scheme, model):
    summary = main(["--scheme", scheme, "--model", model, "--output-dir", str(tmp_path), *TINY])
    out = capsys.readouterr().out
    assert "ml-100k: 943 users, 1,682 items, 100,000 interactions" in out
    assert "| scheme | model | history | ndcg@10 | recall@10 | mrr@10 |" in out
    assert f"| {scheme} | {model} | excluded |" in out and "| - | popularity | excluded |" in out
    assert "  1. " in out and " 10. " in out  # ten recommendations with names
    rows = json.loads((tmp_path / "metrics.json").read_text())["test"]
    assert rows == summary["test"] and len(rows) == 4
    assert set(summary["cpu"]) == {"model", "capability", "native_bf16"}  # which host the train_seconds are from
    assert isinstance(summary["cpu"]["native_bf16"], bool) and summary["cpu"]["capability"]
    assert all(row["rows"] == 943 and 0 <= row["ndcg@10"] <= row["recall@10"] <= 1 for row in rows)
    popularity = next(r for r in rows if r["model"] == "popularity" and r["history"] == "included")
    assert popularity["ndcg@10"] > 0.01  # the baseline is computed, not a placeholder
    loaded = SeqRecModel.from_pretrained(tmp_path / "model")
    assert loaded.config.scheme == scheme
    assert ItemVocabulary.from_pretrained(tmp_path / "model").vocab_size == 1684


def test_unsupported_pair_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--scheme", "plm", "--model", "bert"])
    assert "--model bert supports --scheme mlm|rtd, not plm" in capsys.readouterr().err


# ------------------------------------------------------------------------------ your own data
def _interactions(users=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        for step in range(int(rng.integers(4, 12))):
            rows.append({"visitor": f"v{user}", "sku": f"sku-{int(rng.integers(0, 30))}", "when": 1000 * user + step})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed)  # files need not be sorted


def _write(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)


OWN = ["--user-column", "visitor", "--item-column", "sku", "--time-column", "when"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_main_job_trains_on_your_interactions_file(tmp_path, capsys, suffix):
    frame = _interactions()
    if suffix == ".parquet":  # a list of shards
        _write(frame.iloc[: len(frame) // 2], tmp_path / "part-0.parquet")
        _write(frame.iloc[len(frame) // 2 :], tmp_path / "part-1.parquet")
        dataset = str(tmp_path / "part-*.parquet")
    else:
        _write(frame, tmp_path / f"clicks{suffix}")
        dataset = str(tmp_path / f"clicks{suffix}")
    summary = main(["--dataset", dataset, *OWN, "--output-dir", str(tmp_path / "out"), *TINY])
    out = capsys.readouterr().out
    items = frame["sku"].nunique()
    assert f": 40 users, {items} items, {len(frame)} interactions" in out
    assert all(row["rows"] == 40 for row in summary["test"])
    assert ItemVocabulary.from_pretrained(tmp_path / "out" / "model").vocab_size == items + 2


def test_main_job_trains_on_sessions_split_by_time(tmp_path, capsys):
    frame = _interactions(users=60)
    frame["session"] = frame["visitor"].str.replace("v", "s")
    frame.to_csv(tmp_path / "sessions.csv", index=False)
    flags = ["--dataset", str(tmp_path / "sessions.csv"), *OWN, "--session-column", "session"]
    summary = main([*flags, "--output-dir", str(tmp_path / "out"), *TINY])
    assert ": 60 sessions," in capsys.readouterr().out
    assert all(row["rows"] == 6 for row in summary["test"])  # the 10% of sessions that end last
    card = (tmp_path / "out" / "model" / "README.md").read_text()  # the saved model's card holds the run
    assert summary["data"] in card and "| scheme | model | history | rows |" in card
    first = summary["test"][0]
    assert f"| {first['scheme']} | {first['model']} | excluded | 6 | 0 | {first['ndcg@10']:.4f} |" in card


@pytest.mark.parametrize(
    ("make", "flags", "message"),
    [
        (None, [], "interactions file '{tmp}/missing.csv' does not exist"),
        ("clicks.csv", ["--item-column", "product"], "interactions file '{tmp}/clicks.csv' has no column 'product'"),
        ("empty.csv", [], "interactions files ['{tmp}/empty.csv'] hold no rows"),
        ("clicks.txt", [], "interactions file '{tmp}/clicks.txt': unknown format '.txt'"),
    ],
)
def test_bad_interaction_files_are_named_with_the_column(tmp_path, make, flags, message):
    if make == "empty.csv":
        (tmp_path / make).write_text("visitor,sku,when\n")
    elif make:
        _interactions().to_csv(tmp_path / make, index=False)
    dataset = str(tmp_path / (make or "missing.csv"))
    with pytest.raises(SystemExit) as raised:
        main(["--dataset", dataset, *OWN, *flags, "--output-dir", str(tmp_path / "out"), *TINY])
    assert message.format(tmp=tmp_path) in str(raised.value)


# ------------------------------------------------------------------------ Trainer flags, config files
def test_label_smoothing_and_gradient_checkpointing_flags(tmp_path):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, "--output-dir", str(tmp_path / "out"), *TINY]
    summary = main([*flags, "--scheme", "clm", "--model", "gpt2", "--label_smoothing_factor", "0.1",
                    "--gradient_checkpointing", "true", "--logging_steps", "1"])  # fmt: skip
    assert SeqRecModel.from_pretrained(tmp_path / "out" / "model").config.label_smoothing == 0.1
    losses = [row["loss"] for row in summary["log_history"] if "loss" in row]
    assert len(losses) == 3 and all(np.isfinite(losses))
    with pytest.raises(ValueError, match="gradient checkpointing is not available for the xlnet backbone"):
        main([*flags, "--scheme", "plm", "--model", "xlnet", "--gradient_checkpointing", "true"])


def test_config_file_and_trainer_flags_pass_through(tmp_path):
    _interactions().to_csv(tmp_path / "clicks.csv", index=False)
    config = {"dataset": str(tmp_path / "clicks.csv"), "user_column": "visitor", "item_column": "sku",
              "time_column": "when", "scheme": "clm", "model": "gpt2", "hidden_size": 16, "max_length": 12,
              "max_steps": 4, "quiet": True}  # fmt: skip
    (tmp_path / "job.json").write_text(json.dumps(config))
    (tmp_path / "job.yaml").write_text("\n".join(f"{k}: {v}" for k, v in config.items()))
    for name in ("job.json", "job.yaml"):
        args = parse_args([str(tmp_path / name), "--learning_rate", "0.01", "--dataloader_num_workers", "1"])
        assert (args.scheme, args.model, args.max_length, args.training.max_steps) == ("clm", "gpt2", 12, 4)
        assert args.training.learning_rate == 0.01 and args.training.dataloader_num_workers == 1
    out = tmp_path / "out"
    summary = main([str(tmp_path / "job.json"), "--output-dir", str(out), "--save_strategy", "steps",
                    "--save_steps", "2", "--report_to", "none", "--logging_steps", "1"])  # fmt: skip
    assert (out / "checkpoint-2").is_dir() and (out / "checkpoint-4").is_dir()
    assert summary["arguments"]["max_steps"] == 4
    # --resume_from_checkpoint: continue the 4-step run to 6 steps
    resumed = main([str(tmp_path / "job.json"), "--output-dir", str(out), "--max_steps", "6",
                    "--resume_from_checkpoint", str(out / "checkpoint-4")])  # fmt: skip
    assert resumed["epochs_trained"] > summary["epochs_trained"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="what a machine without a GPU does")
def test_bf16_on_a_machine_without_a_gpu_runs_on_the_cpu(monkeypatch):
    # TrainingArguments alone refuses bf16 without a GPU unless use_cpu is said (the job's docstring example).
    monkeypatch.setattr("hf_seqmask.job.arguments.cpu_has_native_bf16", lambda: True)  # its warning: tested below
    args = parse_args(["--bf16", "--max-steps", "1"])
    assert args.training.bf16 and args.training.use_cpu and args.training.device.type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="what a machine without a GPU does")
@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_without_bf16_units_warns_that_it_is_emulated(monkeypatch, native):
    # A Zen 3 EPYC (AVX2) runs bf16 matmuls 18-38x slower than float32; a Zen 4 of the same name gains from them.
    monkeypatch.setattr("hf_seqmask.job.arguments.cpu_has_native_bf16", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_args(["--bf16"])
        parse_args([])  # no --bf16: nothing to say on any CPU
    messages = [str(warning.message) for warning in caught if "--bf16" in str(warning.message)]
    assert len(messages) == (0 if native else 1)
    assert native or "emulated, many times slower than float32" in messages[0]


def test_main_job_aliases_and_help(capsys):
    args = parse_args(["--epochs", "3", "--batch-size", "16", "--learning-rate", "0.1", "--max-length", "30"])
    assert (args.training.num_train_epochs, args.training.per_device_train_batch_size) == (3, 16)
    assert (args.training.learning_rate, args.max_length) == (0.1, 30)
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    out = capsys.readouterr().out
    assert "--dataloader_num_workers" in out and "--session-column" in out and "--bf16" in out


def test_rtd_flags_reach_the_model_config():
    from hf_seqmask.job import model_config

    args = parse_args(
        ["--scheme", "rtd", "--model", "xlnet", "--discriminator-loss-weight", "5", "--generator-loss-weight", "2",
         "--generator-hidden-size", "32", "--replacements-from-batch", "--hidden-size", "64"]
    )  # fmt: skip
    config = model_config(args, vocab_size=50)
    assert (config.generator_loss_weight, config.discriminator_loss_weight) == (2.0, 5.0)
    assert config.tie_generator is False and config.generator_config.d_model == 32
    assert config.backbone_config.d_model == 64 and config.masking["sample_from_batch"] is True
    shared = model_config(parse_args(["--scheme", "rtd", "--model", "electra"]), vocab_size=50)
    assert shared.tie_generator is True and shared.discriminator_loss_weight == DISCRIMINATOR_LOSS_WEIGHT == 1.0
    # The ablation's finding is the default (docs/rtd_ablation.md); "false" draws from the catalogue.
    assert shared.masking["sample_from_batch"] is REPLACEMENTS_FROM_BATCH is True
    catalogue = parse_args(["--scheme", "rtd", "--model", "electra", "--replacements-from-batch", "false"])
    assert model_config(catalogue, vocab_size=50).masking["sample_from_batch"] is False
    assert catalogue.summary()["replacements_from_batch"] is False
    assert parse_args(["--scheme", "rtd", "--model", "electra"]).summary()["replacements_from_batch"] is True
    assert parse_args(["--scheme", "mlm"]).summary()["replacements_from_batch"] is False
    assert "sample_from_batch" not in model_config(parse_args(["--scheme", "mlm"]), vocab_size=50).masking


def test_fused_loss_is_on_with_the_full_softmax_and_can_be_turned_off(capsys):
    from hf_seqmask.job import model_config

    assert model_config(parse_args([]), vocab_size=50).fused_loss is True
    assert parse_args(["--fused-loss", "false"]).summary()["fused_loss"] is False
    sampled = parse_args(["--loss", "sampled_softmax", "--num-negatives", "4"])
    assert sampled.summary()["fused_loss"] is False and model_config(sampled, vocab_size=50).fused_loss is False
    with pytest.raises(SystemExit):
        parse_args(["--loss", "bce", "--num-negatives", "4", "--fused-loss"])
    assert "it needs --loss full, not bce" in capsys.readouterr().err


def test_attention_dropout_defaults_to_dropout_and_reaches_the_backbone():
    from hf_seqmask.job import backbone_config

    gpt2 = ["--model", "gpt2", "--scheme", "clm", "--dropout", "0.2"]
    assert backbone_config(parse_args(gpt2), vocab_size=50).attn_pdrop == 0.2
    config = backbone_config(parse_args([*gpt2, "--attention-dropout", "0"]), vocab_size=50)
    assert (config.attn_pdrop, config.resid_pdrop, config.embd_pdrop) == (0.0, 0.2, 0.2)
    bert = backbone_config(parse_args(["--dropout", "0.3", "--attention-dropout", "0.05"]), vocab_size=50)
    assert (bert.attention_probs_dropout_prob, bert.hidden_dropout_prob) == (0.05, 0.3)


def test_attention_dropout_unit_reaches_the_model_config():
    from hf_seqmask.job import model_config

    assert model_config(parse_args([]), vocab_size=50).attention_dropout_unit == "weight"
    per_key = parse_args(["--model", "gpt2", "--scheme", "clm", "--attention-dropout-unit", "key"])
    assert model_config(per_key, vocab_size=50).attention_dropout_unit == "key"


def test_last_layer_at_scored_positions_reaches_the_model_config():
    from hf_seqmask.job import model_config

    assert not model_config(parse_args([]), vocab_size=50).last_layer_at_scored_positions
    pruned = parse_args(["--model", "electra", "--last-layer-at-scored-positions"])
    assert model_config(pruned, vocab_size=50).last_layer_at_scored_positions


def test_train_window_reaches_the_masking_spec_and_its_collators():
    from hf_seqmask.job import model_config
    from hf_seqmask.spec import collator_from_config

    assert "train_window" not in model_config(parse_args([]), vocab_size=50).masking  # saved configs unchanged
    windows = model_config(parse_args(["--max-length", "20", "--train-window", "random"]), vocab_size=50)
    assert windows.masking["train_window"] == "random"
    assert collator_from_config(windows).train_window == "random"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model", "xlnet", "--attention-dropout", "0"], "--attention-dropout is not separate in XLNet"),
        (["--attention-dropout", "1"], "--attention-dropout must be in [0, 1), got 1.0"),
        (["--model", "xlnet", "--scheme", "plm", "--attention-dropout-unit", "key"], "--attention-dropout-unit key"),
        (["--dropout", "-0.1"], "--dropout must be in [0, 1), got -0.1"),
        (
            ["--model", "gpt2", "--scheme", "clm", "--last-layer-at-scored-positions"],
            "--last-layer-at-scored-positions needs --scheme mlm or rtd on --model bert or electra",
        ),
        (["--model", "xlnet", "--last-layer-at-scored-positions"], "got --scheme mlm --model xlnet"),
    ],
)
def test_bad_dropout_flags_are_refused_with_the_flag_named(capsys, flags, message):
    with pytest.raises(SystemExit):
        parse_args(flags)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--scheme", "mlm", "--generator-hidden-size", "32"], "--generator-hidden-size is for --scheme rtd"),
        (["--scheme", "clm", "--model", "gpt2", "--replacements-from-batch"], "--replacements-from-batch is for"),
        (["--scheme", "mlm", "--replacements-from-batch", "false"], "--replacements-from-batch is for --scheme rtd"),
        (["--scheme", "rtd", "--generator-hidden-size", "33"], "multiple of --heads"),
        (["--scheme", "rtd", "--discriminator-loss-weight", "-1"], "--discriminator-loss-weight must be >= 0"),
    ],
)
def test_bad_rtd_flags_are_refused_with_the_flag_named(capsys, flags, message):
    with pytest.raises(SystemExit):
        parse_args(flags)
    assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(("scheme", "model"), [("clm", "gpt2"), ("rtd", "electra")])
def test_main_job_trains_with_torch_compile(tmp_path, scheme, model):
    """``--torch_compile`` (the Trainer compiles the model; aot_eager here, as CI may lack a C++
    toolchain for inductor) trains, evaluates and tests as the eager job does."""
    _write(_interactions(), tmp_path / "clicks.csv")
    flags = ["--dataset", str(tmp_path / "clicks.csv"), *OWN, "--scheme", scheme, "--model", model, *TINY]
    eager = main([*flags, "--output-dir", str(tmp_path / "eager")])
    compiled = main([*flags, "--output-dir", str(tmp_path / "compiled"), "--torch_compile",
                     "--torch_compile_backend", "aot_eager"])  # fmt: skip
    for eager_row, compiled_row in zip(eager["test"], compiled["test"], strict=True):
        assert compiled_row["ndcg@10"] == pytest.approx(eager_row["ndcg@10"], abs=0.02)
