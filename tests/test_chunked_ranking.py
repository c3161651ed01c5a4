"""Ranking the catalogue in chunks: the same top-k and pessimistic ranks as the (B, V) scores."""

import pytest
import torch
from transformers import TrainingArguments

from hf_seqmask import SeqRecTrainer
from hf_seqmask.chunked_ranking import chunked_ranking
from hf_seqmask.metrics import exclusion_mask, target_ranks, top_k_scored

from ._tiny import collator, sessions, tiny_model


def _integer_problem(seed, batch=7, hidden=3):
    """Small integer scores: exact in float32 whichever way they are summed, and full of ties."""
    g = torch.Generator().manual_seed(seed)
    items = int(torch.randint(3, 40, (1,), generator=g))
    query = torch.randint(-2, 3, (batch, hidden), generator=g).float()
    weight = torch.randint(-2, 3, (items, hidden), generator=g).float()
    bias = torch.randint(-1, 2, (items,), generator=g).float()
    k = int(torch.randint(1, items + 5, (1,), generator=g))
    targets = torch.randint(-1, items, (batch,), generator=g)
    history = torch.randint(-1, items, (batch, 4), generator=g)
    history[history < 0] = -100  # the Trainer's padding across ranks
    return query, weight, bias, k, targets, history


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("with_bias", [True, False])
def test_equals_top_k_and_ranks_of_the_whole_scores(seed, with_bias):
    query, weight, bias, k, targets, history = _integer_problem(seed)
    bias = bias if with_bias else None
    batch, items = query.shape[0], weight.shape[0]
    scores = query @ weight.T + (bias if bias is not None else 0)
    reserved = exclusion_mask(batch, items, exclude_ids=[0, 1])
    with_history = exclusion_mask(batch, items, exclude_ids=[0, 1], history=history)
    ids, values = top_k_scored(scores, k, excluded=with_history)
    ranks = target_ranks(scores, targets, excluded=with_history)
    ranks_with_history = target_ranks(scores, targets, excluded=reserved)
    excluded_items = torch.zeros(items, dtype=torch.bool)
    excluded_items[:2] = True
    for chunk_size in (1, 3, items, items + 5):
        out = chunked_ranking(
            query, weight, bias, k, chunk_size=chunk_size, targets=targets, excluded_items=excluded_items,
            history=history,
        )  # fmt: skip
        assert torch.equal(out.ids, ids), chunk_size
        assert torch.equal(out.values, values), chunk_size
        assert torch.equal(out.ranks, ranks), chunk_size
        assert torch.equal(out.ranks_with_history, ranks_with_history), chunk_size


def test_without_targets_or_exclusions_only_the_top_k():
    query, weight, bias, _, _, _ = _integer_problem(3)
    out = chunked_ranking(query, weight, bias, 4, chunk_size=2)
    assert out.ranks is None and out.ranks_with_history is None
    assert torch.equal(out.ids, top_k_scored(query @ weight.T + bias, 4)[0])


def test_nan_and_bad_chunk_size_raise():
    weight = torch.ones(6, 2)
    weight[4, 0] = float("nan")
    with pytest.raises(ValueError, match="row 0: the score of item 4 is NaN"):
        chunked_ranking(torch.ones(1, 2), weight, None, 2, chunk_size=3)
    with pytest.raises(ValueError, match="Invalid chunk_size=0"):
        chunked_ranking(torch.ones(1, 2), torch.ones(6, 2), None, 2, chunk_size=0)


@pytest.mark.parametrize(("family", "scheme"), [("gpt2", "clm"), ("bert", "mlm"), ("xlnet", "plm")])
def test_trainer_metrics_and_recommendations_equal_with_chunks(tmp_path, family, scheme):
    """The path a user takes: the same eval metrics (both rankings) and the same recommend() lists."""
    rows = [s for s in sessions(64, seed=5) if len(s["input_ids"]) >= 2]
    reference = tiny_model(family, scheme).state_dict()
    results = []
    for chunk in (None, 7):
        model = tiny_model(family, scheme, softmax_chunk_size=chunk)
        model.load_state_dict(reference)
        trainer = SeqRecTrainer(
            model=model,
            args=TrainingArguments(
                output_dir=str(tmp_path / str(chunk)),
                per_device_eval_batch_size=16,
                report_to="none",
                use_cpu=True,
                disable_tqdm=True,
            ),
            data_collator=model.data_collator(seed=0),
            eval_dataset=rows,
        )
        top, ranks, ranks_with_history = trainer.predict(rows).predictions
        metrics = trainer.evaluate()
        recommended = model.recommend([row["input_ids"] for row in rows[:8]], k=5)
        results.append((top, ranks, ranks_with_history, metrics, recommended))
    (top, ranks, with_history, metrics, recommended), chunked = results
    assert (chunked[0] == top).all() and (chunked[1] == ranks).all() and (chunked[2] == with_history).all()
    for key in ("eval_ndcg@10", "eval_recall@10", "eval_ndcg@10_with_history"):
        assert chunked[3][key] == pytest.approx(metrics[key], abs=1e-12), key
    assert [[i for i, _ in row] for row in chunked[4]] == [[i for i, _ in row] for row in recommended]
    for ours, theirs in zip(chunked[4], recommended, strict=True):
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-5)


def test_eval_outputs_carry_no_scores_and_score_batch_still_gives_them():
    model = tiny_model("gpt2", "clm", softmax_chunk_size=5)
    plain = tiny_model("gpt2", "clm")
    plain.load_state_dict(model.state_dict())
    batch = collator("clm", "eval")(sessions(8, seed=2))
    model.eval()
    output = model(**batch)
    assert output.logits is None and output.prediction_hidden.shape == (8, model.config.backbone_config.n_embd)
    torch.testing.assert_close(model.score_batch(batch), plain.score_batch(batch), rtol=0, atol=1e-5)
