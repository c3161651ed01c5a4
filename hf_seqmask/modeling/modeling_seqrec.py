"""The model: interaction embeddings + the learnable mask vector around an HF language model.

``SeqRecModel`` wraps an HF model of any family that takes ``inputs_embeds`` (GPT-2, BERT, XLNet,
ELECTRA, ...). It embeds the items with the HF model's own input embeddings, adds the optional
per-item side features, puts the learnable mask vector at ``mask_positions``, and calls the HF model.
It computes the loss itself, over target positions only, so a batch without any target gives a loss
of 0 rather than HF's NaN, and in eval/predict batches (which carry ``prediction_positions``) it
returns the scores of every item at each row's prediction position: ``logits`` of shape (B, V).

The family facts live in :mod:`.backbones`, the serving side in :mod:`.serving`, the saved state
(vocabulary, model card, Hub) in :mod:`.saving`, ELECTRA's step in :mod:`hf_seqmask._rtd` and the
sampled losses in :mod:`hf_seqmask.losses`.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import torch
from torch import nn
from transformers import PreTrainedModel

from .. import _rtd, _seeding, losses, spec
from ..chunked_softmax import chunked_cross_entropy
from ..collators import SequenceCollator
from ..data.feature_tables import FeatureSpec
from ..data.vocabulary import ItemVocabulary
from ..fused_cross_entropy import fused_cross_entropy
from ..mask_embedding import MaskEmbedding
from .backbones import (
    build_language_model,
    candidate_scores,
    has_item_head,
    head_input,
    hidden_states,
    item_decoder,
    item_logits,
    xlnet_inputs,
)
from .configuration import SeqRecConfig
from .embeddings import MultiHotEmbedding, combine, hide_item_keep_context, side_embedding_layers
from .key_dropout import use_key_dropout
from .last_layer import QUERY_MASK, use_last_layer_at_scored_positions
from .outputs import SeqRecOutput
from .saving import SeqRecSavingMixin
from .serving import SeqRecServingMixin


# (mypy: the mixin's from_pretrained takes PreTrainedModel's arguments as *args, **kwargs and passes them on)
class SeqRecModel(SeqRecSavingMixin, PreTrainedModel, SeqRecServingMixin):  # type: ignore[misc]
    """An HF language model trained for next-item prediction with one of the four masking schemes.

    Pass it to ``transformers.Trainer`` with the matching collator; ``forward`` names every key the
    collators emit. Side features arrive as keyword arguments named as in ``config.side_features``
    (the Trainer keeps dataset columns only if ``forward`` names them, so with side features set
    ``remove_unused_columns=False``).

    Replaced-token detection (``rtd``): the generator (the main network itself with
    ``tie_generator=True``, else a separate small masked LM) predicts the hidden items; replacements
    are drawn from its logits with Gumbel noise and no gradient, over the catalogue without reserved
    ids, or among ``replacement_candidates`` (the batch's targets, ``sample_from_batch``); the main
    network's body then reads the corrupted sequence and a discriminator head labels every real
    position original (0) / replaced (1). Loss = ``generator_loss_weight`` x masked-LM loss +
    ``discriminator_loss_weight`` x binary cross-entropy over real positions. With a separate
    generator, the masked-LM loss is the generator's plus the main network's. **Evaluation scores
    next items with the main network's masked-LM head** (the hidden last item, as for ``mlm``): the
    discriminator only says "original or replaced" and cannot rank a catalogue, while the main
    network's item head is trained by the masked-LM loss on a body sharpened by the detection task.

    Example:
        >>> from transformers import BertConfig
        >>> from hf_seqmask import MaskedCollator
        >>> backbone = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ...                       intermediate_size=32, max_position_embeddings=16)
        >>> model = SeqRecModel(SeqRecConfig(backbone_config=backbone, scheme="mlm"))
        >>> collator = MaskedCollator(vocab_size=30, mask_token_id=1, seed=0, mode="eval")
        >>> output = model(**collator([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}]))
        >>> tuple(output.logits.shape), bool(torch.isfinite(output.loss))
        ((2, 30), True)
    """

    config_class = SeqRecConfig
    base_model_prefix = "seqrec"
    main_input_name = "input_ids"
    # Side features arrive as **kwargs; this tells the Trainer not to pass its loss kwargs
    # (num_items_in_batch) and to average the per-batch mean losses over gradient accumulation.
    accepts_loss_kwargs = False
    # Delegated to the backbone's layers; refused for a family whose HF model has none (XLNet).
    supports_gradient_checkpointing = True

    def __init__(self, config: SeqRecConfig) -> None:
        super().__init__(config)
        if config.backbone_config is None:
            raise ValueError("SeqRecConfig.backbone_config is required (an HF model config)")
        self.backbone = build_language_model(config.backbone_config, config.scheme)
        item_table = cast(nn.Embedding, self.backbone.get_input_embeddings())
        item_table.sparse = bool(config.sparse_item_embeddings)  # its lookups then give sparse gradients
        width = int(item_table.embedding_dim)
        self.mask_embedding = MaskEmbedding(width)
        self.side_embeddings = side_embedding_layers(
            config.side_features, getattr(config, "multi_hot_side_features", ()), width
        )
        concat = config.side_feature_combiner == "concat" and config.side_features
        self.side_projection = nn.Linear(width * (1 + len(config.side_features)), width) if concat else None
        self.generator = None
        self.discriminator_head = None
        if config.scheme == "rtd":
            self.discriminator_head = _rtd.DiscriminatorHead(config.backbone_config.hidden_size)
            if not config.tie_generator:
                if config.generator_config is None:
                    raise ValueError("scheme='rtd' with tie_generator=False needs generator_config")
                self.generator = build_language_model(config.generator_config, "mlm")
        if config.attention_dropout_unit == "key":
            for lm in (self.backbone, self.generator):
                if lm is not None:
                    use_key_dropout(lm)
        if config.last_layer_at_scored_positions:
            for lm in (self.backbone, self.generator):
                if lm is not None:
                    use_last_layer_at_scored_positions(lm)
        # rtd: how many replacement draws this model has made; saved in checkpoints, so a resumed run
        # continues the draws of the uninterrupted one (each draw's generator is keyed by it).
        self.register_buffer("replacement_draws", torch.zeros((), dtype=torch.long), persistent=config.scheme == "rtd")
        self.vocabulary: ItemVocabulary | None = None
        self.feature_spec: FeatureSpec | None = None  # general side features' vocabularies, stats and tables
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (MaskEmbedding, MultiHotEmbedding)):
            module.reset_parameters()
        side_embeddings = getattr(self, "side_embeddings", None)
        if side_embeddings is not None and any(module is layer for layer in side_embeddings.values()):
            # At the item table's scale: torch's default N(0, 1) would drown the item embedding (0.02).
            std = getattr(self.config.backbone_config, "initializer_range", 0.02)
            nn.init.normal_(cast(torch.Tensor, module.weight), std=std)
            bias = getattr(module, "bias", None)
            if bias is not None:
                nn.init.zeros_(bias)
        if isinstance(module, SeqRecModel):
            cast(torch.Tensor, module.replacement_draws).zero_()

    def get_input_embeddings(self) -> nn.Module:
        """The item table: the backbone's input embeddings (tied to its item head)."""
        return self.backbone.get_input_embeddings()

    # ------------------------------------------------------------------------------------ helpers
    @property
    def reserved_ids(self) -> torch.Tensor:
        """The pad, mask and special ids (never recommended, never drawn), from the config. (Not a
        buffer: ``from_pretrained`` leaves non-persistent buffers uninitialised.)"""
        config = self.config
        return torch.tensor([config.pad_token_id, config.mask_token_id, *config.special_token_ids], dtype=torch.long)

    @property
    def is_xlnet(self) -> bool:
        return self.config.backbone_config.model_type == "xlnet"

    def embed(
        self,
        input_ids: torch.Tensor,
        side_features: dict[str, torch.Tensor],
        mask_positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Interaction embeddings (B, L, D): item (+ side features), mask vector at ``mask_positions``.

        The mask vector replaces the whole embedding at a hidden position, unless the config names
        ``context_side_features``: then it stands in for the item and the item's own features only,
        and the context features' embeddings are combined with it as at any other position."""
        embeddings = self.backbone.get_input_embeddings()(input_ids)  # (B, L, D)
        parts: dict[str, torch.Tensor] = {}
        for name, layer in self.side_embeddings.items():
            values = side_features[name]
            if isinstance(layer, (nn.Embedding, MultiHotEmbedding)):
                parts[name] = layer(values.long())  # (B, L, D)
            else:
                parts[name] = layer(values.to(embeddings.dtype)[..., None])  # (B, L, D)
        context = set(getattr(self.config, "context_side_features", ()))
        if context and mask_positions is not None:
            embeddings, kept = hide_item_keep_context(embeddings, parts, context, mask_positions, self.mask_embedding)
            return combine(embeddings, kept, self.side_projection)
        embeddings = combine(embeddings, list(parts.values()), self.side_projection)
        if mask_positions is not None:
            embeddings = self.mask_embedding(embeddings, mask_positions)
        return embeddings

    @torch.compiler.disable  # a Python-side draw counter and torch.Generator: never traced
    def _sampling_rng(self, device: torch.device) -> torch.Generator:
        """The generator of this forward's replacement draw, keyed by ``(seed, rank, draw count)``."""
        draws = cast(torch.Tensor, self.replacement_draws)
        draw = int(draws)
        draws += 1
        generator = torch.Generator(device=device)
        generator.manual_seed(_seeding.derive_seed(self.config.seed, _seeding.current_rank(), draw))
        return generator

    # ----------------------------------------------------------------------- the spec, saved state
    def data_collator(self, mode: str = "train", **overrides: Any) -> SequenceCollator:
        """The collator that fits this model, built from its config (scheme, reserved ids,
        ``max_seq_length``, side features, ``masking``); ``overrides``: per-run options (``seed``,
        ``item_frequencies``, ...). See :func:`hf_seqmask.spec.collator_from_config`."""
        return spec.collator_from_config(self.config, mode, **overrides)

    # ------------------------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mask_positions: torch.Tensor | None = None,
        prediction_positions: torch.Tensor | None = None,
        perm_mask: torch.Tensor | None = None,
        target_mapping: torch.Tensor | None = None,
        perm_order: torch.Tensor | None = None,
        replacement_candidates: torch.Tensor | None = None,
        negative_ids: torch.Tensor | None = None,
        negative_log_q: torch.Tensor | None = None,
        target_log_q: torch.Tensor | None = None,
        unmasked_side_features: dict[str, torch.Tensor] | None = None,
        seen_ids: torch.Tensor | None = None,
        **side_features: torch.Tensor,
    ) -> SeqRecOutput:
        """Run the model on a collator's batch (all keys by name; side features by their names).

        The batch must fit the model's masking spec (:func:`hf_seqmask.spec.check_batch`): a batch of
        another scheme, other reserved ids or a wider one is refused with both sides named.
        ``unmasked_side_features`` (``rtd`` training) are the side features before hiding, which the
        discriminator reads (see :func:`hf_seqmask._rtd.rtd_training_step`)."""
        config = cast(SeqRecConfig, self.config)
        attention_mask, mask_positions = _checked_batch(
            config, input_ids, attention_mask, labels, mask_positions, prediction_positions, perm_mask, perm_order,
            side_features,
        )  # fmt: skip
        permutation = self._permutation_inputs(input_ids, attention_mask, perm_mask, target_mapping, perm_order)
        # Causal LMs read the next item one position earlier, unless XLNet's query stream predicts at t.
        shift = config.scheme == "clm" and not permutation
        if config.scheme == "rtd" and labels is not None and prediction_positions is None:
            return _rtd.rtd_training_step(
                self, input_ids, attention_mask, labels, mask_positions, replacement_candidates, side_features,
                unmasked_side_features,
            )  # fmt: skip

        embeddings = self.embed(input_ids, side_features, mask_positions)  # (B, L, D)
        scored: dict[str, torch.Tensor] = {}
        # The last layer then computes these positions only (traced, it runs whole: shapes cannot follow a count).
        if config.last_layer_at_scored_positions and not torch.compiler.is_compiling():
            scored[QUERY_MASK] = _scored_positions(labels, prediction_positions, input_ids.shape, input_ids.device)
        hidden = hidden_states(
            self.backbone, inputs_embeds=embeddings, attention_mask=attention_mask, **permutation, **scored
        )
        loss, logits = None, None
        if labels is not None:
            loss, logits = self._training_loss(
                hidden, labels, shift=shift, sampled=config.loss != "full" and prediction_positions is None,
                negative_ids=negative_ids, negative_log_q=negative_log_q, target_log_q=target_log_q,
            )  # fmt: skip
        prediction_hidden = None
        if prediction_positions is not None:
            logits, prediction_hidden = _read_predictions(
                self.backbone, hidden, prediction_positions, chunked=self.ranks_in_chunks
            )
        return SeqRecOutput(
            loss=loss,
            logits=logits,
            prediction_hidden=prediction_hidden,
            seen_ids=seen_ids if prediction_positions is not None else None,
        )

    def _permutation_inputs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        perm_mask: torch.Tensor | None,
        target_mapping: torch.Tensor | None,
        perm_order: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """XLNet's permutation inputs (``{}`` for other families and batches without a permutation)."""
        if not self.is_xlnet:
            return {}
        batch_size, width = input_ids.shape
        inputs = xlnet_inputs(
            batch_size,
            width,
            attention_mask,
            perm_mask,
            target_mapping,
            perm_order,
            device=self.device,
            dtype=self.dtype,
        )
        if self.config.scheme == "clm" and not inputs and self.backbone.config.attn_type != "uni":
            raise ValueError(
                "XLNet is bidirectional (attn_type='bi'): causal training needs the collator's "
                "causal_perm_mask=True (or an XLNet config with attn_type='uni'), else position t sees t + 1"
            )
        return inputs

    def _training_loss(
        self,
        hidden: torch.Tensor,
        labels: torch.Tensor,
        *,
        shift: bool,
        sampled: bool,
        negative_ids: torch.Tensor | None,
        negative_log_q: torch.Tensor | None,
        target_log_q: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(loss, logits)`` over the target positions of ``hidden`` (B, L, H): the configured sampled
        loss (``sampled``), the fused or chunked full softmax (no logits), or the full softmax with its
        (T, V) logits."""
        config = self.config
        traced = torch.compiler.is_compiling()
        if traced and not sampled and not config.softmax_chunk_size and not _dynamic_targets_traced():
            # Traced in static shapes: every position's logits (no graph break); the same mean loss.
            logits = item_logits(self.backbone, hidden)  # (B, L, V)
            smoothing = config.label_smoothing
            return losses.masked_cross_entropy(logits, labels, shift=shift, label_smoothing=smoothing), None
        where, targets = losses.target_selection(labels, shift=shift)  # (B, L), (T,)
        if sampled:
            return losses.sampled_loss(
                hidden[where],
                targets,
                functools.partial(candidate_scores, self.backbone, sparse=config.sparse_item_embeddings),
                loss=config.loss,
                negative_ids=negative_ids,
                negative_log_q=negative_log_q,
                target_log_q=target_log_q,
                in_batch_negatives=config.in_batch_negatives,
                logq_correction=config.logq_correction,
                gbce_t=config.gbce_t,
                num_items=self.backbone.config.vocab_size - int(self.reserved_ids.numel()),
            )
        fused = config.fused_loss  # (a custom op: traced whole, as one call, under dynamic targets)
        if (fused or config.softmax_chunk_size) and has_item_head(self.backbone):
            decoder = item_decoder(self.backbone)
            z = head_input(self.backbone, hidden[where])  # (T, H): the (T, V) logits are never built whole
            if fused:  # SeqRecConfig refuses fused_loss together with softmax_chunk_size
                loss = fused_cross_entropy(
                    z, decoder.weight, decoder.bias, targets, label_smoothing=config.label_smoothing
                )
            else:
                loss = chunked_cross_entropy(
                    z, decoder.weight, decoder.bias, targets, chunk_size=config.softmax_chunk_size
                )
            return loss, None
        logits = item_logits(self.backbone, hidden[where])  # (T, V)
        if traced:  # T is symbolic (dynamic targets traced): no branch on it
            return losses.traced_cross_entropy(logits, targets, config.label_smoothing), logits
        return losses.cross_entropy_or_zero(logits, targets, config.label_smoothing), logits


def _scored_positions(
    labels: torch.Tensor | None,
    prediction_positions: torch.Tensor | None,
    shape: torch.Size,
    device: torch.device,
) -> torch.Tensor:
    """The (B, L) bool mask of the positions a masked LM's forward reads: its targets (``labels``) and
    each row's prediction position (-1: none)."""
    scored = torch.zeros(shape, dtype=torch.bool, device=device)
    if labels is not None:
        scored |= losses.target_selection(labels.to(device), shift=False)[0]
    if prediction_positions is not None:
        positions = prediction_positions.to(device)
        rows = torch.arange(shape[0], device=device)[positions >= 0]
        scored[rows, positions[positions >= 0]] = True
    return scored


def _dynamic_targets_traced() -> bool:
    """Whether dynamo traces data-dependent shapes (``hidden[where]`` with T symbolic): then a traced
    training forward scores the T targets only, as eager does, instead of every position. Off by
    default in torch; the main job's ``--torch_compile`` turns it on (docs/train_step.md: the masked
    schemes score ~20% of their positions, so static shapes cost them about five times the head)."""
    return bool(torch._dynamo.config.capture_dynamic_output_shape_ops)


def _checked_batch(
    config: SeqRecConfig,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    labels: torch.Tensor | None,
    mask_positions: torch.Tensor | None,
    prediction_positions: torch.Tensor | None,
    perm_mask: torch.Tensor | None,
    perm_order: torch.Tensor | None,
    side_features: dict[str, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(attention_mask, mask_positions)``, derived when absent, once the batch fits ``config``'s spec."""
    unknown = set(side_features) - set(config.side_features)
    if unknown:
        raise TypeError(
            f"forward() got unexpected inputs {sorted(unknown)}; configured side features: "
            f"{sorted(config.side_features)}"
        )
    missing = set(config.side_features) - set(side_features)
    if missing:
        raise ValueError(f"side features {sorted(missing)} are configured but missing from the batch")
    if attention_mask is None:
        attention_mask = (input_ids != config.pad_token_id).long()  # (B, L)
    if mask_positions is None:
        mask_positions = input_ids == config.mask_token_id  # (B, L)
    if torch.compiler.is_compiling():
        # Under torch.compile / torch.export the batch's values are symbolic: the value checks below
        # would break the graph (or stop export). They run in eager mode, where a wrong batch is met.
        return attention_mask, mask_positions
    spec.check_batch(
        config,
        input_ids,
        attention_mask,
        labels,
        mask_positions,
        prediction_positions,
        has_permutation=perm_mask is not None or perm_order is not None,
        perm_order=perm_order,
        max_positions=config.max_positions,
    )
    return attention_mask, mask_positions


def _read_predictions(
    lm: PreTrainedModel, hidden: torch.Tensor, prediction_positions: torch.Tensor, *, chunked: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(logits (B, V), None)`` of ``lm``'s item head at each row's prediction position, or, ``chunked``,
    ``(None, prediction_hidden (B, H))``, the head's input; rows without a prediction (position -1) get zeros."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)  # (B,)
    positions = prediction_positions.to(hidden.device)  # (B,)
    at_prediction = hidden[rows, positions.clamp_min(0)]  # (B, H)
    if chunked:  # (B, V) never built: see chunked_ranking
        return None, head_input(lm, at_prediction).masked_fill((positions < 0)[:, None], 0.0)
    logits = item_logits(lm, at_prediction)  # (B, V)
    return logits.masked_fill((positions < 0)[:, None], 0.0), None
