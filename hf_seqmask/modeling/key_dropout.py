"""Attention dropout per key: SDPA's fused kernel kept while training with attention dropout.

HF's attention dropout drops each attention weight: a (B, heads, L, L) Bernoulli mask per layer and
step. On a CPU, SDPA has no fused kernel with dropout, so any attention dropout sends it to its math
path, which builds the (L, L) weights, the mask and their gradients (docs/train_step.md: 20-30% of
the ML-1M step). Dropping whole keys instead -- key ``j`` of head ``h`` dropped for every query --
needs a (B, heads, L, 1) mask only, and is the same as dropping the key's value vector:

    sum_j softmax(s)_ij * m_j * v_j / (1 - p)  ==  softmax(s) @ (m * v / (1 - p))

so SDPA runs its fused kernel, without dropout, on the masked values. In expectation it is HF's
attention dropout (each weight kept with probability ``1 - p``, scaled by ``1 / (1 - p)``); the masks
are shared by the queries of a row and head, a coarser noise whose effect on quality is measured in
docs/train_step.md. Outside training (HF passes ``dropout=0``) it *is* SDPA.

Registered with transformers' ``AttentionInterface`` (and SDPA's mask builder under the same name, so
padding and causal masks are built as for ``"sdpa"``) as :data:`KEY_DROPOUT_ATTENTION`;
``SeqRecConfig(attention_dropout_unit="key")`` selects it for the families that use that interface.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

KEY_DROPOUT_ATTENTION = "hf_seqmask_key_dropout_sdpa"
ATTENTION_DROPOUT_UNITS = ("weight", "key")  # HF's own (each attention weight), or each key per head


def key_dropout_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """SDPA with attention dropout applied per key (the key's value vector, per head; see the module).

    ``value`` is (B, heads, L, head width); ``dropout`` is the rate HF passes (0 outside training).

    Example:
        >>> import torch
        >>> q = k = v = torch.randn(1, 2, 3, 4, generator=torch.Generator().manual_seed(0))
        >>> module = torch.nn.Module()
        >>> out, _ = key_dropout_sdpa_attention(module, q, k, v, None, dropout=0.0, is_causal=True)
        >>> reference = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        >>> torch.allclose(out.transpose(1, 2), reference)
        True
    """
    if dropout > 0.0:
        # (B, heads, L, 1): 0 or 1 / (1 - p), in float32 (a bf16 1 / 0.9 is 1.1094: a 0.16% bias)
        keep = F.dropout(value.new_ones(*value.shape[:-1], 1, dtype=torch.float32), p=dropout)
        value = (value * keep).to(value.dtype)
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=0.0, **kwargs)


AttentionInterface.register(KEY_DROPOUT_ATTENTION, key_dropout_sdpa_attention)
AttentionMaskInterface.register(KEY_DROPOUT_ATTENTION, sdpa_mask)


def use_key_dropout(lm: Any) -> None:
    """Make ``lm`` (an HF model of a family on transformers' attention interface) drop attention per key.
    Raises ``ValueError`` naming the family for one with its own attention code (XLNet)."""
    if not getattr(lm, "_supports_attention_backend", False):
        raise ValueError(
            f"attention_dropout_unit='key' needs a backbone on transformers' attention interface (GPT-2, BERT, "
            f"ELECTRA); the {lm.config.model_type} model computes its own attention (use 'weight')"
        )
    lm.set_attn_implementation(KEY_DROPOUT_ATTENTION)
    if lm.config._attn_implementation != KEY_DROPOUT_ATTENTION:  # HF only warns where it cannot switch
        raise RuntimeError(
            f"attention_dropout_unit='key': transformers did not switch the {lm.config.model_type} model to "
            f"{KEY_DROPOUT_ATTENTION!r} (it runs {lm.config._attn_implementation!r}); use 'weight'"
        )
