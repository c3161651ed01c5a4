"""What :class:`~hf_seqmask.SeqRecModel` returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class SeqRecOutput(ModelOutput):
    """``loss`` and ``logits``: in training the scores of the T target positions only, (T, V), in
    row-major order of ``labels != -100``; in eval/predict (B, V) at ``prediction_positions`` (rows
    without a prediction, position -1, score 0). ``rtd`` training adds its two losses, the
    discriminator's labels and logits (B, L) and the corrupted ``input_ids``. Eval batches pass their
    ``seen_ids`` (B, H) through untouched, for ``preprocess_logits_for_metrics`` to exclude. With
    ``softmax_chunk_size`` set, eval/predict batches return no ``logits`` but ``prediction_hidden``
    (B, H), the item head's input at ``prediction_positions`` (rows without one: zeros), which
    :mod:`hf_seqmask.chunked_ranking` ranks without building the (B, V) scores."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    prediction_hidden: torch.Tensor | None = None
    generator_loss: torch.Tensor | None = None
    discriminator_loss: torch.Tensor | None = None
    discriminator_labels: torch.Tensor | None = None
    discriminator_logits: torch.Tensor | None = None
    corrupted_input_ids: torch.Tensor | None = None
    seen_ids: torch.Tensor | None = None
