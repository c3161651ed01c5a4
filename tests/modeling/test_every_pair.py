"""Every supported (family, scheme) pair through the conftest fixtures: a train batch gives a finite
loss with gradients on the item table, an eval batch finite (B, V) scores."""

import torch


def test_every_pair_trains_and_scores(pair, make_tiny_model, make_collator, tiny_sessions, vocab_size):
    family, scheme, options = pair
    model = make_tiny_model(family, scheme)
    rows = tiny_sessions(6, seed=3)
    train = make_collator(scheme, "train", **options)(rows)
    loss = model(**train).loss
    assert torch.isfinite(loss)
    loss.backward()
    assert model.get_input_embeddings().weight.grad.abs().sum() > 0
    scores = model.score_batch(make_collator(scheme, "eval", **options)(rows))
    assert scores.shape == (6, vocab_size) and torch.isfinite(scores).all()
