"""Next-item losses over a few candidate items instead of the whole catalogue.

All take the positive scores ``positive`` (T,) of the T targets and the negative scores ``negative``
(T, N), with ``hits`` (T, N) True where a negative is the target itself (an accidental hit, removed).
None of them needs the (T, V) logits, so a step costs O(T * N) whatever the catalogue size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("full", "sampled_softmax", "bce", "gbce")


def sampled_softmax_loss(
    positive: torch.Tensor,
    negative: torch.Tensor,
    hits: torch.Tensor,
    *,
    positive_log_q: torch.Tensor | None = None,
    negative_log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of the target among itself and its negatives, with the logQ correction
    (every score minus the log-probability that the sampler draws that item) and hits removed.

    Example:
        >>> loss = sampled_softmax_loss(torch.tensor([2.0]), torch.tensor([[0.0, 2.0]]), torch.tensor([[False, True]]))
        >>> round(float(loss), 4) == round(float(torch.log(1 + torch.exp(torch.tensor(-2.0)))), 4)
        True
    """
    if positive_log_q is not None and negative_log_q is not None:
        positive = positive - positive_log_q
        negative = negative - negative_log_q
    negative = negative.masked_fill(hits, float("-inf"))
    logits = torch.cat([positive[:, None], negative], dim=1).float()  # (T, 1 + N)
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def bce_loss(positive: torch.Tensor, negative: torch.Tensor, hits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: the target is 1, each (non-hit) negative 0; summed per target, averaged."""
    return gbce_loss(positive, negative, hits, beta=1.0)


def gbce_beta(num_negatives: int, num_items: int, t: float) -> float:
    """gSASRec's calibration exponent: ``alpha = N / (|I| - 1)``, ``beta = alpha (t (1 - 1/alpha) + 1/alpha)``.

    Example:
        >>> gbce_beta(256, 3416, 0.0), round(gbce_beta(256, 3416, 1.0), 4)
        (1.0, 0.075)
    """
    alpha = num_negatives / max(num_items - 1, 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


def gbce_loss(positive: torch.Tensor, negative: torch.Tensor, hits: torch.Tensor, *, beta: float) -> torch.Tensor:
    """gSASRec's generalised BCE: ``-log(sigmoid(s+) ** beta) - sum log(1 - sigmoid(s-))`` per target.

    ``beta = 1`` is plain BCE; ``beta < 1`` counters the overconfidence that negative sampling brings.

    Example:
        >>> import math
        >>> hits = torch.tensor([[False]])
        >>> value = gbce_loss(torch.tensor([0.0]), torch.tensor([[0.0]]), hits, beta=0.5)
        >>> round(float(value), 6) == round(0.5 * math.log(2) + math.log(2), 6)
        True
    """
    positive_term = beta * F.softplus(-positive.float())  # -log(sigmoid(s)^beta)
    negative_term = F.softplus(negative.float()).masked_fill(hits, 0.0).sum(dim=1)  # -sum log(1 - sigmoid(s))
    return (positive_term + negative_term).mean()


def in_batch_log_q(targets: torch.Tensor) -> torch.Tensor:
    """log of each target's share among the batch's targets (the sampling probability of in-batch
    negatives), (T,)."""
    _, inverse, counts = torch.unique(targets, return_inverse=True, return_counts=True)
    return (counts[inverse].float() / targets.numel()).log()
