"""Hand a collator's batch to a plain HF model: keep only the keys its ``forward`` names."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn


def keep_model_inputs(batch: dict[str, Any], model: nn.Module) -> dict[str, Any]:
    """The entries of ``batch`` that ``model.forward`` takes by name (``mask_positions`` and the like
    are for the hf_seqmask model wrapper; a plain HF model rejects them).

    Example:
        >>> import torch
        >>> from transformers import BertConfig, BertForMaskedLM
        >>> model = BertForMaskedLM(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
        ...                                    num_attention_heads=2, intermediate_size=8))
        >>> batch = {"input_ids": torch.tensor([[5, 1]]), "mask_positions": torch.tensor([[False, True]])}
        >>> sorted(keep_model_inputs(batch, model))
        ['input_ids']
    """
    parameters = inspect.signature(model.forward).parameters
    return {key: value for key, value in batch.items() if key in parameters}
