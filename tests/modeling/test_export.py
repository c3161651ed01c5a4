"""The model out of Python: torch.export and ONNX for every family, serving without torch, compile
without graph breaks -- and the batch checks still firing in eager mode."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_seqmask.data import ItemVocabulary
from hf_seqmask.export import SERVING_SPEC_FILE, ScoringModule, export_model, serving_spec

from .._tiny import VOCAB, load_script, sessions, tiny_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# One pair per family (and XLNet's causal order, derived differently inside the graph).
EXPORTED = [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm"), ("xlnet", "clm"), ("electra", "rtd")]
# The family's own scheme (ELECTRA's replaced-token detection), plus XLNet's causal order.
COMPILED = [(family, scheme, {}) for family, scheme in EXPORTED]


def _serve_module():
    return load_script("examples/serve.py")


def _histories(count, seed, max_length=20):
    """Histories of 1..max_length items: several longer than the model's max_seq_length (12)."""
    return [list(map(int, row["input_ids"])) for row in sessions(count, max_length=max_length, seed=seed)]


@pytest.mark.parametrize(("family", "scheme"), EXPORTED)
def test_the_scoring_graph_derives_what_the_predict_collator_emits(family, scheme):
    """The graph takes ids and attention mask only: the prediction's position and XLNet's order it
    derives must be the collator's, so the scores equal ``score_batch`` on the collator's batch."""
    model = tiny_model(family, scheme, max_seq_length=12).eval()
    batch = model.data_collator("predict")([{"input_ids": h} for h in _histories(9, seed=3)])
    scores = ScoringModule(model)(batch["input_ids"], batch["attention_mask"])
    torch.testing.assert_close(scores, model.score_batch(batch), rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "scheme"), EXPORTED[:3] + EXPORTED[4:])
def test_torch_export_and_onnx_equal_eager_on_batches_of_several_sizes(family, scheme, tmp_path):
    import onnxruntime

    model = tiny_model(family, scheme, max_seq_length=12).eval()
    collator = model.data_collator("predict")
    program = torch.export.load(export_model(model, tmp_path / "pt2", format="torch")).module()
    session = onnxruntime.InferenceSession(str(export_model(model, tmp_path / "onnx", format="onnx")))
    for count, seed in ((1, 4), (5, 5), (33, 6)):
        batch = collator([{"input_ids": h} for h in _histories(count, seed)])
        expected = model.score_batch(batch)
        inputs = {name: batch[name] for name in ("input_ids", "attention_mask")}
        torch.testing.assert_close(program(**inputs), expected, rtol=0, atol=1e-4)
        onnx_scores = session.run(None, {name: value.numpy() for name, value in inputs.items()})[0]
        torch.testing.assert_close(torch.from_numpy(onnx_scores), expected, rtol=0, atol=1e-4)
    written = json.loads((tmp_path / "onnx" / SERVING_SPEC_FILE).read_text())
    assert written == serving_spec(model) and written["history_limit"] == 11


@pytest.mark.slow
@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("xlnet", "plm")])
def test_serving_without_torch_recommends_what_the_model_recommends(family, scheme, tmp_path):
    """examples/serve.py (onnxruntime + numpy) against ``model.recommend`` on raw-id histories,
    longer than max_seq_length included, with seen items excluded and allow/block lists."""
    model = tiny_model(family, scheme, max_seq_length=12).eval()
    raw_items = [f"item-{i}" for i in range(VOCAB - 2)]
    model.set_vocabulary(ItemVocabulary.build(raw_items))
    export_model(model, tmp_path, format="onnx")
    server = _serve_module().OnnxRecommender(tmp_path)
    histories = [[raw_items[i - 2] for i in h] for h in _histories(12, seed=7)]
    block, allow = raw_items[:5], raw_items[3:30]
    for options in ({}, {"block": block}, {"allow": allow, "block": block}, {"exclude_seen": False}):
        served = server.recommend(histories, 10, **options)
        expected = model.recommend(histories, 10, **options)
        assert [[item for item, _ in row] for row in served] == [[item for item, _ in row] for row in expected]
        np.testing.assert_allclose(
            [score for row in served for _, score in row], [score for row in expected for _, score in row], atol=1e-4
        )
    # The command line answers one request.
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "serve.py"), str(tmp_path), "--history", ",".join(histories[0]), "--k", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = [line.split()[1] for line in run.stdout.splitlines()]
    assert printed == [item for item, _ in model.recommend(histories, 3)[0]]


def test_export_refuses_what_it_does_not_cover(tmp_path):
    model = tiny_model("gpt2", "clm", side_features={"category": 5})
    with pytest.raises(ValueError, match="side features"):
        export_model(model, tmp_path)
    with pytest.raises(ValueError, match="format"):
        export_model(tiny_model("gpt2", "clm"), tmp_path, format="tflite")


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(("family", "scheme", "options"), COMPILED, ids=[f"{f}-{s}" for f, s, _ in COMPILED])
def test_compiled_forward_has_no_graph_break(family, scheme, options, mode):
    """torch._dynamo.explain over the eval and training forward of every pair: no break, except the
    rtd training step, whose seeded replacement draw runs eagerly (its networks still compile)."""
    torch.manual_seed(0)
    model = tiny_model(family, scheme).train(mode == "train")
    batch = model.data_collator(mode, seed=0)(sessions(8, seed=1))
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(**batch)
    if scheme == "rtd" and mode == "train":
        assert explanation.graph_count >= 1
        return
    assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]


@pytest.mark.slow
@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm"), ("electra", "rtd")])
def test_compiled_model_trains_and_scores_as_eager(family, scheme):
    """The compiled loss (every position's logits, static shapes) equals eager's (targets selected),
    its gradients too, and the compiled scores equal eager's."""
    model = tiny_model(family, scheme).eval()  # no dropout: eager and compiled see the same network
    batch = model.data_collator("train", seed=0)(sessions(8, seed=2))
    eval_batch = model.data_collator("eval")(sessions(8, seed=2))
    compiled = torch.compile(model, backend="eager", fullgraph=scheme != "rtd")
    if scheme != "rtd":
        eager_loss = model(**batch).loss
        eager_loss.backward()
        eager_grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        model.zero_grad()
        compiled_loss = compiled(**batch).loss
        compiled_loss.backward()
        compiled_grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        torch.testing.assert_close(compiled_loss, eager_loss, rtol=1e-5, atol=1e-6)
        for got, want in zip(compiled_grads, eager_grads, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    else:
        assert torch.isfinite(compiled(**batch).loss)
    with torch.no_grad():
        torch.testing.assert_close(compiled(**eval_batch).logits, model(**eval_batch).logits, rtol=1e-5, atol=1e-5)


def test_the_batch_checks_still_fire_in_eager_mode():
    """The checks are skipped only while tracing: an mlm batch fed to a causal model is refused."""
    model = tiny_model("gpt2", "clm")
    batch = tiny_model("bert", "mlm").data_collator("train", seed=0)(sessions(4, seed=0))
    with pytest.raises(ValueError, match="causal model given hidden positions"):
        model(**batch)
