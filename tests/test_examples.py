"""Every example runs at a tiny size."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from ._tiny import PAIRS, needs_index

pytestmark = pytest.mark.slow  # subprocesses and benchmark scripts

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_trains_every_scheme(capsys):
    rows = _load("quickstart").main(["--steps", "40"])
    assert [(scheme, model) for scheme, model, _, _ in rows] == [
        ("clm", "gpt2"),
        ("mlm", "bert"),
        ("plm", "xlnet"),
        ("rtd", "electra"),
    ]
    assert all(math.isfinite(first) and math.isfinite(last) for _, _, first, last in rows)
    assert all(last < first for _, _, first, last in rows), rows  # every scheme learns
    assert "first loss" in capsys.readouterr().out


def test_collate_benchmark_runs_at_a_tiny_size(tmp_path):
    spec = importlib.util.spec_from_file_location("collate", EXAMPLES.parent / "benchmarks" / "collate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = tmp_path / "report.md"
    text = module.main(
        ["--grid", "8x10", "--seconds", "0.001", "--loader-batches", "1", "--loader-cells", "8x10",
         "--output", str(report)]
    )  # fmt: skip
    assert report.read_text() == text
    assert "| ours mlm train |" in text and "| transformers PLM |" in text and "| floor vectorised pad |" in text
    assert "| plm compact / transformers PLM |" in text and "Model-side expansion" in text


def test_train_step_benchmark_runs_at_a_tiny_size(capsys):
    spec = importlib.util.spec_from_file_location("train_step", EXAMPLES.parent / "benchmarks" / "train_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--steps", "1"])
    assert len(results) == len(PAIRS) and all(ms > 0 for ms in results.values())
    # the ML-1M-size step against its own matmuls, and the step with cheaper dropout
    levers = ["--dropout-variants", "--fused-loss", "--bf16"]
    guard = ["--guard", "--steps", "1", *levers, "--length", "16", "--batch-size", "4"]
    ratios = module.main(guard)  # every lever of the guard, at a tiny shape (the guard's own is 200 x 64)
    printed = capsys.readouterr().out
    assert "gpt2 + clm: dropout no attention:" in printed and "bert + mlm: dropout none:" in printed
    assert "gpt2 + clm: fused loss, fp32:" in printed and "bert + mlm: fused loss, bf16 autocast:" in printed
    assert module.ml1m_model_and_batches("bert", "mlm", 8, 2, 0, fused=True)[0].config.fused_loss is True
    no_attention = module.ml1m_model_and_batches("gpt2", "clm", 8, 2, 0, dropout="no attention")[0]
    backbone = no_attention.config.backbone_config
    assert (backbone.attn_pdrop, backbone.resid_pdrop, backbone.embd_pdrop) == (0.0, 0.1, 0.1)
    # Timings never decide a test (on a loaded machine a step can time below its matmuls timed later).
    assert set(ratios) == {"gpt2-clm", "bert-mlm"} and all(0 < ratio < float("inf") for ratio in ratios.values())


def test_step_levers_benchmark_runs_at_a_tiny_size(capsys):
    spec = importlib.util.spec_from_file_location("step_levers", EXAMPLES.parent / "benchmarks" / "step_levers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--rounds", "1", "--backend", "aot_eager", "--length", "16", "--batch-size", "4"])
    levers = {f"{way}, {lever[0]}" for way in ("eager", "compiled") for lever in module.LEVERS}
    variants = {"eager", "matmuls alone"} | levers
    masked = {f"eager, {name}" for name, _ in module.MASKED_LEVERS} | {module.PRUNED_FLOOR}
    assert set(results) == {"gpt2-clm", "bert-mlm"}
    assert set(results["gpt2-clm"]) == variants and set(results["bert-mlm"]) == variants | masked
    assert all(ms > 0 for r in results.values() for ms in r.values())
    printed = capsys.readouterr().out
    assert "| bert | mlm | compiled, fused, no attention dropout |" in printed
    assert "| gpt2 | clm | eager, fused, attention dropout per key |" in printed
    assert "| bert | mlm | eager, fused, attention dropout per key, last layer at scored positions |" in printed


def test_scale_benchmark_runs_at_a_tiny_size():
    spec = importlib.util.spec_from_file_location("scale", EXAMPLES.parent / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--items", "500", "--steps", "1", "--sparse-items"])
    assert [row["loss"] for row in rows] == [
        "full",
        "full, chunked (16,384 items)",
        "sampled_softmax (128 negatives)",
        "gbce (128 negatives)",
        "sampled_softmax (in-batch)",
        "sampled_softmax (128 negatives), sparse item table + SparseAdam",
    ]
    assert all(row["seconds_per_step"] > 0 and row["peak_mb"] > 0 for row in rows)


def _benchmark(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collate_guard_and_eval_scale_and_feed_rate_run_at_a_tiny_size(tmp_path):
    guard = _benchmark("collate").main(["--guard", "--seconds", "0.01", "--loader-cells", "8x10"])
    assert "| 8x10 | ours clm train |" in guard and "| 8x10 | ours mlm train |" in guard
    rows = _benchmark("eval_scale").main(["--items", "300", "--chunked-only-items", "--batches", "1"])
    assert len(rows) == 2 and rows[0]["digest"] == rows[1]["digest"]  # chunked ranks = materialised ranks
    text = _benchmark("feed_rate").main(["--tiny", "--workers", "0", "--output", str(tmp_path / "feed.md")])
    assert "| GPT-2 + clm |" in text and "| BERT + mlm |" in text and (tmp_path / "feed.md").read_text() == text


def test_the_gpu_session_script_parses_and_reruns_the_headline_command_with_the_next_seed():
    import shlex
    import subprocess

    script = EXAMPLES.parent / "benchmarks" / "gpu_session.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    block = text[text.index("HEADLINE=(") + len("HEADLINE=(") : text.index(")", text.index("HEADLINE=("))]
    flags = shlex.split(block.replace('"$SIDE"', "genre,year,age,gender,occupation,hour,time_gap"))
    headline = json.loads((EXAMPLES.parent / "docs" / "ml1m_runs" / "gpt2-clm-L200-side-d128-gpu.json").read_text())
    assert flags == shlex.split(headline["command"].split(" -- ", 1)[1])  # one command, another seed
    assert "--pair gpt2-clm --name $name" in text and '"${HEADLINE[@]}" --seed 2' in text


def test_feed_rate_times_a_compiled_step_on_fixed_shape_batches():
    feed = _benchmark("feed_rate")
    model = feed.build_model("gpt2", 16, 1, 20)
    cpu = feed.torch.device("cpu")
    assert feed.steps_per_second(model, feed.histories(40, 20), 8, 2, cpu, mode="default", backend="aot_eager") > 0
    short = [{"input_ids": list(range(2, 2 + n))} for n in (3, 7, 12)]  # one row a batch: as wide as the row
    eager = feed.device_batches(model, short, 1, 3, cpu, fixed_shape=False)
    compiled = feed.device_batches(model, short, 1, 3, cpu, fixed_shape=True)
    assert [b["input_ids"].shape[1] for b in eager] == [3, 7, 12]
    assert [b["input_ids"].shape[1] for b in compiled] == [20, 20, 20]  # one shape: CUDA graphs replay it


@needs_index
def test_movielens_driver_runs_a_pair_and_writes_the_table(tmp_path):
    spec = importlib.util.spec_from_file_location("movielens", EXAMPLES.parent / "benchmarks" / "movielens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = tmp_path / "results.md"
    results.write_text("old table\n\n## Discussion\n\nkept as written\n")
    tiny = ["--dataset", "ml-100k", "--max-steps", "2", "--hidden-size", "16", "--max-length", "20", "--quiet"]
    module.main(["--pair", "gpt2-clm", "--runs", str(tmp_path / "runs"), "--results", str(results), "--", *tiny])
    peer = {
        "model": "SASRec",
        "max_length": 20,
        "batch_size": 2048,
        "hidden_size": 64,
        "layers": 2,
        "heads": 2,
        "dropout": 0.2,
        "learning_rate": 1e-3,
        "epochs_run": 3,
        "best_epoch": 2,
        "minutes_to_best": 1.5,
        "minutes_limit": 5.5,
        "validation_ndcg@10": 0.15,
        "device": "cpu",
        "test": {"ndcg@10": 0.1234, "recall@10": 0.25, "mrr@10": 0.09},
    }  # what benchmarks/peers.py writes
    (tmp_path / "peers").mkdir()
    (tmp_path / "peers" / "SASRec.json").write_text(json.dumps(peer))
    module.main(["--pair", "gpt2-clm", "--name", "again", "--runs", str(tmp_path / "runs"), "--results", str(results),
                 "--", *tiny, "--learning-rate", "1e-3"])  # fmt: skip
    module.main(["--pair", "gpt2-clm", "--name", "seed1", "--runs", str(tmp_path / "runs"), "--results", str(results),
                 "--", *tiny, "--seed", "1"])  # fmt: skip
    text = results.read_text()
    assert "| `gpt2-clm`, `seed1` | 2 | 0, 1 | " in text, "the two seeds of one command form a means row"
    assert "`again`" not in text.split("Means over seeds")[1].split("Peers")[0], "another lr is another recipe"
    assert "| gpt2-clm | " in text and "python benchmarks/movielens.py --pair gpt2-clm -- --dataset ml-100k" in text
    assert "| again | " in text and "--pair gpt2-clm --name again -- --dataset ml-100k" in text
    assert "L=20, d=16x2 layers x2 heads, lr 0.001, dropout 0.1, batch 64, full CE" in text
    assert "old table" not in text and text.endswith("## Discussion\n\nkept as written\n")
    assert "| BERT4Rec (Petrov & Macdonald 2022) | 0.1516 | 0.2821 |" in text
    peer_row = "| RecBole SASRec | 0.1234 | 0.2500 | 0.0900 | 0.1500 | 3 | 2 | 1.5 | 5.5 | L=20, d=64x2 layers"
    assert peer_row + " x2 heads, lr 0.001, dropout 0.2, full CE, batch 2048 | cpu |" in text
