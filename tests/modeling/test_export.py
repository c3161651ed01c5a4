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
from hf_seqmask.data.feature_tables import FeatureColumn, FeatureSpec
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
    torch._dynamo.reset()  # the earlier tests' compilations count toward the recompile limit: start from none
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


# ------------------------------------------------------------------- side features (issue 25 item 4)
RAW_ITEMS = [f"item-{i}" for i in range(VOCAB - 2)]
USERS = ["ann", "bob", "cy"]


def _shop_spec():
    """Item-table brand (categorical), tags (multi-hot) and price (continuous), the user's country
    (a context feature) and the interaction's paid amount (sent with each request)."""
    rng = np.random.default_rng(0)
    item_table = {
        item: {"brand": f"b{j % 4}", "tags": "|".join(rng.choice(["new", "eco", "sale"], 1 + j % 2, replace=False)),
               "price": float(rng.uniform(1, 50))}
        for j, item in enumerate(RAW_ITEMS)
    }  # fmt: skip
    user_table = {user: {"country": country} for user, country in zip(USERS, ["de", "fr", "de"], strict=True)}
    columns = [
        FeatureColumn("brand", "item", "categorical"), FeatureColumn("tags", "item", "multi"),
        FeatureColumn("price", "item", "continuous"), FeatureColumn("country", "user", "categorical"),
        FeatureColumn("paid", "interaction", "continuous"),
    ]  # fmt: skip
    spec = FeatureSpec(columns, item_table=item_table, user_table=user_table)
    train = {name: [[row[name] for row in item_table.values()]] for name in ("brand", "tags", "price")}
    spec.fit({**train, "country": [["de", "fr", "de"]], "paid": [[1.0, 5.0, 9.0]]})
    return spec


def _featured_model(family, scheme):
    spec = _shop_spec()
    model = tiny_model(
        family, scheme, max_seq_length=12, side_features=spec.cardinalities,
        multi_hot_side_features=list(spec.multi_hot), context_side_features=list(spec.context),
    ).eval()  # fmt: skip
    model.set_vocabulary(ItemVocabulary.build(RAW_ITEMS))
    model.feature_spec = spec
    return model


def _requests(count, seed):
    """Raw histories with a user (one missing from the user table) and an encoded paid amount per item."""
    rng = np.random.default_rng(seed)
    requests = []
    for b, history in enumerate(_histories(count, seed)):
        paid = rng.uniform(0, 10, len(history)).tolist()
        request = {"input_ids": [RAW_ITEMS[i - 2] for i in history], "user_id": [*USERS, "zoe"][b % 4], "paid": paid}
        requests.append(request)
    return requests


def _encoded(model, request):
    return model.feature_spec.encode_example(request)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("gpt2", "clm"), ("xlnet", "plm")])
def test_export_with_side_features_equals_eager_in_both_formats(family, scheme, tmp_path):
    """Categorical, multi-hot, continuous and context features as named inputs: the graph fills the
    padding and the predict slot itself (the server's garbage there is overwritten)."""
    import onnxruntime

    model = _featured_model(family, scheme)
    program = torch.export.load(export_model(model, tmp_path / "pt2", format="torch")).module()
    session = onnxruntime.InferenceSession(str(export_model(model, tmp_path / "onnx", format="onnx")))
    written = json.loads((tmp_path / "onnx" / SERVING_SPEC_FILE).read_text())
    features = {entry["name"]: entry for entry in written["side_features"]}
    assert written["inputs"] == ["input_ids", "attention_mask", "brand", "tags", "price", "country", "paid"]
    assert [i.name for i in session.get_inputs()] == written["inputs"]
    assert {name: (f["dtype"], f["kind"], f["context"]) for name, f in features.items()} == {
        "brand": ("int64", "categorical", False), "tags": ("int64", "multi_hot", False),
        "price": ("float32", "continuous", False), "country": ("int64", "categorical", True),
        "paid": ("float32", "continuous", False),
    }  # fmt: skip
    collator = model.data_collator("predict")
    for count, seed in ((1, 4), (6, 5)):
        requests = [_encoded(model, request) for request in _requests(count, seed)]
        batch = collator([{**r, "input_ids": model.vocabulary.encode(r["input_ids"])} for r in requests])
        expected = model.score_batch(batch)
        side = {}
        for name in features:
            values = batch[name].clone()
            values[batch["input_ids"] == model.config.mask_token_id] = 3  # the slot: the graph writes it
            values[batch["attention_mask"] == 0] = 2
            side[name] = values
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        torch.testing.assert_close(program(**inputs, side_features=side), expected, rtol=0, atol=1e-4)
        feeds = {name: value.numpy() for name, value in {**inputs, **side}.items()}
        torch.testing.assert_close(torch.from_numpy(session.run(None, feeds)[0]), expected, rtol=0, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("gpt2", "clm")])
def test_serving_without_torch_with_side_features_recommends_what_the_model_recommends(family, scheme, tmp_path):
    """OnnxRecommender looks item and user features up in the exported tables (a user missing from the
    table gets the missing value) and takes the interaction feature from the request."""
    model = _featured_model(family, scheme)
    export_model(model, tmp_path, format="onnx")
    server = _serve_module().OnnxRecommender(tmp_path)
    requests = _requests(9, seed=8)
    served_requests = [{**r, "paid": _encoded(model, r)["paid"]} for r in requests]  # sent encoded
    for options in ({}, {"block": RAW_ITEMS[:5]}, {"exclude_seen": False}):
        served = server.recommend(served_requests, 10, **options)
        expected = model.recommend([_encoded(model, r) for r in requests], 10, **options)
        assert [[item for item, _ in row] for row in served] == [[item for item, _ in row] for row in expected]
        np.testing.assert_allclose(
            [score for row in served for _, score in row], [score for row in expected for _, score in row], atol=1e-4
        )
    with pytest.raises(KeyError, match="side feature 'paid' is neither in the request nor in a table"):
        server.recommend([{"input_ids": requests[0]["input_ids"], "user_id": "ann"}])
    with pytest.raises(KeyError, match="comes from the user table: the request needs 'user_id'"):
        server.recommend([{"input_ids": requests[0]["input_ids"], "paid": served_requests[0]["paid"]}])


def test_the_scoring_module_with_side_features_equals_score_batch():
    model = _featured_model("xlnet", "plm")
    requests = [_encoded(model, request) for request in _requests(5, seed=2)]
    batch = model.data_collator("predict")(
        [{**r, "input_ids": model.vocabulary.encode(r["input_ids"])} for r in requests]
    )
    side = {name: batch[name] for name in model.config.side_features}
    scores = ScoringModule(model)(batch["input_ids"], batch["attention_mask"], side)
    torch.testing.assert_close(scores, model.score_batch(batch), rtol=0, atol=0)
    other_country = {**side, "country": torch.where(side["country"] == 2, 3, 2)}  # the user's attributes are read
    assert not torch.allclose(ScoringModule(model)(batch["input_ids"], batch["attention_mask"], other_country), scores)
    with pytest.raises(ValueError, match=r"side_features holds \['brand'\]; the model takes"):
        ScoringModule(model)(batch["input_ids"], batch["attention_mask"], {"brand": side["brand"]})
