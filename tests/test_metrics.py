"""Next-item metrics against a brute-force reference, the Trainer hooks, the popularity baseline."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import TrainingArguments

from hf_seqmask import SeqRecTrainer
from hf_seqmask.metrics import (
    evaluate_ranking,
    make_compute_metrics,
    make_preprocess_logits_for_metrics,
    popularity_scorer,
    ranking_metrics,
    target_of_each_row,
    target_ranks,
    top_k_items,
    top_k_scored,
)

from ._tiny import VOCAB, collator, sessions, tiny_model


def _brute_force(scores, targets, excluded_per_row, ks):
    """Rank = number of allowed items scoring strictly higher than the target; excluded target = miss."""
    out = {f"{m}@{k}": [] for k in ks for m in ("recall", "ndcg", "mrr")}
    for row, target in enumerate(targets):
        if target < 0:
            continue
        allowed = [i for i in range(scores.shape[1]) if i not in excluded_per_row[row]]
        rank = None if target not in allowed else sum(scores[row, i] > scores[row, target] for i in allowed)
        for k in ks:
            hit = rank is not None and rank < k
            out[f"recall@{k}"].append(float(hit))
            out[f"ndcg@{k}"].append(1 / np.log2(rank + 2) if hit else 0.0)
            out[f"mrr@{k}"].append(1 / (rank + 1) if hit else 0.0)
    return {key: float(np.mean(values)) for key, values in out.items()}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), exclude_history=st.booleans())
def test_metrics_match_brute_force(seed, exclude_history):
    rng = np.random.default_rng(seed)
    batch, vocab, ks = 12, 30, (1, 5, 10)
    scores = torch.tensor(rng.permutation(batch * vocab).reshape(batch, vocab), dtype=torch.float32)  # no ties
    history = torch.tensor(rng.integers(2, vocab, (batch, 6)))
    targets = rng.integers(2, vocab, batch)
    targets[0] = -1  # a row without a target
    reserved = {0, 1}
    excluded = [reserved | (set(history[r].tolist()) if exclude_history else set()) for r in range(batch)]
    top = top_k_items(scores, 10, exclude_ids=[0, 1], history=history if exclude_history else None)
    ours = ranking_metrics(top.numpy(), targets, ks)
    reference = _brute_force(scores.numpy(), targets, excluded, ks)
    assert ours["rows"] == batch - 1 and ours["rows_without_target"] == 1
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value), key


def test_target_of_each_row():
    labels = np.array([[-100, 5, -100, 7], [-100, -100, -100, -100], [3, -100, -100, -100]])
    assert target_of_each_row(labels).tolist() == [7, -1, 3]


def test_ranking_needs_enough_ids():
    with pytest.raises(ValueError, match=r"ks=\(20,\) needs 20"):
        ranking_metrics(np.zeros((2, 10), dtype=int), np.array([1, 2]), ks=(20,))


def test_trainer_evaluate_gives_the_headline_metric_with_the_history_excluded(tmp_path):
    model = tiny_model("bert", "mlm")
    evaluation_rows = [s for s in sessions(96, seed=4) if len(s["input_ids"]) >= 2]
    trainer = SeqRecTrainer(  # the default metrics: ndcg/recall/mrr@10, history excluded and included
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp_path), per_device_eval_batch_size=32, report_to="none", use_cpu=True, disable_tqdm=True
        ),
        data_collator=collator("mlm"),
        eval_dataset=evaluation_rows,
    )
    top, ranks, ranks_with_history = trainer.predict(evaluation_rows).predictions
    assert top.shape == (len(evaluation_rows), 10) and ranks.shape == ranks_with_history.shape == (
        len(evaluation_rows),
    )
    metrics = trainer.evaluate()
    model.eval()
    for exclude, suffix in ((True, ""), (False, "_with_history")):
        reference = evaluate_ranking(
            lambda b: model(**b).logits, evaluation_rows, collator("mlm", "eval"), exclude_history=exclude
        )
        for key in ("recall@10", "ndcg@10", "mrr@10"):
            assert metrics[f"eval_{key}{suffix}"] == pytest.approx(reference[key]), (key, suffix)
    assert metrics["eval_ndcg@10"] != metrics["eval_ndcg@10_with_history"]  # the exclusion mattered


def test_custom_trainer_hooks_keep_only_top_k(tmp_path):
    model = tiny_model("bert", "mlm")
    rows = [s for s in sessions(40, seed=4) if len(s["input_ids"]) >= 2]
    trainer = SeqRecTrainer(
        model=model,
        args=TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, disable_tqdm=True),
        data_collator=collator("mlm"),
        eval_dataset=rows,
        preprocess_logits_for_metrics=make_preprocess_logits_for_metrics(5),
        compute_metrics=make_compute_metrics((1, 5)),
    )
    metrics = trainer.evaluate()
    assert {"eval_ndcg@1", "eval_recall@5", "eval_mrr@5_with_history"} <= set(metrics)
    assert trainer.predict(rows).predictions[0].shape == (len(rows), 5)


def test_popularity_baseline_ranks_by_training_counts():
    train = [[2, 3, 3], [3, 4]]
    score = popularity_scorer(train, VOCAB)
    top = top_k_items(score({"input_ids": torch.zeros(1, 3)}), 3, exclude_ids=[0, 1])
    assert top[0, :2].tolist() == [3, 2] or top[0, :2].tolist() == [3, 4]
    metrics = evaluate_ranking(score, [{"input_ids": [2, 3]}, {"input_ids": [4, 2, 3]}], collator("mlm", "eval"))
    assert metrics["recall@10"] == 1.0 and metrics["mrr@10"] == pytest.approx((1.0 + 1.0) / 2)
    excluded = evaluate_ranking(
        score, [{"input_ids": [3, 4, 3]}], collator("mlm", "eval"), exclude_history=True, ks=(1,)
    )
    assert excluded["recall@1"] == 0.0  # 3 is in the history (position 0), so it cannot be recommended


@pytest.mark.parametrize("scheme", ["clm", "mlm", "plm", "rtd"])
def test_history_exclusion_covers_items_beyond_max_length(scheme):
    # Item 2 was seen long ago (outside the 3 most recent items the model sees) and scores highest.
    def score(batch):
        scores = torch.zeros(len(batch["input_ids"]), VOCAB)
        scores[:, 2], scores[:, 7] = 2.0, 1.0
        return scores

    rows = [{"input_ids": [2, 3, 4, 5, 6, 7]}]
    truncated = collator(scheme, "eval", max_length=3)
    assert 2 not in truncated(rows)["input_ids"].tolist()[0]
    excluded = evaluate_ranking(score, rows, truncated, exclude_history=True, ks=(1,))
    included = evaluate_ranking(score, rows, truncated, ks=(1,))
    assert excluded["recall@1"] == 1.0 and included["recall@1"] == 0.0


def test_ties_break_by_id_in_lists_and_pessimistically_in_metrics():
    scores = torch.zeros(3, 40)  # a model that scores every item alike
    assert top_k_items(scores, 5, exclude_ids=[0, 1]).tolist() == [[2, 3, 4, 5, 6]] * 3
    # Whatever the target, 37 other candidates tie with it: rank 37, a miss at every k < 38.
    metrics = evaluate_ranking(lambda b: torch.zeros(len(b["input_ids"]), 40), [{"input_ids": [5, 2]}] * 3,
                               collator("mlm", "eval"), ks=(10,))  # fmt: skip
    assert metrics["recall@10"] == 0.0 and metrics["ndcg@10"] == 0.0
    ranks = target_ranks(torch.tensor([[0.0, 1.0, 1.0, 3.0, 1.0]]), torch.tensor([2]))
    assert ranks.tolist() == [3]  # item 3 scores higher, items 1 and 4 tie: all three ahead


def test_nan_scores_raise_naming_row_and_item():
    scores = torch.zeros(2, 6)
    scores[1, 4] = float("nan")
    with pytest.raises(ValueError, match="row 1: the score of item 4 is NaN"):
        top_k_items(scores, 3)
    with pytest.raises(ValueError, match="row 1: the score of item 4 is NaN"):
        target_ranks(scores, torch.tensor([2, 3]))


def test_fewer_candidates_than_k_are_padded_with_minus_one_never_an_excluded_id():
    scores = torch.arange(8.0).expand(2, 8)
    history = torch.tensor([[2, 3, 4, 5, 6], [7, 0, 0, 0, 0]])
    top = top_k_items(scores, 5, exclude_ids=[0, 1], history=history)
    assert top.tolist() == [[7, -1, -1, -1, -1], [6, 5, 4, 3, 2]]
    ids, values = top_k_scored(torch.tensor([[1.0, 2.0]]), 4)
    assert ids.tolist() == [[1, 0, -1, -1]] and values[0, 2:].tolist() == [float("-inf")] * 2


def test_a_target_seen_in_the_history_is_a_miss_when_the_history_is_excluded():
    scores = torch.arange(10.0)[None]
    excluded = torch.zeros(1, 10, dtype=torch.bool)
    excluded[0, [0, 1, 9]] = True
    assert target_ranks(scores, torch.tensor([9]), excluded=excluded).tolist() == [np.iinfo(np.int64).max]
    assert target_ranks(scores, torch.tensor([8]), excluded=excluded).tolist() == [0]
