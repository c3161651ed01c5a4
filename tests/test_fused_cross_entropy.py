"""The item head fused with its cross-entropy: the same loss and gradients as the materialised logits."""

import pytest
import torch
import torch.nn.functional as F

from hf_seqmask import SeqRecConfig
from hf_seqmask.fused_cross_entropy import fused_cross_entropy

from ._tiny import backbone_config, collator, sessions, tiny_model


def _problem(with_bias: bool, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 16, generator=g, dtype=dtype).requires_grad_()
    weight = torch.randn(300, 16, generator=g, dtype=dtype).requires_grad_()
    bias = torch.randn(300, generator=g, dtype=dtype).requires_grad_() if with_bias else None
    targets = torch.randint(300, (37,), generator=g)
    targets[:3] = 5  # repeated targets: their weight row gets several -1 terms
    return hidden, weight, bias, targets


@pytest.mark.parametrize("rows", [1, 7, 36, 10_000])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_loss_and_gradients_equal_the_materialised_cross_entropy(rows, with_bias, label_smoothing):
    hidden, weight, bias, targets = _problem(with_bias)
    inputs = [hidden, weight, *([bias] if bias is not None else [])]
    logits = hidden @ weight.T + (bias if bias is not None else 0)
    full = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    expected = torch.autograd.grad(full * 3.0, inputs)  # a scaled loss: the backward scales what it kept
    fused = fused_cross_entropy(hidden, weight, bias, targets, rows=rows, label_smoothing=label_smoothing)
    got = torch.autograd.grad(fused * 3.0, inputs)
    torch.testing.assert_close(fused, full, rtol=0, atol=1e-10)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("targets", [7, 0])
@pytest.mark.parametrize("with_bias", [True, False])
def test_the_custom_op_passes_torch_opcheck(targets, with_bias):
    # schema, fake kernel (the shapes compile sees), autograd registration and AOT dispatch
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(targets, 8, generator=g, requires_grad=True)
    weight = torch.randn(30, 8, generator=g, requires_grad=True)
    bias = torch.randn(30, generator=g, requires_grad=True) if with_bias else None
    labels = torch.randint(0, 30, (targets,), generator=g)
    torch.library.opcheck(
        torch.ops.hf_seqmask.fused_cross_entropy.default, (hidden, weight, bias, labels, 3, 0.1, True, torch.float32)
    )


def test_the_op_called_without_gradients_refuses_a_backward():
    hidden, weight = torch.randn(4, 8, requires_grad=True), torch.randn(30, 8, requires_grad=True)
    op = torch.ops.hf_seqmask.fused_cross_entropy.default
    loss = op(hidden, weight, None, torch.tensor([1, 2, 3, 4]), 2, 0.0, False, torch.float32)[0]
    with pytest.raises(RuntimeError, match="with_gradients=False"):
        loss.backward()
    empty = fused_cross_entropy(hidden[:0], weight, None, torch.tensor([], dtype=torch.long))
    empty.backward()  # no targets: loss 0, zero gradients, no NaN
    assert float(empty.detach()) == 0.0 and not weight.grad.any() and torch.isfinite(weight.grad).all()


def test_under_bf16_autocast_it_matches_the_unfused_head_to_bf16_rounding():
    hidden, weight, bias, targets = _problem(True, dtype=torch.float32)
    inputs = [hidden, weight, bias]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        full = F.cross_entropy(F.linear(hidden, weight, bias).float(), targets)
        fused = fused_cross_entropy(hidden, weight, bias, targets, rows=8)
    assert fused.dtype == torch.float32
    torch.testing.assert_close(fused, full, rtol=0, atol=2e-2)
    for a, b in zip(torch.autograd.grad(fused, inputs), torch.autograd.grad(full, inputs), strict=True):
        assert a.dtype == b.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=0, atol=2e-3)


def test_without_grad_mode_the_loss_alone_and_no_target_gives_zero_with_a_graph():
    hidden, weight, bias, targets = _problem(False)
    with torch.no_grad():
        loss = fused_cross_entropy(hidden, weight, bias, targets)
    torch.testing.assert_close(loss, F.cross_entropy(hidden @ weight.T, targets), rtol=0, atol=1e-10)
    assert not loss.requires_grad
    empty = torch.randn(0, 4, requires_grad=True)
    zero = fused_cross_entropy(empty, torch.randn(10, 4), None, torch.zeros(0, dtype=torch.long))
    assert zero.item() == 0.0 and zero.requires_grad
    with pytest.raises(ValueError, match="Invalid rows=0"):
        fused_cross_entropy(empty, torch.randn(10, 4), None, torch.zeros(0, dtype=torch.long), rows=0)


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm")])
def test_the_wrapper_trains_the_same_fused(family, scheme):
    batch = collator(scheme)(sessions(16))
    losses, grads = [], []
    reference = tiny_model(family, scheme).state_dict()
    for fused in (False, True):
        model = tiny_model(family, scheme, fused_loss=fused)
        model.load_state_dict(reference)
        model.eval()  # no dropout: the two passes see the same network
        output = model(**batch)
        output.loss.backward()
        assert (output.logits is None) is fused  # fused: no (T, V) logits kept
        losses.append(output.loss.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    torch.testing.assert_close(losses[1], losses[0], rtol=0, atol=1e-5)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fused_loss": True, "loss": "bce"}, "needs loss='full'"),
        ({"fused_loss": True, "softmax_chunk_size": 8}, "pick one"),
        ({"fused_loss": "yes"}, "fused_loss"),
    ],
)
def test_config_refuses_fused_loss_where_it_cannot_apply(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        SeqRecConfig(backbone_config=backbone_config("gpt2"), scheme="clm", **options)
