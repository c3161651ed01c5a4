"""Full-softmax cross-entropy over every item without the (targets x items) logits.

``F.cross_entropy(hidden @ weight.T + bias, targets)`` materialises T x V logits (and as much again
for their gradient): 8 GB at 1M items for a batch of 32 x 20. Here the catalogue is walked in
chunks of ``chunk_size`` items: the forward keeps a running log-sum-exp per target, the backward
recomputes one chunk's logits at a time and turns them into the gradients of ``hidden``, ``weight``
and ``bias``. Peak memory is T x chunk_size; the loss and gradients equal the materialised ones (to
float rounding).
"""

from __future__ import annotations

from typing import Any

import torch

from ._checks import check_int_at_least


class _ChunkedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        chunk_size: int,
    ) -> torch.Tensor:
        hidden32 = hidden.to(_compute_dtype(hidden))
        num_items = weight.shape[0]
        running_max = hidden32.new_full((hidden.shape[0],), float("-inf"))  # (T,)
        running_sum = hidden32.new_zeros(hidden.shape[0])  # (T,) of exp(logit - running_max)
        for start in range(0, num_items, chunk_size):
            logits = _chunk_logits(hidden32, weight, bias, start, chunk_size)  # (T, C)
            chunk_max = logits.amax(dim=1)
            new_max = torch.maximum(running_max, chunk_max)
            running_sum = running_sum * torch.exp(running_max - new_max) + torch.exp(logits - new_max[:, None]).sum(
                dim=1
            )
            running_max = new_max
        log_sum_exp = running_max + running_sum.log()  # (T,)
        target_logits = (hidden32 * weight[targets].to(hidden32.dtype)).sum(dim=1)  # (T,)
        if bias is not None:
            target_logits = target_logits + bias[targets].to(hidden32.dtype)
        ctx.save_for_backward(hidden, weight, bias, targets, log_sum_exp)
        ctx.chunk_size = chunk_size
        return (log_sum_exp - target_logits).mean()

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        hidden, weight, bias, targets, log_sum_exp = ctx.saved_tensors
        hidden32 = hidden.to(_compute_dtype(hidden))
        dtype = hidden32.dtype
        scale = grad_output.to(dtype) / hidden.shape[0]  # d(mean)/d(each target's loss)
        grad_hidden = torch.zeros_like(hidden32)
        grad_weight = torch.zeros(weight.shape, dtype=dtype, device=weight.device)
        grad_bias = None if bias is None else torch.zeros(bias.shape, dtype=dtype, device=bias.device)
        for start in range(0, weight.shape[0], ctx.chunk_size):
            logits = _chunk_logits(hidden32, weight, bias, start, ctx.chunk_size)  # (T, C)
            probabilities = torch.exp(logits - log_sum_exp[:, None]) * scale  # (T, C) d loss / d logits
            chunk = weight[start : start + ctx.chunk_size].to(dtype)
            grad_hidden += probabilities @ chunk
            grad_weight[start : start + ctx.chunk_size] = probabilities.T @ hidden32
            if grad_bias is not None:
                grad_bias[start : start + ctx.chunk_size] = probabilities.sum(dim=0)
        # The target's own logit enters the loss with -1.
        grad_hidden -= weight[targets].to(dtype) * scale
        grad_weight.index_add_(0, targets, -hidden32 * scale)
        if grad_bias is not None:
            grad_bias.index_add_(0, targets, torch.full_like(targets, -1, dtype=dtype) * scale)
        return (
            grad_hidden.to(hidden.dtype),
            grad_weight.to(weight.dtype),
            None if grad_bias is None else grad_bias.to(bias.dtype),
            None,
            None,
        )


def _chunk_logits(
    hidden32: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, start: int, chunk_size: int
) -> torch.Tensor:
    logits = hidden32 @ weight[start : start + chunk_size].to(hidden32.dtype).T  # (T, C)
    if bias is not None:
        logits = logits + bias[start : start + chunk_size].to(hidden32.dtype)
    return logits


def _compute_dtype(hidden: torch.Tensor) -> torch.dtype:
    """float64 stays float64; anything narrower is computed in float32 (as the materialised loss is)."""
    return torch.float64 if hidden.dtype == torch.float64 else torch.float32


def chunked_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    *,
    chunk_size: int = 16_384,
) -> torch.Tensor:
    """Mean cross-entropy of ``targets`` (T,) under the logits ``hidden @ weight.T + bias`` over every
    item -- ``hidden`` (T, H), ``weight`` (V, H), ``bias`` (V,) or None -- computed ``chunk_size``
    items at a time, so the (T, V) logits never exist; 0 (with a graph) when T = 0. Works in float32
    inside whatever the inputs' dtype.

    Example:
        >>> import torch.nn.functional as F
        >>> g = torch.Generator().manual_seed(0)
        >>> h, w, b = torch.randn(5, 8, generator=g), torch.randn(30, 8, generator=g), torch.randn(30, generator=g)
        >>> t = torch.tensor([3, 0, 29, 7, 7])
        >>> full = F.cross_entropy(h @ w.T + b, t)
        >>> bool(torch.allclose(chunked_cross_entropy(h, w, b, t, chunk_size=7), full, atol=1e-6))
        True
    """
    check_int_at_least("chunk_size", chunk_size, 1)
    if targets.numel() == 0:
        return hidden.sum() * 0.0
    return _ChunkedCrossEntropy.apply(hidden, weight, bias, targets, chunk_size)
