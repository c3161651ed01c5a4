"""The last encoder layer computed at the scored positions only (BERT and ELECTRA bodies, masked LM).

A masked LM's loss reads the body's output at its masked positions (~15-20% of a batch's) and
evaluation reads one position per row; the *last* layer's output everywhere else is computed and
thrown away. That layer still needs its keys and values at every position (the scored positions
attend to them), but not its queries, attention output, residual, layer norms or feed-forward block:
:func:`use_last_layer_at_scored_positions` has the last layer compute those at the positions of the
boolean mask passed as the keyword ``QUERY_MASK`` only, and leave every other position at the
layer's input (a value nothing reads). Without the keyword (or under torch.compile / torch.export,
whose shapes cannot depend on a count of targets) the layer runs whole. Its attention weights are not
returned (``output_attentions``) when it computes the scored positions only.

It is exact: at the scored positions the output is the full layer's (the same operations on the same
rows; ``tests/modeling/test_last_layer.py``), and in training every dropout mask that reaches the loss
is drawn from the same distribution as the full layer's (only the random stream differs, so a seeded
run is not the full layer's run draw for draw). docs/train_step.md measures the step it saves.

Example:
    >>> import torch
    >>> from transformers import BertConfig, BertModel
    >>> torch.manual_seed(0) and None  # the model's initial weights (HF draws them from the global generator)
    >>> body = BertModel(BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    ...                             intermediate_size=32, vocab_size=10, max_position_embeddings=8)).eval()
    >>> x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))
    >>> full = body(inputs_embeds=x).last_hidden_state
    >>> use_last_layer_at_scored_positions(body)
    >>> scored = torch.tensor([[False, True, False, False, True], [True, False, False, False, False]])
    >>> pruned = body(inputs_embeds=x, **{QUERY_MASK: scored}).last_hidden_state
    >>> torch.allclose(pruned[scored], full[scored], atol=1e-6)
    True
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.bert import modeling_bert
from transformers.models.electra import modeling_electra

from .key_dropout import KEY_DROPOUT_ATTENTION

QUERY_MASK = "hf_seqmask_query_mask"  # the keyword HF's body passes down to its layers untouched
FAMILIES = ("bert", "electra")  # bodies whose layers are BERT's: attention.self/.output, feed_forward_chunk
# Attention functions that take a 4-D (or no) mask, whose rows can be gathered for the scored queries.
ATTENTIONS = ("eager", "sdpa", KEY_DROPOUT_ATTENTION)


class _ScoredPositionsForward:
    """The last layer's forward with a ``QUERY_MASK`` (B, L) keyword: outputs at those positions, the
    input elsewhere; without it (or traced) the layer's own forward."""

    def forward(self, hidden_states: torch.Tensor, attention_mask: Any = None, *args: Any, **kwargs: Any) -> Any:
        query_mask = kwargs.pop(QUERY_MASK, None)
        if query_mask is None or torch.compiler.is_compiling():
            return super().forward(hidden_states, attention_mask, *args, **kwargs)  # type: ignore[misc]
        return _layer_at(self, hidden_states, attention_mask, query_mask.to(hidden_states.device, torch.bool))


# Module-level classes (a pickled or deep-copied model keeps them); transformers wraps a layer subclass's
# forward for gradient checkpointing as it wraps the layer's own.
class ScoredPositionsBertLayer(_ScoredPositionsForward, modeling_bert.BertLayer):
    """A ``BertLayer`` that computes the positions of a ``QUERY_MASK`` keyword only (see the module)."""


class ScoredPositionsElectraLayer(_ScoredPositionsForward, modeling_electra.ElectraLayer):
    """An ``ElectraLayer`` that computes the positions of a ``QUERY_MASK`` keyword only (see the module)."""


_SCORED_LAYERS = {
    modeling_bert.BertLayer: ScoredPositionsBertLayer,
    modeling_electra.ElectraLayer: ScoredPositionsElectraLayer,
}


def use_last_layer_at_scored_positions(body: Any) -> None:
    """Make ``body``'s (a BERT or ELECTRA model, or its LM) last encoder layer compute its outputs at the
    positions of a ``QUERY_MASK`` keyword only. Its parameters and saved state are unchanged."""
    config = body.config
    if config.model_type not in FAMILIES or getattr(config, "is_decoder", False):
        raise ValueError(
            f"last_layer_at_scored_positions=True needs a BERT or ELECTRA encoder (not a decoder), got "
            f"{config.model_type!r}{' with is_decoder=True' if getattr(config, 'is_decoder', False) else ''}"
        )
    layer = body.base_model.encoder.layer[-1]
    if type(layer) in _SCORED_LAYERS.values():
        return
    if type(layer) not in _SCORED_LAYERS:
        raise ValueError(f"last_layer_at_scored_positions=True: unknown {config.model_type} layer {type(layer)}")
    layer.__class__ = _SCORED_LAYERS[type(layer)]


def _layer_at(layer: Any, hidden: torch.Tensor, attention_mask: Any, query_mask: torch.Tensor) -> torch.Tensor:
    """``layer`` (a BertLayer or ElectraLayer) at the positions of ``query_mask`` (B, L); (B, L, H) with
    the input ``hidden`` at every other position."""
    attention = layer.attention.self
    implementation = attention.config._attn_implementation
    if implementation not in ATTENTIONS or not (attention_mask is None or _is_4d(attention_mask)):
        raise ValueError(
            f"last_layer_at_scored_positions=True needs one of the attention functions {ATTENTIONS} (a 4-D mask "
            f"whose rows it can select), got attn_implementation={implementation!r}"
        )
    batch, length, width = hidden.shape
    counts = query_mask.sum(1)  # (B,)
    # At least one slot: with no target at all the layer runs on 0 rows, its parameters still in the graph
    # (as the full layer's would be; DDP expects every parameter to get a gradient).
    queries = max(int(counts.max()) if batch else 0, 1)
    # Each row's scored positions first, in ascending order (a stable sort), padded to the widest row.
    positions = torch.argsort((~query_mask).to(torch.int8), dim=1, stable=True)[:, :queries]  # (B, Q)
    valid = torch.arange(queries, device=hidden.device)[None, :] < counts[:, None]  # (B, Q)
    at_queries = hidden.gather(1, positions[..., None].expand(-1, -1, width))  # (B, Q, H)
    heads, head_width = attention.num_attention_heads, attention.attention_head_size

    def split(x: torch.Tensor) -> torch.Tensor:  # (B, N, H) -> (B, heads, N, head width)
        return x.view(batch, x.shape[1], heads, head_width).transpose(1, 2)

    query = split(attention.query(at_queries))
    key, value = split(attention.key(hidden)), split(attention.value(hidden))
    if attention_mask is not None:  # the mask's rows of the query positions: (B, 1 or heads, Q, L)
        mask = attention_mask.expand(batch, attention_mask.shape[1], length, length)
        attention_mask = mask.gather(2, positions[:, None, :, None].expand(-1, mask.shape[1], -1, length))
    # The attention function the layer itself would call: a registered one, else its module's eager one.
    family = modeling_electra if isinstance(layer, modeling_electra.ElectraLayer) else modeling_bert
    eager = family.eager_attention_forward
    lookup = getattr(ALL_ATTENTION_FUNCTIONS, "get_interface", None)  # transformers >= 5.x (validates the name)
    interface = lookup(implementation, eager) if lookup else ALL_ATTENTION_FUNCTIONS.get(implementation, eager)
    dropout = attention.dropout.p if attention.training else 0.0
    output, _ = interface(attention, query, key, value, attention_mask, dropout=dropout, scaling=attention.scaling)
    output = output.reshape(batch, queries, heads * head_width)[valid]  # (T, H): row-major, as query_mask
    output = layer.attention.output(output, at_queries[valid])
    output = layer.feed_forward_chunk(output)
    return hidden.masked_scatter(query_mask[..., None], output.to(hidden.dtype))


def _is_4d(mask: Any) -> bool:
    return isinstance(mask, torch.Tensor) and mask.dim() == 4
