"""ELECTRA's replacement step: draw items from the generator's logits, label what changed.

The draws and the discriminator head are plain torch; :func:`rtd_training_step` is the model's
training step for ``scheme="rtd"``, written against the few parts of the model it needs
(:class:`ElectraParts`).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from .losses import cross_entropy_or_zero, target_selection
from .modeling.backbones import hidden_states, item_logits
from .modeling.last_layer import QUERY_MASK
from .modeling.outputs import SeqRecOutput


def gumbel_sample(logits: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``logits`` (T, C), drawn from ``softmax(logits)`` by the Gumbel-max trick.

    Draws are made without gradient; ``-inf`` logits are never drawn.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> gumbel_sample(torch.tensor([[0.0, float("-inf")], [float("-inf"), 0.0]]), generator=g).tolist()
        [0, 1]
    """
    with torch.no_grad():
        uniform = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=torch.float32)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-9, 1 - 1e-9)))  # (T, C)
        return (logits.detach().float() + gumbel).argmax(dim=-1)  # (T,)


def sample_replacements(
    generator_logits: torch.Tensor,
    *,
    excluded_ids: torch.Tensor,
    candidates: torch.Tensor | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """Replacement items (T,) for T targets from the generator's logits (T, V).

    With ``candidates`` (C,) the draw is restricted to those items (the batch's targets); otherwise it
    runs over the whole catalogue without ``excluded_ids`` (pad, mask, special ids).
    """
    if candidates is not None:
        candidates = candidates.to(generator_logits.device)
        return candidates[gumbel_sample(generator_logits[:, candidates], generator=generator)]
    logits = generator_logits.detach().float().clone()
    logits[:, excluded_ids.to(logits.device)] = float("-inf")
    return gumbel_sample(logits, generator=generator)


class DiscriminatorHead(nn.Module):
    """ELECTRA's discriminator head: hidden (B, L, H) -> one "replaced" logit per position (B, L)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = nn.GELU()
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.activation(self.dense(hidden))).squeeze(-1)


class ElectraParts(Protocol):
    """What :func:`rtd_training_step` uses of the model (a :class:`~hf_seqmask.SeqRecModel`)."""

    @property
    def config(self) -> Any: ...

    @property
    def backbone(self) -> PreTrainedModel: ...

    @property
    def generator(self) -> PreTrainedModel | None: ...

    @property
    def discriminator_head(self) -> nn.Module | None: ...

    @property
    def reserved_ids(self) -> torch.Tensor: ...

    def embed(
        self,
        input_ids: torch.Tensor,
        side_features: dict[str, torch.Tensor],
        mask_positions: torch.Tensor | None = None,
    ) -> torch.Tensor: ...

    def _sampling_rng(self, device: torch.device) -> torch.Generator: ...


# The step's glue (the seeded draw, boolean selections) runs eagerly under torch.compile, which still
# compiles the networks it calls: the draw's torch.Generator, keyed per draw for exact resume, cannot
# be traced, and compiling it crashed.
@torch.compiler.disable(recursive=False)
def rtd_training_step(
    model: ElectraParts,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
    mask_positions: torch.Tensor | None,
    candidates: torch.Tensor | None,
    side_features: dict[str, torch.Tensor],
    unmasked_side_features: dict[str, torch.Tensor] | None,
) -> SeqRecOutput:
    """ELECTRA's step on an ``rtd`` training batch: masked-LM loss, replacements, discriminator loss.

    The discriminator reads the corrupted items with every position's *original* side features
    (``unmasked_side_features``), the hidden ones included: side features describe the interaction
    (when, in which context), are drawn independently of which positions were masked, and so mark
    nothing, whereas the pad value the generator saw at hidden positions would tell the discriminator
    exactly where to look. (An item-derived feature, e.g. a genre, may then disagree with a
    replacement: that is the same evidence an out-of-place item gives.) Context features
    (``config.context_side_features``, the user's attributes) are never hidden nor replaced: the
    generator and the discriminator read the same values of them.

    Raises:
        ValueError: side features configured but no ``unmasked_side_features`` in the batch.
    """
    config = model.config
    if config.side_features and unmasked_side_features is None:
        raise ValueError(
            "rtd training with side features needs the batch's unmasked_side_features (ReplacementCollator "
            "emits them): with the hidden positions' padded side features the discriminator would find "
            "every masked position by its side features alone"
        )
    masked = model.embed(input_ids, side_features, mask_positions)  # (B, L, D)
    where, targets = target_selection(labels, shift=False)
    # The masked passes are read at the targets only: their last layer may compute just those.
    scored = {QUERY_MASK: where} if getattr(config, "last_layer_at_scored_positions", False) else {}
    main_hidden = hidden_states(model.backbone, inputs_embeds=masked, attention_mask=attention_mask, **scored)
    main_logits = item_logits(model.backbone, main_hidden[where])  # (T, V)
    smoothing = getattr(config, "label_smoothing", 0.0)
    generator_loss = cross_entropy_or_zero(main_logits, targets, smoothing)
    if model.generator is None:
        generator_logits = main_logits
    else:  # a separate generator; the main network's masked-LM loss above still teaches it to score items
        generator_hidden = hidden_states(model.generator, input_ids=input_ids, attention_mask=attention_mask, **scored)
        generator_logits = item_logits(model.generator, generator_hidden[where])  # (T, V)
        generator_loss = generator_loss + cross_entropy_or_zero(generator_logits, targets, smoothing)

    replacements = sample_replacements(
        generator_logits,
        excluded_ids=model.reserved_ids,
        candidates=candidates,
        generator=model._sampling_rng(generator_logits.device),
    )  # (T,)
    corrupted = input_ids.clone()  # (B, L)
    corrupted[where] = replacements
    discriminator_labels = torch.zeros_like(input_ids, dtype=torch.float32)  # (B, L)
    discriminator_labels[where] = (replacements != targets).float()
    originals = unmasked_side_features or {}
    discriminator_side_features = {name: originals[name] for name in config.side_features}
    hidden = model.backbone.base_model(
        inputs_embeds=model.embed(corrupted, discriminator_side_features), attention_mask=attention_mask
    ).last_hidden_state  # (B, L, H)
    discriminator_head = cast(nn.Module, model.discriminator_head)  # built for scheme="rtd"
    discriminator_logits = discriminator_head(hidden)  # (B, L)
    real = attention_mask.bool()  # (B, L)
    if real.any():
        discriminator_loss = F.binary_cross_entropy_with_logits(
            discriminator_logits[real].float(), discriminator_labels[real]
        )
    else:
        discriminator_loss = discriminator_logits.sum() * 0.0
    loss = config.generator_loss_weight * generator_loss + config.discriminator_loss_weight * discriminator_loss
    return SeqRecOutput(
        loss=loss,
        logits=main_logits,
        generator_loss=generator_loss.detach(),
        discriminator_loss=discriminator_loss.detach(),
        discriminator_labels=discriminator_labels,
        discriminator_logits=discriminator_logits,
        corrupted_input_ids=corrupted,
    )
