"""The model side: interaction embeddings + the learnable mask vector around an HF language model.

``SeqRecModel`` wraps an HF model of any family that takes ``inputs_embeds`` (GPT-2, BERT, XLNet,
ELECTRA, ...). It embeds the items with the HF model's own input embeddings, adds the optional
per-item side features, puts the learnable mask vector at ``mask_positions``, and calls the HF model.
It computes the loss itself, over target positions only, so a batch without any target gives a loss
of 0 rather than HF's NaN, and in eval/predict batches (which carry ``prediction_positions``) it
returns the scores of every item at each row's prediction position: ``logits`` of shape (B, V).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, PretrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

from . import _device, _masking, _rtd, _seeding, losses, spec
from .chunked_ranking import chunked_ranking
from .chunked_softmax import chunked_cross_entropy
from .collators import SequenceCollator
from .data.vocabulary import VOCABULARY_FILE, ItemVocabulary
from .mask_embedding import MaskEmbedding
from .metrics import exclusion_mask, top_k_scored
from .reserved import IGNORE_INDEX, MASK_TOKEN_ID, PAD_TOKEN_ID

SCHEME_NAMES = ("clm", "mlm", "plm", "rtd")
SIDE_COMBINERS = ("sum", "concat")


class SeqRecConfig(PretrainedConfig):
    """Configuration of :class:`SeqRecModel`.

    Args:
        backbone_config: the HF model's config (an instance or its ``to_dict()``), e.g. a tiny
            ``GPT2Config``; its vocabulary must cover the item ids and the pad and mask ids.
        scheme: ``"clm"``, ``"mlm"``, ``"plm"`` or ``"rtd"``; picks the HF head (causal LM for ``clm``
            except on XLNet, masked LM otherwise, ``XLNetLMHeadModel`` for XLNet).
        side_features: per-item side features, name -> cardinality (an ``nn.Embedding`` of that size)
            or 0 for a real-valued feature (a ``nn.Linear(1, width)``).
        side_feature_combiner: ``"sum"`` (added to the item embedding) or ``"concat"`` (concatenated,
            then projected back to the input width).
        multi_hot_side_features: names of ``side_features`` that hold a set of values per item (a
            movie's genres) as a bitmask (bit ``j`` set: value ``j``; cardinality <= 63). Embedded as
            the mean of the set values' embeddings (``EmbeddingBag(mode="mean")``): the set's size
            does not scale the vector, and an empty set (0, the collators' value at padding and hidden
            positions) gives zeros, so hiding works as for any other feature. (One value per position
            keeps the collators' contract; a padded list per position would not.)
        pad_token_id, mask_token_id, special_token_ids: the reserved ids, never drawn as replacements.
        max_seq_length: the widest batch the model takes: its collators' ``max_length`` (each row keeps
            its ``max_seq_length`` most recent items; predict mode ``max_seq_length - 1`` plus the slot,
            so predictions are read where training put targets); ``None``: no limit but the backbone's
            position table. (Not ``max_length``: HF reserves that name for generation.)
        masking: the scheme's collator options (``mlm_probability``, ``max_span_length``,
            ``num_negatives``, ``side_feature_pad_value``, ...; see the collator of ``scheme``).
            With the fields above this is the model's masking spec: ``model.data_collator(mode=...)``
            builds the collator from it, it is saved with the model, and ``forward`` refuses batches
            that do not fit it.
        tie_generator: ``rtd`` only: the main network is its own generator (Transformers4Rec's default);
            ``False`` trains a separate small generator built from ``generator_config``.
        generator_config: ``rtd`` with ``tie_generator=False``: the generator's (masked LM) config.
        generator_loss_weight, discriminator_loss_weight: ``rtd`` loss weights (ELECTRA: 1 and 50).
        seed: seeds the model-side draws (ELECTRA's replacements), per rank.
        loss: the training loss: ``"full"`` (cross-entropy over every item), ``"sampled_softmax"``
            (over the target and its negatives, logQ-corrected unless ``logq_correction=False``,
            accidental hits removed), ``"bce"`` or ``"gbce"`` (gSASRec's calibrated BCE, ``gbce_t``).
            The sampled ones use the collator's ``negative_ids`` or, with ``in_batch_negatives=True``,
            the batch's other targets; evaluation always ranks every item.
        softmax_chunk_size: ``loss="full"`` without the (targets x items) logits: the cross-entropy
            walks the catalogue this many items at a time (:mod:`hf_seqmask.chunked_softmax`; same loss
            and gradients, memory T x chunk instead of T x V; training outputs then carry no logits).
            Not used by ``rtd`` training, whose generator samples from the full logits. Evaluation and
            ``recommend`` rank in chunks too, with a running top-k (:mod:`hf_seqmask.chunked_ranking`):
            eval/predict outputs carry ``prediction_hidden`` (B, H) instead of (B, V) logits.
        sparse_item_embeddings: with a sampled loss, the item table (input embeddings, tied to the item
            head) gets sparse gradients: a step touches the batch's items and negatives only. Train with
            :class:`hf_seqmask.optim.SparseDenseAdam` (``SeqRecTrainer`` picks it by itself).
    """

    model_type = "hf_seqmask"
    sub_configs: ClassVar[dict] = {"backbone_config": AutoConfig, "generator_config": AutoConfig}

    def __init__(
        self,
        backbone_config: PretrainedConfig | dict | None = None,
        scheme: str = "mlm",
        side_features: dict[str, int] | None = None,
        side_feature_combiner: str = "sum",
        multi_hot_side_features: list[str] | tuple[str, ...] = (),
        pad_token_id: int = PAD_TOKEN_ID,
        mask_token_id: int = MASK_TOKEN_ID,
        special_token_ids: list[int] | tuple[int, ...] = (),
        tie_generator: bool = True,
        generator_config: PretrainedConfig | dict | None = None,
        generator_loss_weight: float = 1.0,
        discriminator_loss_weight: float = 50.0,
        seed: int = 0,
        loss: str = "full",
        gbce_t: float = 0.75,
        in_batch_negatives: bool = False,
        logq_correction: bool = True,
        max_seq_length: int | None = None,
        masking: dict[str, Any] | None = None,
        softmax_chunk_size: int | None = None,
        sparse_item_embeddings: bool = False,
        **kwargs: Any,
    ) -> None:
        self.backbone_config = _as_config(backbone_config)
        self.generator_config = _as_config(generator_config)
        if scheme not in SCHEME_NAMES:
            raise ValueError(f"Invalid scheme={scheme!r}; must be one of {SCHEME_NAMES}")
        if side_feature_combiner not in SIDE_COMBINERS:
            raise ValueError(
                f"Invalid side_feature_combiner={side_feature_combiner!r}; must be one of {SIDE_COMBINERS}"
            )
        side_features = dict(side_features or {})
        for name, cardinality in side_features.items():
            if not isinstance(cardinality, int) or isinstance(cardinality, bool) or cardinality < 0:
                raise ValueError(f"Invalid side_features[{name!r}]={cardinality!r}; must be an int >= 0")
        if isinstance(multi_hot_side_features, str):
            raise TypeError(f"Invalid multi_hot_side_features={multi_hot_side_features!r}; must be a list of names")
        for name in multi_hot_side_features:
            if not 1 <= side_features.get(name, 0) <= 63:
                raise ValueError(
                    f"Invalid multi_hot_side_features entry {name!r}: must name a side feature of cardinality 1..63 "
                    f"(a bitmask in int64), got side_features[{name!r}]={side_features.get(name)!r}"
                )
        for name in ("generator_loss_weight", "discriminator_loss_weight"):
            if locals()[name] < 0:
                raise ValueError(f"Invalid {name}={locals()[name]!r}; must be >= 0")
        self.scheme = scheme
        self.side_features = side_features
        self.side_feature_combiner = side_feature_combiner
        self.multi_hot_side_features = list(multi_hot_side_features)
        self.mask_token_id = mask_token_id
        self.special_token_ids = list(special_token_ids)
        self.tie_generator = tie_generator
        self.generator_loss_weight = generator_loss_weight
        self.discriminator_loss_weight = discriminator_loss_weight
        self.seed = seed
        if loss not in losses.LOSSES:
            raise ValueError(f"Invalid loss={loss!r}; must be one of {losses.LOSSES}")
        if not 0.0 <= gbce_t <= 1.0:
            raise ValueError(f"Invalid gbce_t={gbce_t!r}; must be in [0, 1]")
        self.loss = loss
        self.gbce_t = gbce_t
        self.in_batch_negatives = in_batch_negatives
        self.logq_correction = logq_correction
        if max_seq_length is not None and (
            isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int) or max_seq_length < 2
        ):
            raise ValueError(
                f"Invalid max_seq_length={max_seq_length!r}; must be an int >= 2 (a history item and a target)"
            )
        self.max_seq_length = max_seq_length
        self.masking = dict(masking or {})
        if softmax_chunk_size is not None and (
            isinstance(softmax_chunk_size, bool) or not isinstance(softmax_chunk_size, int) or softmax_chunk_size < 1
        ):
            raise ValueError(f"Invalid softmax_chunk_size={softmax_chunk_size!r}; must be an int >= 1 or None")
        self.softmax_chunk_size = softmax_chunk_size
        if sparse_item_embeddings and (loss == "full" or scheme == "rtd"):
            raise ValueError(
                f"sparse_item_embeddings=True needs a sampled loss and a scheme other than rtd (got loss={loss!r}, "
                f"scheme={scheme!r}): full softmax and rtd's generator use every row of the item table each step"
            )
        self.sparse_item_embeddings = sparse_item_embeddings
        kwargs["pad_token_id"] = pad_token_id  # PreTrainedConfig takes it as a keyword
        super().__init__(**kwargs)
        if self.backbone_config is not None:  # HF also builds a bare config (no backbone) to diff against
            self._check_spec()

    @property
    def max_positions(self) -> int | None:
        """The backbone's position table size (``None``: relative positions, as XLNet's)."""
        positions = getattr(self.backbone_config, "max_position_embeddings", None)
        return positions if isinstance(positions, int) and positions > 0 else None

    def _check_spec(self) -> None:
        """The pair, the width and the masking options fit together (errors name the option)."""
        backbone = cast(PretrainedConfig, self.backbone_config)  # called only with a backbone
        spec.check_pair(backbone.model_type, self.scheme)
        positions = self.max_positions
        if self.max_seq_length is not None and positions is not None and self.max_seq_length > positions:
            raise ValueError(
                f"Invalid max_seq_length={self.max_seq_length}: the {backbone.model_type} backbone has "
                f"{positions} position embeddings"
            )
        derived = sorted(set(self.masking) & (spec.DERIVED_OPTIONS | spec.RUNTIME_OPTIONS))
        if derived:
            raise ValueError(
                f"Invalid masking option {derived[0]!r}: it is set by SeqRecConfig itself or per call of "
                "model.data_collator(...), not in masking"
            )
        if self.masking.get("negative_sampling") == "popularity":  # counts come per call (item_frequencies)
            frequencies = [1] * backbone.vocab_size
            spec.collator_from_config(self, item_frequencies=frequencies)
        else:
            spec.collator_from_config(self)  # the collator's own checks name the bad option and value


class MultiHotEmbedding(nn.Module):
    """A set of values per position, given as a bitmask (B, L) int64 -> the mean of their embeddings
    (B, L, D); the empty set (0) -> zeros.

    Example:
        >>> layer = MultiHotEmbedding(3, 2)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]))
        >>> layer(torch.tensor([[0b011, 0b100, 0]])).tolist()
        [[[0.5, 0.5], [3.0, 3.0], [0.0, 0.0]]]
    """

    def __init__(self, num_values: int, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_values, width))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        # Built per call: a non-persistent buffer would come back uninitialised from from_pretrained.
        bits = 2 ** torch.arange(self.weight.shape[0], device=values.device)  # (V,)
        members = (values[..., None] & bits).ne(0).to(self.weight.dtype)  # (B, L, V) 0/1
        return (members @ self.weight) / members.sum(dim=-1, keepdim=True).clamp_min(1.0)


def _as_config(config: PretrainedConfig | dict | None) -> PretrainedConfig | None:
    if isinstance(config, dict):
        config = dict(config)
        return AutoConfig.for_model(config.pop("model_type"), **config)
    return config


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


def target_selection(labels: torch.Tensor, *, shift: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``(where, targets)``: the (B, L) bool mask of positions whose output predicts a target, and those
    targets (T,). ``shift=True`` is the causal-LM convention: the output at ``t - 1`` predicts ``labels[:, t]``.
    """
    is_target = labels != IGNORE_INDEX  # (B, L)
    if not shift:
        return is_target, labels[is_target]
    where = torch.zeros_like(is_target)
    where[:, :-1] = is_target[:, 1:]
    return where, labels[:, 1:][is_target[:, 1:]]


def cross_entropy_or_zero(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` (T, V) against ``targets`` (T,); 0 (with a graph) when T = 0."""
    if targets.numel() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), targets)


# The item head of each family as (transform, decoder): scores = decoder(transform(hidden)), applied
# to selected hidden states only (never to all B x L positions); the decoder's rows score candidates.
_ITEM_HEADS = {
    "bert": (lambda lm: lm.cls.predictions.transform, lambda lm: lm.cls.predictions.decoder),
    "electra": (lambda lm: lm.generator_predictions, lambda lm: lm.generator_lm_head),
    "gpt2": (None, lambda lm: lm.lm_head),
    "xlnet": (None, lambda lm: lm.lm_loss),
}


def hidden_states(lm: PreTrainedModel, **inputs: Any) -> torch.Tensor:
    """The body's output (B, L, H) of a known family; for any other family its full logits (B, L, V)."""
    if lm.config.model_type in _ITEM_HEADS:
        return lm.base_model(**inputs).last_hidden_state
    return lm(**inputs).logits


def _head_input(lm: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
    transform, _ = _ITEM_HEADS[lm.config.model_type]
    return transform(lm)(hidden) if transform is not None else hidden


def item_logits(lm: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
    """Item scores (..., V) from selected outputs of :func:`hidden_states`."""
    if lm.config.model_type not in _ITEM_HEADS:
        return hidden
    return _ITEM_HEADS[lm.config.model_type][1](lm)(_head_input(lm, hidden))


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
    if lm.config.model_type not in _ITEM_HEADS:
        raise ValueError(f"sampled losses need the item head of a known family {sorted(_ITEM_HEADS)}")
    decoder = _ITEM_HEADS[lm.config.model_type][1](lm)
    z = _head_input(lm, hidden)  # (T, H)
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


def _build_language_model(config: PretrainedConfig, scheme: str) -> PreTrainedModel:
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


class SeqRecModel(PreTrainedModel):
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

    def __init__(self, config: SeqRecConfig) -> None:
        super().__init__(config)
        if config.backbone_config is None:
            raise ValueError("SeqRecConfig.backbone_config is required (an HF model config)")
        self.backbone = _build_language_model(config.backbone_config, config.scheme)
        item_table = cast(nn.Embedding, self.backbone.get_input_embeddings())
        item_table.sparse = bool(config.sparse_item_embeddings)  # its lookups then give sparse gradients
        width = int(item_table.embedding_dim)
        self.mask_embedding = MaskEmbedding(width)
        multi_hot = set(getattr(config, "multi_hot_side_features", ()))
        self.side_embeddings = nn.ModuleDict(
            {
                name: MultiHotEmbedding(cardinality, width)
                if name in multi_hot
                else nn.Embedding(cardinality, width)
                if cardinality > 0
                else nn.Linear(1, width)
                for name, cardinality in config.side_features.items()
            }
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
                self.generator = _build_language_model(config.generator_config, "mlm")
        # rtd: how many replacement draws this model has made; saved in checkpoints, so a resumed run
        # continues the draws of the uninterrupted one (each draw's generator is keyed by it).
        self.register_buffer("replacement_draws", torch.zeros((), dtype=torch.long), persistent=config.scheme == "rtd")
        self.vocabulary: ItemVocabulary | None = None
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
        """Interaction embeddings (B, L, D): item (+ side features), mask vector at ``mask_positions``."""
        embeddings = self.backbone.get_input_embeddings()(input_ids)  # (B, L, D)
        parts = []
        for name, layer in self.side_embeddings.items():
            values = side_features[name]
            if isinstance(layer, (nn.Embedding, MultiHotEmbedding)):
                parts.append(layer(values.long()))  # (B, L, D)
            else:
                parts.append(layer(values.to(embeddings.dtype)[..., None]))  # (B, L, D)
        if parts and self.side_projection is not None:
            embeddings = self.side_projection(torch.cat([embeddings, *parts], dim=-1))  # (B, L, D)
        elif parts:
            embeddings = embeddings + torch.stack(parts).sum(dim=0)
        if mask_positions is not None:
            embeddings = self.mask_embedding(embeddings, mask_positions)
        return embeddings

    def _xlnet_inputs(
        self,
        batch_size: int,
        width: int,
        attention_mask: torch.Tensor,
        perm_mask: torch.Tensor | None,
        target_mapping: torch.Tensor | None,
        perm_order: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """XLNet's permutation inputs on the model's device and in its dtype (compact form expanded here)."""
        if perm_order is not None:
            perm_mask = _masking.expand_perm_order(perm_order.to(self.device), attention_mask, dtype=self.dtype)
            target_mapping = _masking.identity_target_mapping(batch_size, width, dtype=self.dtype).to(self.device)
        if perm_mask is None:
            return {}
        inputs = {"perm_mask": perm_mask.to(device=self.device, dtype=self.dtype)}
        if target_mapping is not None:
            inputs["target_mapping"] = target_mapping.to(device=self.device, dtype=self.dtype)
        return inputs

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

    def set_vocabulary(self, vocabulary: ItemVocabulary | None) -> None:
        """Attach the item vocabulary (raw ids <-> ids): saved by ``save_pretrained``, restored by
        ``from_pretrained``, used by :meth:`recommend`. Its ids must be the model's."""
        if vocabulary is not None:
            config = self.config
            if vocabulary.vocab_size != config.backbone_config.vocab_size:
                raise ValueError(
                    f"the vocabulary has {vocabulary.vocab_size} ids but the model's vocab_size is "
                    f"{config.backbone_config.vocab_size}"
                )
            if (vocabulary.pad_token_id, vocabulary.mask_token_id) != (config.pad_token_id, config.mask_token_id):
                raise ValueError(
                    f"the vocabulary reserves pad={vocabulary.pad_token_id}, mask={vocabulary.mask_token_id} but the "
                    f"model's config says pad_token_id={config.pad_token_id}, mask_token_id={config.mask_token_id}"
                )
        self.vocabulary = vocabulary

    def save_pretrained(self, save_directory: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """``PreTrainedModel.save_pretrained`` plus the item vocabulary (``item_vocabulary.json``)."""
        super().save_pretrained(save_directory, *args, **kwargs)
        if self.vocabulary is not None and kwargs.get("is_main_process", True):
            self.vocabulary.save_pretrained(Path(save_directory))

    @classmethod
    def from_pretrained(  # type: ignore[override]  # same arguments, passed through
        cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any
    ) -> Any:
        """``PreTrainedModel.from_pretrained`` plus the item vocabulary saved next to the weights."""
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        directory = Path(pretrained_model_name_or_path)
        if (directory / VOCABULARY_FILE).is_file():
            model.set_vocabulary(ItemVocabulary.from_pretrained(directory))
        return model

    # ------------------------------------------------------------------------------- serving
    @torch.no_grad()
    def score_batch(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, V) next-item scores of an eval- or predict-mode batch: moved to the model's device, run
        in eval mode without gradient (the training mode is restored)."""
        batch = _device.to_model_device(batch, self)
        output = self._eval_forward(batch)
        if output.logits is not None:
            return output.logits
        # Chunked ranking is on: this method's contract is the whole (B, V), built here.
        weight, bias = self.item_head()
        scores = nn.functional.linear(cast(torch.Tensor, output.prediction_hidden), weight, bias)
        return scores.masked_fill((batch["prediction_positions"] < 0)[:, None], 0.0)

    def _eval_forward(self, batch: dict[str, Any]) -> SeqRecOutput:
        """``forward`` in eval mode (no dropout), the training mode restored after."""
        was_training = self.training
        self.eval()
        try:
            return self(**batch)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def recommend(
        self,
        histories: Sequence[Any],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allow: Sequence[Any] | None = None,
        block: Sequence[Any] | None = None,
        batch_size: int = 256,
        unknown_items: str = "error",
    ) -> list[list[tuple[Any, float]]]:
        """The top-``k`` next items of each history, best first, as ``(item, score)`` pairs.

        ``histories``: one sequence of items per user, oldest first (raw ids when the model has a
        vocabulary, else ids), or example dicts holding that sequence under ``"input_ids"`` plus the
        configured side features. Each history is scored exactly as evaluation scores it (predict
        mode: the ``max_seq_length - 1`` most recent items, then the prediction's position).

        Rules: the items of the whole history are excluded (``exclude_seen``), as are the reserved
        ids, ``block`` and, when given, every item outside ``allow``; ties rank by id; a row with fewer
        than ``k`` candidates left gets a shorter list; an empty history gets an empty list (no item
        to predict from). ``unknown_items``: ``"error"`` (raise, naming the item) or ``"drop"``.
        Runs in batches of ``batch_size`` on the model's device.

        Example:
            >>> from transformers import GPT2Config
            >>> from hf_seqmask.data import ItemVocabulary
            >>> model = SeqRecModel(SeqRecConfig(backbone_config=GPT2Config(vocab_size=6, n_positions=8, n_embd=8,
            ...                     n_layer=1, n_head=2), scheme="clm", max_seq_length=8))
            >>> model.set_vocabulary(ItemVocabulary.build(["tea", "mug", "cup", "pot"]))
            >>> top = model.recommend([["tea", "mug"]], k=3)
            >>> sorted(item for item, _ in top[0])  # the two unseen items; k=3 but only 2 are left
            ['cup', 'pot']
        """
        if unknown_items not in ("error", "drop"):
            raise ValueError(f"Invalid unknown_items={unknown_items!r}; must be 'error' or 'drop'")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"Invalid k={k!r}; must be an int >= 1")
        encode = self._encoder(unknown_items)
        rows = []
        for history in histories:
            row = dict(history) if isinstance(history, Mapping) else {"input_ids": history}
            row["input_ids"] = encode(row["input_ids"])
            rows.append(row)
        vocab_size = self.config.backbone_config.vocab_size
        excluded_items = torch.zeros(vocab_size, dtype=torch.bool)
        excluded_items[self.reserved_ids] = True
        if block is not None:
            excluded_items[torch.as_tensor(encode(block), dtype=torch.long)] = True
        if allow is not None:
            allowed = torch.zeros(vocab_size, dtype=torch.bool)
            allowed[torch.as_tensor(encode(allow), dtype=torch.long)] = True
            excluded_items |= ~allowed
        collator = self.data_collator("predict")
        device = _device.model_device(self)
        results: list[list[tuple[Any, float]]] = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            history = None
            if exclude_seen:
                history = nn.utils.rnn.pad_sequence(
                    [torch.as_tensor(row["input_ids"], dtype=torch.long) for row in chunk],
                    batch_first=True,
                    padding_value=self.config.pad_token_id,
                )
            if self.ranks_in_chunks:
                ids, values = self._rank_in_chunks(collator(chunk), k, excluded_items, history)
            else:
                scores = self.score_batch(collator(chunk))  # (B, V)
                excluded = exclusion_mask(*scores.shape, history=history, device=device) | excluded_items.to(device)
                ids, values = top_k_scored(scores, k, excluded=excluded)
            for row, row_ids, row_values in zip(chunk, ids.tolist(), values.tolist(), strict=True):
                pairs = [(i, v) for i, v in zip(row_ids, row_values, strict=True) if i >= 0]
                if not len(row["input_ids"]):
                    pairs = []  # nothing to predict from
                if self.vocabulary is not None:
                    pairs = list(zip(self.vocabulary.decode([i for i, _ in pairs]), [v for _, v in pairs], strict=True))
                results.append(pairs)
        return results

    def _rank_in_chunks(
        self, batch: dict[str, Any], k: int, excluded_items: torch.Tensor, history: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``recommend``'s top-k of a predict batch without its (B, V) scores (see chunked_ranking)."""
        query = cast(torch.Tensor, self._eval_forward(_device.to_model_device(batch, self)).prediction_hidden)
        weight, bias = self.item_head()
        ranking = chunked_ranking(
            query, weight, bias, k, chunk_size=cast(int, self.config.softmax_chunk_size),
            excluded_items=excluded_items, history=history,
        )  # fmt: skip
        return ranking.ids, ranking.values

    def _encoder(self, unknown_items: str) -> Callable[[Any], list]:
        """Raw ids -> ids through the vocabulary (or checked ids when the model has none)."""
        vocab_size = self.config.backbone_config.vocab_size
        vocabulary = self.vocabulary
        if vocabulary is not None:
            return lambda items: vocabulary.encode(items, unknown=unknown_items)

        def check(items: Any) -> list[int]:
            ids = [int(i) for i in items]
            bad = [i for i in ids if not 0 <= i < vocab_size]
            if bad:
                raise ValueError(
                    f"item id {bad[0]} is outside [0, vocab_size={vocab_size}) (the model has no vocabulary)"
                )
            return ids

        return check

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
        discriminator reads (see ``_rtd_forward``)."""
        unknown = set(side_features) - set(self.config.side_features)
        if unknown:
            raise TypeError(
                f"forward() got unexpected inputs {sorted(unknown)}; configured side features: "
                f"{sorted(self.config.side_features)}"
            )
        missing = set(self.config.side_features) - set(side_features)
        if missing:
            raise ValueError(f"side features {sorted(missing)} are configured but missing from the batch")
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        if mask_positions is None:
            mask_positions = input_ids == self.config.mask_token_id
        spec.check_batch(
            self.config,
            input_ids,
            attention_mask,
            labels,
            mask_positions,
            prediction_positions,
            has_permutation=perm_mask is not None or perm_order is not None,
            perm_order=perm_order,
            max_positions=self.config.max_positions,
        )
        batch_size, width = input_ids.shape
        xlnet_inputs = {}
        if self.is_xlnet:
            xlnet_inputs = self._xlnet_inputs(batch_size, width, attention_mask, perm_mask, target_mapping, perm_order)
            if self.config.scheme == "clm" and not xlnet_inputs and self.backbone.config.attn_type != "uni":
                raise ValueError(
                    "XLNet is bidirectional (attn_type='bi'): causal training needs the collator's "
                    "causal_perm_mask=True (or an XLNet config with attn_type='uni'), else position t sees t + 1"
                )
        # Causal LMs read the next item one position earlier, unless XLNet's query stream predicts at t.
        shift = self.config.scheme == "clm" and not xlnet_inputs
        if self.config.scheme == "rtd" and labels is not None and prediction_positions is None:
            return self._rtd_forward(
                input_ids, attention_mask, labels, mask_positions, replacement_candidates, side_features,
                unmasked_side_features,
            )  # fmt: skip

        embeddings = self.embed(input_ids, side_features, mask_positions)
        hidden = hidden_states(self.backbone, inputs_embeds=embeddings, attention_mask=attention_mask, **xlnet_inputs)
        loss, logits = None, None
        sampled = self.config.loss != "full" and prediction_positions is None
        if labels is not None and sampled:
            where, targets = target_selection(labels, shift=shift)
            loss, logits = self._sampled_loss(hidden[where], targets, negative_ids, negative_log_q, target_log_q)
        elif labels is not None and self.config.softmax_chunk_size and self.backbone.config.model_type in _ITEM_HEADS:
            where, targets = target_selection(labels, shift=shift)
            decoder = _ITEM_HEADS[self.backbone.config.model_type][1](self.backbone)
            z = _head_input(self.backbone, hidden[where])  # (T, H): the (T, V) logits are never built
            loss = chunked_cross_entropy(
                z, decoder.weight, decoder.bias, targets, chunk_size=self.config.softmax_chunk_size
            )
        elif labels is not None:
            where, targets = target_selection(labels, shift=shift)
            logits = item_logits(self.backbone, hidden[where])  # (T, V)
            loss = cross_entropy_or_zero(logits, targets)
        prediction_hidden = None
        if prediction_positions is not None:
            rows = torch.arange(batch_size, device=hidden.device)
            positions = prediction_positions.to(hidden.device)
            at_prediction = hidden[rows, positions.clamp_min(0)]  # (B, H)
            if self.ranks_in_chunks:
                logits = None  # (B, V) never built: see chunked_ranking
                prediction_hidden = _head_input(self.backbone, at_prediction).masked_fill((positions < 0)[:, None], 0.0)
            else:
                logits = item_logits(self.backbone, at_prediction)  # (B, V)
                logits = logits.masked_fill((positions < 0)[:, None], 0.0)
        return SeqRecOutput(
            loss=loss,
            logits=logits,
            prediction_hidden=prediction_hidden,
            seen_ids=seen_ids if prediction_positions is not None else None,
        )

    @property
    def ranks_in_chunks(self) -> bool:
        """Whether eval and serving rank the catalogue in chunks (``softmax_chunk_size`` set, for a
        family whose item head we know) instead of building (B, V) scores."""
        return bool(self.config.softmax_chunk_size) and self.backbone.config.model_type in _ITEM_HEADS

    def item_head(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(weight (V, H), bias (V,) or None)`` of the item scores: ``prediction_hidden @ weight.T + bias``."""
        decoder = _ITEM_HEADS[self.backbone.config.model_type][1](self.backbone)
        return decoder.weight, decoder.bias

    def _sampled_loss(
        self,
        hidden: torch.Tensor,
        targets: torch.Tensor,
        negative_ids: torch.Tensor | None,
        negative_log_q: torch.Tensor | None,
        target_log_q: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The configured sampled loss over the targets (T,) from their hidden states (T, H);
        returns ``(loss, logits)`` with logits (T, 1 + N): the target's score, then its negatives'."""
        config = self.config
        if targets.numel() == 0:
            return hidden.sum() * 0.0, hidden.new_zeros(0, 1)
        if config.in_batch_negatives:
            negative_ids, negative_log_q = targets, losses.in_batch_log_q(targets)
            target_log_q = negative_log_q
        elif negative_ids is None:
            raise ValueError(
                f"loss={config.loss!r} needs negatives: set num_negatives on the collator or in_batch_negatives=True"
            )
        positive, negative = candidate_scores(
            self.backbone, hidden, targets, negative_ids.to(hidden.device), sparse=config.sparse_item_embeddings
        )
        shared = negative_ids.ndim == 1
        hits = (negative_ids[None, :] if shared else negative_ids) == targets[:, None]  # (T, N)
        if config.loss == "sampled_softmax":
            correct = config.logq_correction and negative_log_q is not None
            negative_q = (
                negative_log_q.expand_as(negative)
                if negative_log_q is not None and correct and shared
                else negative_log_q
            )
            loss = losses.sampled_softmax_loss(
                positive,
                negative,
                hits,
                positive_log_q=target_log_q if correct else None,
                negative_log_q=negative_q if correct else None,
            )
        elif config.loss == "bce":
            loss = losses.bce_loss(positive, negative, hits)
        else:
            num_items = self.backbone.config.vocab_size - int(self.reserved_ids.numel())
            beta = losses.gbce_beta(negative.shape[1], num_items, config.gbce_t)
            loss = losses.gbce_loss(positive, negative, hits, beta=beta)
        return loss, torch.cat([positive[:, None], negative], dim=1)

    def _rtd_forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        mask_positions: torch.Tensor | None,
        candidates: torch.Tensor | None,
        side_features: dict[str, torch.Tensor],
        unmasked_side_features: dict[str, torch.Tensor] | None,
    ) -> SeqRecOutput:
        """ELECTRA's step. The discriminator reads the corrupted items with every position's
        *original* side features (``unmasked_side_features``), the hidden ones included: side features
        describe the interaction (when, in which context), are drawn independently of which positions
        were masked, and so mark nothing, whereas the pad value the generator saw at hidden positions
        would tell the discriminator exactly where to look. (An item-derived feature, e.g. a genre,
        may then disagree with a replacement: that is the same evidence an out-of-place item gives.)"""
        config = self.config
        if config.side_features and unmasked_side_features is None:
            raise ValueError(
                "rtd training with side features needs the batch's unmasked_side_features (ReplacementCollator "
                "emits them): with the hidden positions' padded side features the discriminator would find "
                "every masked position by its side features alone"
            )
        masked = self.embed(input_ids, side_features, mask_positions)  # (B, L, D)
        where, targets = target_selection(labels, shift=False)
        main_hidden = hidden_states(self.backbone, inputs_embeds=masked, attention_mask=attention_mask)
        main_logits = item_logits(self.backbone, main_hidden[where])  # (T, V)
        generator_loss = cross_entropy_or_zero(main_logits, targets)
        if self.generator is None:
            generator_logits = main_logits
        else:  # a separate generator; the main network's masked-LM loss above still teaches it to score items
            generator_hidden = hidden_states(self.generator, input_ids=input_ids, attention_mask=attention_mask)
            generator_logits = item_logits(self.generator, generator_hidden[where])  # (T, V)
            generator_loss = generator_loss + cross_entropy_or_zero(generator_logits, targets)

        replacements = _rtd.sample_replacements(
            generator_logits,
            excluded_ids=self.reserved_ids,
            candidates=candidates,
            generator=self._sampling_rng(generator_logits.device),
        )  # (T,)
        corrupted = input_ids.clone()
        corrupted[where] = replacements
        discriminator_labels = torch.zeros_like(input_ids, dtype=torch.float32)
        discriminator_labels[where] = (replacements != targets).float()
        originals = unmasked_side_features or {}
        discriminator_side_features = {name: originals[name] for name in config.side_features}
        hidden = self.backbone.base_model(
            inputs_embeds=self.embed(corrupted, discriminator_side_features), attention_mask=attention_mask
        ).last_hidden_state  # (B, L, H)
        discriminator_head = cast(nn.Module, self.discriminator_head)  # built for scheme="rtd"
        discriminator_logits = discriminator_head(hidden)  # (B, L)
        real = attention_mask.bool()
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
