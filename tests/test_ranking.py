"""The ranking building blocks: one tie rule for evaluation (issue 26) and one-way imports (issue 22)."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import EvalPrediction

from hf_seqmask.metrics import (
    make_compute_metrics,
    make_preprocess_logits_for_metrics,
    metrics_from_scores,
    ranking_metrics,
    top_k_items,
)

PACKAGE = Path(__file__).resolve().parents[1] / "hf_seqmask"


def test_a_constant_score_model_gets_no_credit_under_the_evaluation_rule():
    scores = torch.zeros(48, 50)  # a model that scores every item the same; 48 candidates after pad and mask
    targets = torch.arange(2, 50)  # every candidate is some row's target
    # Served lists break ties by id: ids 2..11 fill every list, so the list metric credits 10 of 48 rows.
    lists = ranking_metrics(top_k_items(scores, 10, exclude_ids=[0, 1]).numpy(), targets.numpy())
    assert lists["recall@10"] == pytest.approx(10 / 48)
    # The evaluation rule (pessimistic ranks): 47 candidates tie with each target, ahead of it.
    evaluation = metrics_from_scores(scores, targets, exclude_ids=[0, 1])
    assert evaluation["recall@10"] == evaluation["ndcg@10"] == evaluation["mrr@10"] == 0.0
    # The Trainer's hooks follow the same rule.
    labels = torch.full((48, 3), -100)
    labels[:, -1] = targets
    top, ranks, ranks_with_history = make_preprocess_logits_for_metrics(10, exclude_ids=[0, 1])(scores, labels)
    predictions = (top.numpy(), ranks.numpy(), ranks_with_history.numpy())
    trainer_metrics = make_compute_metrics((10,))(EvalPrediction(predictions=predictions, label_ids=labels.numpy()))
    assert trainer_metrics["recall@10"] == trainer_metrics["recall@10_with_history"] == 0.0


def test_both_rules_agree_when_no_score_ties():
    rng = np.random.default_rng(0)
    scores = torch.tensor(rng.permutation(16 * 30).reshape(16, 30), dtype=torch.float32)
    targets = torch.tensor(rng.integers(2, 30, 16))
    history = torch.tensor(rng.integers(2, 30, (16, 4)))
    top = top_k_items(scores, 10, exclude_ids=[0, 1], history=history)
    lists = ranking_metrics(top.numpy(), targets.numpy(), ks=(1, 5, 10))
    evaluation = metrics_from_scores(scores, targets, (1, 5, 10), exclude_ids=[0, 1], history=history)
    assert lists == pytest.approx(evaluation)


def _imported_modules(module: str) -> set[str]:
    """The hf_seqmask modules ``hf_seqmask/<module>.py`` imports, at module or function level."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.add(node.module or "")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hf_seqmask."):
            names.add(node.module.removeprefix("hf_seqmask."))
    return {name.split(".")[0] for name in names}


def test_the_ranking_modules_import_one_way():
    # ranking at the bottom; chunked_ranking on it; metrics on both (no module imports back up).
    assert not {"metrics", "chunked_ranking"} & _imported_modules("ranking")
    assert "metrics" not in _imported_modules("chunked_ranking")
    assert {"ranking", "chunked_ranking"} <= _imported_modules("metrics")
