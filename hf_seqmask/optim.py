"""One optimizer for a model whose item table gets sparse gradients: lazy Adam there, AdamW elsewhere.

With ``SeqRecConfig(sparse_item_embeddings=True)`` and a sampled loss, a step touches only the rows
of the items in the batch and its negatives; a dense optimizer would still update all V rows (and
zero-fill a V x H gradient). ``SparseDenseAdam`` runs ``torch.optim.SparseAdam`` on the item table --
the lazy Adam of large-catalogue recommenders: a row's moments move only when the row is used, and
there is no weight decay on it -- and ``AdamW`` on every other parameter, behind one ``Optimizer``
whose ``param_groups`` are both's, so LR schedulers, the HF Trainer and its checkpoints see one
optimizer. ``SeqRecTrainer`` builds it by itself for such a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn


class SparseDenseAdam(torch.optim.Optimizer):
    """``SparseAdam`` over ``sparse_parameters``, ``AdamW`` over ``dense_groups``, stepped together.

    Example:
        >>> table, layer = nn.Embedding(100, 4, sparse=True), nn.Linear(4, 1)
        >>> optimizer = SparseDenseAdam([table.weight], [{"params": layer.parameters()}], lr=0.1)
        >>> layer(table(torch.tensor([3, 5]))).sum().backward()
        >>> before = table.weight.detach().clone()
        >>> optimizer.step()
        >>> changed = (table.weight != before).any(dim=1).nonzero().flatten().tolist()
        >>> changed  # only the rows the batch used
        [3, 5]
    """

    def __init__(
        self,
        sparse_parameters: Iterable[nn.Parameter],
        dense_groups: Iterable[dict[str, Any]],
        *,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.sparse = torch.optim.SparseAdam(list(sparse_parameters), lr=lr, betas=betas, eps=eps)
        self.dense = torch.optim.AdamW(list(dense_groups), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        # The groups are the inner optimizers' own dicts: a scheduler changing "lr" here changes it there.
        super().__init__([*self.sparse.param_groups, *self.dense.param_groups], {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.sparse.step()
        self.dense.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {"sparse": self.sparse.state_dict(), "dense": self.dense.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.sparse.load_state_dict(state_dict["sparse"])
        self.dense.load_state_dict(state_dict["dense"])

    @classmethod
    def for_model(
        cls,
        model: nn.Module,
        *,
        no_decay: set[str] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> SparseDenseAdam:
        """The item table of an HF-wrapping ``model`` (its input embeddings, tied to the item head)
        sparse; everything else dense, without weight decay for the names in ``no_decay``."""
        table = model.get_input_embeddings().weight  # type: ignore[operator]
        no_decay = no_decay or set()
        decay: list[nn.Parameter] = []
        plain: list[nn.Parameter] = []
        for name, parameter in model.named_parameters():
            if parameter is table or not parameter.requires_grad:
                continue
            (plain if name in no_decay else decay).append(parameter)
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
        return cls([table], [g for g in groups if g["params"]], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


def clip_grad_norm_sparse_aware(
    parameters: Iterable[nn.Parameter], max_norm: float, *, unscale: Callable[[], Any] | None = None
) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` (2-norm) that also takes sparse gradients, which torch's
    refuses: the norm of a sparse gradient is that of its coalesced values. ``unscale`` runs first
    (the mixed-precision unscaling ``accelerate`` does before clipping). Returns the pre-clip norm.

    Example:
        >>> table = nn.Embedding(10, 2, sparse=True)
        >>> table(torch.tensor([1, 1])).sum().backward()  # row 1 twice: gradient 2 per entry, norm sqrt(8)
        >>> round(float(clip_grad_norm_sparse_aware([table.weight], 1.0)), 4)
        2.8284
        >>> round(float(table.weight.grad.coalesce().values().norm()), 4)
        1.0
    """
    if unscale is not None:
        unscale()
    gradients = [p.grad for p in parameters if p.grad is not None]
    if not gradients:
        return torch.tensor(0.0)
    squares = [(g.coalesce().values() if g.is_sparse else g).float().pow(2).sum() for g in gradients]
    total = torch.stack(squares).sum().sqrt()
    if math.isfinite(max_norm):
        factor = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for gradient in gradients:
            gradient.mul_(factor.to(gradient.dtype))
    return total
