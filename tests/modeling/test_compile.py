"""The compiled training step with dynamic targets: dynamo traces ``hidden[where]`` (T symbolic), so a
compiled masked step scores its T targets, as eager does, not every position (the static-shape path,
tests/modeling/test_export.py). The main job turns it on under ``--torch_compile``."""

import pytest
import torch

from hf_seqmask.cli import _compile_settings

from .._tiny import sessions, tiny_model


@pytest.mark.parametrize(("family", "scheme"), [("bert", "mlm"), ("gpt2", "clm"), ("xlnet", "plm")])
def test_compiled_step_with_dynamic_targets_scores_the_targets_only_and_equals_eager(family, scheme):
    model = tiny_model(family, scheme).eval()  # no dropout: eager and compiled see the same network
    batches = [model.data_collator("train", seed=0)(sessions(8, seed=seed)) for seed in (2, 3)]
    eager = []
    for batch in batches:
        out = model(**batch)
        out.loss.backward()
        eager.append((out.loss.detach(), out.logits.shape, _grads(model)))
        model.zero_grad()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):
        explanation = torch._dynamo.explain(model)(**batches[0])
        assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]
        compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
        for batch, (loss, shape, grads) in zip(batches, eager, strict=True):  # two batches: T differs
            out = compiled(**batch)
            targets = int((batch["labels"] != -100).sum())
            assert out.logits.shape == shape == (targets, model.config.backbone_config.vocab_size)
            _assert_same_step(model, out.loss, loss, grads)


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm")])
def test_the_fused_loss_is_traced_whole_and_equals_the_materialised_softmax(family, scheme):
    # fused_loss is a custom op: one opaque call in the graph, no break, its own backward.
    fused, plain = tiny_model(family, scheme, fused_loss=True).eval(), tiny_model(family, scheme).eval()
    fused.load_state_dict(plain.state_dict())
    batches = [plain.data_collator("train", seed=0)(sessions(8, seed=seed)) for seed in (2, 3)]
    expected = []
    for batch in batches:
        out = plain(**batch)
        out.loss.backward()
        expected.append((out.loss.detach(), _grads(plain)))
        plain.zero_grad()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):
        explanation = torch._dynamo.explain(fused)(**batches[0])
        assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]
        graph_ops = {str(node.target) for graph in explanation.graphs for node in graph.graph.nodes}
        assert "hf_seqmask.fused_cross_entropy.default" in graph_ops
        compiled = torch.compile(fused, backend="aot_eager", fullgraph=True)
        for batch, (loss, grads) in zip(batches, expected, strict=True):
            out = compiled(**batch)
            assert out.logits is None  # no (T, V) logits: the fused head never builds them
            _assert_same_step(fused, out.loss, loss, grads)


def _assert_same_step(model, loss, want_loss, want_grads):
    """Backward of ``loss`` through ``model``: the loss and every gradient as expected; gradients zeroed after."""
    loss.backward()
    torch.testing.assert_close(loss.detach(), want_loss, rtol=1e-5, atol=1e-6)
    for got, want in zip(_grads(model), want_grads, strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    model.zero_grad()


def _grads(model):
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def test_without_dynamic_targets_the_traced_step_scores_every_position():
    model = tiny_model("bert", "mlm").eval()
    batch = model.data_collator("train", seed=0)(sessions(8, seed=2))
    torch._dynamo.reset()
    out = torch.compile(model, backend="aot_eager", fullgraph=True)(**batch)
    assert out.logits is None
    torch.testing.assert_close(out.loss, model(**batch).loss, rtol=1e-5, atol=1e-6)


def test_the_main_job_turns_dynamic_targets_on_only_while_it_compiles():
    assert not torch._dynamo.config.capture_dynamic_output_shape_ops
    with _compile_settings(True):
        assert torch._dynamo.config.capture_dynamic_output_shape_ops
    assert not torch._dynamo.config.capture_dynamic_output_shape_ops
    with _compile_settings(False):
        assert not torch._dynamo.config.capture_dynamic_output_shape_ops
