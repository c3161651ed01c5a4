"""The item head and its full-softmax cross-entropy in one pass, a block of target rows at a time.

``F.cross_entropy(hidden @ weight.T + bias, targets)`` writes the (T, V) logits, reads and writes
them again for the log-softmax, and twice more in the backward (the softmax's gradient, then the two
matmuls that read it): at ML-1M's size (T = 6,400 positions of a batch of 32 x 200, V = 3,420 items)
that is ~90 MB per pass, out of every cache. Here each block of ``rows`` targets has its logits
computed, turned in place into d loss / d logits (the softmax minus the one-hot) and multiplied
straight into the gradients of ``hidden``, ``weight`` and ``bias`` while the block is still in
cache; the forward returns the loss and keeps the three gradients, the backward only scales them
(Liger-Kernel's fused linear cross-entropy, here for any device torch runs on). Same loss and
gradients as the materialised ones, to float rounding; no (T, V) tensor outlives a block.

Under autocast the matmuls run in the autocast dtype (as the unfused head's would) and the softmax in
float32. It needs no logits afterwards: training outputs carry none (as with ``softmax_chunk_size``).
"""

from __future__ import annotations

from typing import Any

import torch

from ._checks import check_int_at_least

ROWS_PER_BLOCK = 128  # ~1.7 MB of float32 logits per block at 3,420 items: cache-sized on a CPU


# A custom op, so that torch.compile keeps the block loop whole (one opaque call in the graph, a fake
# kernel for its shapes) and the fused loss composes with a compiled backbone. It returns the loss and
# the three gradients it computed; its registered backward only scales them.
@torch.library.custom_op("hf_seqmask::fused_cross_entropy", mutates_args=())
def _fused_blocks(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    rows: int,
    label_smoothing: float,
    with_gradients: bool,
    matmul_dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    softmax_dtype = _softmax_dtype(matmul_dtype)
    num_targets, num_items = hidden.shape[0], weight.shape[0]
    with torch.autocast(hidden.device.type, enabled=False):  # the dtypes are chosen by the caller, once
        h, w = hidden.to(matmul_dtype), weight.to(matmul_dtype)
        grad_hidden, grad_weight, grad_bias = _gradient_buffers(hidden, weight, bias, softmax_dtype, with_gradients)
        total = torch.zeros((), dtype=softmax_dtype, device=hidden.device)
        for start in range(0, num_targets, rows):
            block, block_targets = h[start : start + rows], targets[start : start + rows]
            logits = (block @ w.T).to(softmax_dtype)  # (r, V): the only logits alive
            if bias is not None:
                logits += bias.to(softmax_dtype)
            rows_here = torch.arange(len(block_targets), device=hidden.device)
            log_sum_exp = torch.logsumexp(logits, dim=1)  # (r,)
            losses = log_sum_exp - (1.0 - label_smoothing) * logits[rows_here, block_targets]
            if label_smoothing:  # F.cross_entropy's: the target keeps 1 - s, every item gets s / V
                losses -= label_smoothing * logits.mean(dim=1)
            total += losses.sum()
            if not with_gradients:  # evaluation: the loss alone
                continue
            grad_logits = logits.sub_(log_sum_exp[:, None]).exp_()  # softmax, in place
            grad_logits[rows_here, block_targets] -= 1.0 - label_smoothing
            if label_smoothing:
                grad_logits -= label_smoothing / num_items
            grad_block = grad_logits.to(matmul_dtype)
            grad_hidden[start : start + rows] = grad_block @ w
            grad_weight += grad_block.T @ block
            if bias is not None:
                grad_bias += grad_logits.sum(dim=0)
    scale = 1.0 / max(num_targets, 1)  # the mean over targets (0 targets: loss 0, gradients 0)
    return total.mul_(scale), grad_hidden.mul_(scale), grad_weight.mul_(scale), grad_bias.mul_(scale)


@_fused_blocks.register_fake
def _fused_blocks_shapes(hidden, weight, bias, targets, rows, label_smoothing, with_gradients, matmul_dtype):
    softmax_dtype = _softmax_dtype(matmul_dtype)
    loss = hidden.new_empty((), dtype=softmax_dtype)
    return (loss, *_gradient_buffers(hidden, weight, bias, softmax_dtype, with_gradients, fill=False))


def _gradient_buffers(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    dtype: torch.dtype,
    with_gradients: bool,
    fill: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Buffers for the gradients of ``hidden``, ``weight`` and ``bias`` (a (0,) one without a bias);
    without gradients (evaluation) (0, H), (0, H) and (0,) placeholders: nothing is kept."""
    targets_kept = hidden.shape[0] if with_gradients else 0
    items_kept = weight.shape[0] if with_gradients else 0
    bias_kept = items_kept if bias is not None else 0
    new = torch.zeros if fill else torch.empty
    return (
        hidden.new_empty((targets_kept, hidden.shape[1]), dtype=dtype),  # every row is written
        new((items_kept, weight.shape[1]), dtype=dtype, device=weight.device),
        new((bias_kept,), dtype=dtype, device=weight.device),
    )


def _keep_gradients(ctx: Any, inputs: tuple, output: tuple) -> None:
    hidden, weight, bias = inputs[:3]
    ctx.save_for_backward(*output[1:])
    ctx.dtypes = (hidden.dtype, weight.dtype, None if bias is None else bias.dtype)
    ctx.with_gradients = inputs[6]


def _scale_gradients(ctx: Any, grad_loss: torch.Tensor, *_unused: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
    if not ctx.with_gradients:  # only a direct call of the op can get here: fused_cross_entropy sets it
        raise RuntimeError(
            "hf_seqmask::fused_cross_entropy ran with with_gradients=False and kept no gradients to return: "
            "call hf_seqmask.fused_cross_entropy.fused_cross_entropy, which sets it from grad mode"
        )
    grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
    hidden_dtype, weight_dtype, bias_dtype = ctx.dtypes
    return (
        (grad_hidden * grad_loss).to(hidden_dtype),
        (grad_weight * grad_loss).to(weight_dtype),
        None if bias_dtype is None else (grad_bias * grad_loss).to(bias_dtype),
        None,
        None,
        None,
        None,
        None,
    )


_fused_blocks.register_autograd(_scale_gradients, setup_context=_keep_gradients)


def _softmax_dtype(matmul_dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if matmul_dtype == torch.float64 else torch.float32


def _matmul_dtype(hidden: torch.Tensor, device_type: str) -> torch.dtype:
    """The autocast dtype where autocast is on (the unfused head's matmul would run in it), else float32
    (float64 stays float64)."""
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return torch.float64 if hidden.dtype == torch.float64 else torch.float32


def fused_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    *,
    rows: int = ROWS_PER_BLOCK,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy of ``targets`` (T,) under the logits ``hidden @ weight.T + bias`` over every
    item -- ``hidden`` (T, H), ``weight`` (V, H), ``bias`` (V,) or None -- with the gradients computed
    in the forward, ``rows`` targets at a time (see the module's docstring); ``label_smoothing`` as in
    ``F.cross_entropy``; 0 (with a graph) when T = 0. Without grad mode it computes the loss alone.

    Example:
        >>> import torch.nn.functional as F
        >>> g = torch.Generator().manual_seed(0)
        >>> h, w, b = torch.randn(5, 8, generator=g), torch.randn(30, 8, generator=g), torch.randn(30, generator=g)
        >>> t = torch.tensor([3, 0, 29, 7, 7])
        >>> full = F.cross_entropy(h @ w.T + b, t)
        >>> bool(torch.allclose(fused_cross_entropy(h, w, b, t, rows=2), full, atol=1e-6))
        True
    """
    check_int_at_least("rows", rows, 1)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    parameters = (hidden, weight) if bias is None else (hidden, weight, bias)
    with_gradients = torch.is_grad_enabled() and any(p.requires_grad for p in parameters)
    matmul_dtype = _matmul_dtype(hidden, hidden.device.type)
    loss = _fused_blocks(hidden, weight, bias, targets, rows, label_smoothing, with_gradients, matmul_dtype)[0]
    return loss
