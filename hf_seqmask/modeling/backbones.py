"""What each backbone family brings: its item head, its body's output, its position limit, and
XLNet's permutation inputs.

The known families (BERT, ELECTRA, GPT-2, XLNet) are read through their body (``base_model``) and
their item head, applied to selected positions only; any other family that takes ``inputs_embeds``
works through its full logits (B, L, V).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, PretrainedConfig, PreTrainedModel

from .. import _masking

# The item head of each family as (transform, decoder): scores = decoder(transform(hidden)), applied
# to selected hidden states only (never to all B x L positions); the decoder's rows score candidates.
_ITEM_HEADS = {
    "bert": (lambda lm: lm.cls.predictions.transform, lambda lm: lm.cls.predictions.decoder),
    "electra": (lambda lm: lm.generator_predictions, lambda lm: lm.generator_lm_head),
    "gpt2": (None, lambda lm: lm.lm_head),
    "xlnet": (None, lambda lm: lm.lm_loss),
}


def has_item_head(lm: PreTrainedModel) -> bool:
    """Whether ``lm``'s family is one whose item head we know (scored on selected positions only)."""
    return lm.config.model_type in _ITEM_HEADS


def item_decoder(lm: PreTrainedModel) -> Any:
    """The item head's last layer of a known family: its ``weight`` (V, H) rows score the items."""
    return _ITEM_HEADS[lm.config.model_type][1](lm)


def max_positions(config: PretrainedConfig | None) -> int | None:
    """The backbone's position table size (``None``: relative positions, as XLNet's)."""
    positions = getattr(config, "max_position_embeddings", None)
    return positions if isinstance(positions, int) and positions > 0 else None


def hidden_states(lm: PreTrainedModel, **inputs: Any) -> torch.Tensor:
    """The body's output (B, L, H) of a known family; for any other family its full logits (B, L, V)."""
    if has_item_head(lm):
        return lm.base_model(**inputs).last_hidden_state
    return lm(**inputs).logits


def head_input(lm: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
    """The item decoder's input from selected hidden states (..., H): the family's transform, if any."""
    transform, _ = _ITEM_HEADS[lm.config.model_type]
    return transform(lm)(hidden) if transform is not None else hidden


def item_logits(lm: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
    """Item scores (..., V) from selected outputs of :func:`hidden_states`."""
    if not has_item_head(lm):
        return hidden
    return item_decoder(lm)(head_input(lm, hidden))


def candidate_scores(
    lm: PreTrainedModel,
    hidden: torch.Tensor,
    positive_ids: torch.Tensor,
    negative_ids: torch.Tensor,
    *,
    sparse: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of each target (T,) and of its negatives (T, N) -- a shared pool (N,) or per target
    (T, N) -- from the hidden states (T, H) and the rows of the item decoder: O(T x N), not O(T x V).
    ``sparse``: the rows are gathered as an embedding lookup with a sparse gradient."""
    if not has_item_head(lm):
        raise ValueError(f"sampled losses need the item head of a known family {sorted(_ITEM_HEADS)}")
    decoder = item_decoder(lm)
    z = head_input(lm, hidden)  # (T, H)
    weight, bias = decoder.weight, decoder.bias

    def rows(ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, weight, sparse=True) if sparse else weight[ids]

    positive = (z * rows(positive_ids)).sum(-1)  # (T,)
    negative = (
        z @ rows(negative_ids).T  # (T, N) a shared pool
        if negative_ids.ndim == 1
        else torch.einsum("th,tnh->tn", z, rows(negative_ids))  # (T, N) per target
    )
    if bias is not None:
        positive, negative = positive + bias[positive_ids], negative + bias[negative_ids]
    return positive, negative


def build_language_model(config: PretrainedConfig, scheme: str) -> PreTrainedModel:
    """The HF model with the head ``scheme`` trains: XLNet's LM head, else causal LM or masked LM."""
    if config.model_type == "xlnet":
        from transformers import XLNetLMHeadModel

        return XLNetLMHeadModel(cast(Any, config))
    factory = AutoModelForCausalLM if scheme == "clm" else AutoModelForMaskedLM
    try:
        return factory.from_config(config)
    except ValueError as error:
        head = "causal LM" if scheme == "clm" else "masked LM"
        raise ValueError(
            f"scheme={scheme!r} needs a {head} head, which {config.model_type!r} has not: {error}"
        ) from None


def check_gradient_checkpointing(model: Any) -> None:
    """Refuse gradient checkpointing for a model whose backbone (or separate generator) is of a family
    whose HF model does not support it (``supports_gradient_checkpointing``: GPT-2, BERT and ELECTRA
    do; XLNet does not), naming the family and the reason."""
    for role in ("backbone", "generator"):
        lm = getattr(model, role, None)
        if lm is not None and not lm.supports_gradient_checkpointing:
            raise ValueError(
                f"gradient checkpointing is not available for the {lm.config.model_type} {role}: transformers' "
                f"{type(lm).__name__} does not support it (supports_gradient_checkpointing=False); train it "
                "without gradient_checkpointing (GPT-2, BERT and ELECTRA backbones support it)"
            )


def xlnet_inputs(
    batch_size: int,
    width: int,
    attention_mask: torch.Tensor,
    perm_mask: torch.Tensor | None,
    target_mapping: torch.Tensor | None,
    perm_order: torch.Tensor | None,
    *,
    device: torch.device,
    dtype: torch.dtype,
) -> dict[str, torch.Tensor]:
    """XLNet's permutation inputs for a (``batch_size``, ``width``) batch on ``device`` in ``dtype``.

    The collator's compact ``perm_order`` (B, L) is expanded here to ``perm_mask`` (B, L, L) and an
    identity ``target_mapping`` (B, L, L); ``{}`` when the batch has no permutation."""
    if perm_order is not None:
        perm_mask = _masking.expand_perm_order(perm_order.to(device), attention_mask, dtype=dtype)  # (B, L, L)
        target_mapping = _masking.identity_target_mapping(batch_size, width, dtype=dtype).to(device)  # (B, L, L)
    if perm_mask is None:
        return {}
    inputs = {"perm_mask": perm_mask.to(device=device, dtype=dtype)}
    if target_mapping is not None:
        inputs["target_mapping"] = target_mapping.to(device=device, dtype=dtype)
    return inputs
