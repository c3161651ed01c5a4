"""One device rule: every path that runs a model (evaluation, early stopping, recommendations, the
main job) moves its batch to the model's device through :func:`to_model_device`."""

from __future__ import annotations

from typing import Any

import torch
from accelerate.utils import send_to_device


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's parameters (a model without parameters: CPU)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def to_model_device(batch: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """``batch`` with every tensor (nested in dicts too) on ``model``'s device; other values as they are.

    Example:
        >>> batch = to_model_device({"input_ids": torch.tensor([[5, 6]]), "name": "a"}, torch.nn.Linear(1, 1))
        >>> batch["input_ids"].device.type, batch["name"]
        ('cpu', 'a')
    """
    return send_to_device(batch, model_device(model), non_blocking=True)
