"""Next-item losses: over the target positions, and over a few candidate items instead of the whole catalogue.

:func:`target_selection` picks the outputs that predict a target and :func:`cross_entropy_or_zero` is
the full-softmax loss over them. The sampled losses take the positive scores ``positive`` (T,) of the
T targets and the negative scores ``negative`` (T, N), with ``hits`` (T, N) True where a negative is
the target itself (an accidental hit, removed). None of them needs the (T, V) logits, so a step costs
O(T * N) whatever the catalogue size; :func:`sampled_loss` picks the configured one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .reserved import IGNORE_INDEX

LOSSES = ("full", "sampled_softmax", "bce", "gbce")

# (hidden (T, H), positive ids (T,), negative ids (N,) or (T, N)) -> (positive (T,), negative (T, N)) scores
CandidateScorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def target_selection(labels: torch.Tensor, *, shift: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(where, targets)``: the (B, L) bool mask of positions whose output predicts a target, and those
    targets (T,). ``shift=True`` is the causal-LM convention: the output at ``t - 1`` predicts ``labels[:, t]``.

    Example:
        >>> where, targets = target_selection(torch.tensor([[-100, 5, 6]]), shift=True)
        >>> where.tolist(), targets.tolist()
        ([[True, True, False]], [5, 6])
    """
    is_target = labels != IGNORE_INDEX  # (B, L)
    if not shift:
        return is_target, labels[is_target]
    where = torch.zeros_like(is_target)
    where[:, :-1] = is_target[:, 1:]
    return where, labels[:, 1:][is_target[:, 1:]]


def masked_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, *, shift: bool, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy of every position's ``logits`` (B, L, V) against ``labels`` (B, L), over the
    targets only (0 with a graph when there are none): :func:`target_selection` + :func:`cross_entropy_or_zero`
    in static shapes, for traced forwards (no boolean indexing, no data-dependent branch).

    Example:
        >>> logits, labels = torch.zeros(1, 3, 4), torch.tensor([[-100, 2, 3]])
        >>> round(float(masked_cross_entropy(logits, labels, shift=True)), 4)  # log(4)
        1.3863
    """
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    total = F.cross_entropy(
        logits.float().flatten(0, 1),
        labels.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
        label_smoothing=label_smoothing,
    )
    return total / (labels != IGNORE_INDEX).sum().clamp_min(1)


def cross_entropy_or_zero(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` (T, V) against ``targets`` (T,); 0 (with a graph) when T = 0.
    ``label_smoothing``: ``F.cross_entropy``'s (the target keeps ``1 - label_smoothing``, the rest spread
    over all V ids; 0 is the plain cross-entropy, bit for bit)."""
    if targets.numel() == 0:
        return logits.sum() * 0.0
    if label_smoothing:
        return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
    return F.cross_entropy(logits.float(), targets)


def traced_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """:func:`cross_entropy_or_zero` for a traced forward in which the number of targets T is symbolic
    (``torch._dynamo.config.capture_dynamic_output_shape_ops``): no branch on T, the same mean (0 for T = 0).

    Example:
        >>> round(float(traced_cross_entropy(torch.zeros(2, 4), torch.tensor([1, 3]))), 4)  # log(4)
        1.3863
        >>> float(traced_cross_entropy(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)))
        0.0
    """
    total = F.cross_entropy(logits.float(), targets, reduction="sum", label_smoothing=label_smoothing)
    return total / torch.sym_max(targets.shape[0], 1)


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


def sampled_loss(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    score: CandidateScorer,
    *,
    loss: str,
    negative_ids: torch.Tensor | None,
    negative_log_q: torch.Tensor | None,
    target_log_q: torch.Tensor | None,
    in_batch_negatives: bool,
    logq_correction: bool,
    gbce_t: float,
    num_items: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The sampled ``loss`` (``"sampled_softmax"``, ``"bce"`` or ``"gbce"``) over the targets (T,) from
    their hidden states (T, H).

    Args:
        hidden: the item head's input at the target positions (T, H).
        targets: the target ids (T,).
        score: scores the targets and their negatives from ``hidden`` (the model's item head,
            e.g. :func:`hf_seqmask.modeling.candidate_scores` bound to a backbone).
        loss: which sampled loss.
        negative_ids: the collator's negatives, a shared pool (N,) or per target (T, N); ignored with
            ``in_batch_negatives`` (the batch's targets are the negatives).
        negative_log_q, target_log_q: the sampler's log-probabilities of the negatives and the targets,
            for the logQ correction of ``"sampled_softmax"`` (applied when ``logq_correction``).
        in_batch_negatives: use the batch's other targets as negatives.
        logq_correction: subtract the log-probabilities above from the scores (``"sampled_softmax"``).
        gbce_t: gSASRec's calibration ``t`` (``"gbce"``).
        num_items: the catalogue size without reserved ids (``"gbce"``'s calibration).

    Returns:
        ``(loss, logits)`` with logits (T, 1 + N): the target's score, then its negatives'.

    Raises:
        ValueError: no negatives (neither ``negative_ids`` nor ``in_batch_negatives``).
    """
    if targets.numel() == 0:
        return hidden.sum() * 0.0, hidden.new_zeros(0, 1)
    if in_batch_negatives:
        negative_ids, negative_log_q = targets, in_batch_log_q(targets)
        target_log_q = negative_log_q
    elif negative_ids is None:
        raise ValueError(f"loss={loss!r} needs negatives: set num_negatives on the collator or in_batch_negatives=True")
    positive, negative = score(hidden, targets, negative_ids.to(hidden.device))  # (T,), (T, N)
    shared = negative_ids.ndim == 1
    hits = (negative_ids[None, :] if shared else negative_ids) == targets[:, None]  # (T, N)
    if loss == "sampled_softmax":
        correct = logq_correction and negative_log_q is not None
        negative_q = (
            negative_log_q.expand_as(negative) if negative_log_q is not None and correct and shared else negative_log_q
        )
        value = sampled_softmax_loss(
            positive,
            negative,
            hits,
            positive_log_q=target_log_q if correct else None,
            negative_log_q=negative_q if correct else None,
        )
    elif loss == "bce":
        value = bce_loss(positive, negative, hits)
    else:
        value = gbce_loss(positive, negative, hits, beta=gbce_beta(negative.shape[1], num_items, gbce_t))
    return value, torch.cat([positive[:, None], negative], dim=1)  # (T, 1 + N)
