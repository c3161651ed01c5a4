"""Full softmax in chunks of the catalogue: the same loss and gradients as the materialised logits."""

import pytest
import torch
import torch.nn.functional as F

from hf_seqmask.chunked_softmax import chunked_cross_entropy

from ._tiny import collator, sessions, tiny_model


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
@pytest.mark.parametrize("with_bias", [True, False])
def test_loss_and_gradients_equal_the_materialised_cross_entropy(chunk_size, with_bias):
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 16, generator=g, dtype=torch.float64).requires_grad_()
    weight = torch.randn(300, 16, generator=g, dtype=torch.float64).requires_grad_()
    bias = torch.randn(300, generator=g, dtype=torch.float64).requires_grad_() if with_bias else None
    targets = torch.randint(300, (37,), generator=g)
    targets[:3] = 5  # repeated targets: their weight row gets several -1 terms
    full = F.cross_entropy(hidden @ weight.T + (bias if bias is not None else 0), targets)
    expected = torch.autograd.grad(full, [hidden, weight, *([bias] if bias is not None else [])])
    chunked = chunked_cross_entropy(hidden, weight, bias, targets, chunk_size=chunk_size)
    got = torch.autograd.grad(chunked, [hidden, weight, *([bias] if bias is not None else [])])
    torch.testing.assert_close(chunked, full, rtol=0, atol=1e-5)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a.double(), b, rtol=0, atol=1e-5)


def test_no_target_gives_a_zero_loss_with_a_graph():
    hidden = torch.randn(0, 4, requires_grad=True)
    loss = chunked_cross_entropy(hidden, torch.randn(10, 4), None, torch.zeros(0, dtype=torch.long))
    assert loss.item() == 0.0 and loss.requires_grad
    with pytest.raises(ValueError, match="Invalid chunk_size=0"):
        chunked_cross_entropy(hidden, torch.randn(10, 4), None, torch.zeros(0, dtype=torch.long), chunk_size=0)


@pytest.mark.parametrize(
    ("family", "scheme", "options"), [("gpt2", "clm", {}), ("bert", "mlm", {}), ("xlnet", "plm", {})]
)
def test_the_wrapper_trains_the_same_with_chunks(family, scheme, options):
    batch = collator(scheme, **options)(sessions(16))
    losses, grads = [], []
    reference = tiny_model(family, scheme).state_dict()
    for chunk in (None, 5):
        model = tiny_model(family, scheme, softmax_chunk_size=chunk)
        model.load_state_dict(reference)
        model.eval()  # no dropout: the two passes see the same network
        loss = model(**batch).loss
        loss.backward()
        losses.append(loss.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    torch.testing.assert_close(losses[1], losses[0], rtol=0, atol=1e-5)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-4, atol=1e-5, msg=name)
