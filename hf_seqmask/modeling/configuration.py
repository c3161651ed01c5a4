"""The configuration of :class:`~hf_seqmask.SeqRecModel`: the backbone, the scheme, the side
features, the loss and the masking spec, saved with the model as ``config.json``."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from transformers import AutoConfig, PretrainedConfig

from .. import losses, spec
from .._checks import check_bool, check_int_at_least, check_names_of
from ..reserved import MASK_TOKEN_ID, PAD_TOKEN_ID
from .backbones import max_positions
from .key_dropout import ATTENTION_DROPOUT_UNITS
from .last_layer import FAMILIES as LAST_LAYER_FAMILIES

SCHEME_NAMES = ("clm", "mlm", "plm", "rtd")
SIDE_COMBINERS = ("sum", "concat")
# rtd's detection loss weight. ELECTRA's 50 assumes a separate, small generator; with the backbone
# shared as generator and discriminator it swamps the item loss: on ML-1M (XLNet + rtd, L=50, 40
# epochs) weight 1 tests at NDCG@10 0.1312, weight 5 at 0.1280, ELECTRA's 50 at 0.0849; weight 1 led
# weight 5 at all 20 validations (docs/rtd_ablation.md).
DISCRIMINATOR_LOSS_WEIGHT = 1.0
# Where rtd draws its replacements: among the batch's targets (True) or the whole catalogue. On ML-1M
# (XLNet + rtd, weight 1, L=50, 40 epochs, three seeds) the batch gives validation NDCG@10 0.1345 +-
# 0.0011 against the catalogue's 0.1325 +- 0.0007, above it on every seed, in 0.7x the wall time
# (docs/rtd_ablation.md). The collator's own default stays Transformers4Rec's (False).
REPLACEMENTS_FROM_BATCH = True


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
        context_side_features: names of ``side_features`` that describe the user (one value per
            sequence), not the item (the job marks the user table's columns): never hidden by the collators (their
            ``context_feature_keys``), and at a hidden position the model adds their embeddings to the
            mask vector, which stands in for the item and its own features. Default ``[]`` (and what a
            config saved before the option reads): every side feature is hidden with its item.
        pad_token_id, mask_token_id, special_token_ids: the reserved ids, never drawn as replacements.
        max_seq_length: the widest batch the model takes: its collators' ``max_length`` (each row keeps
            its ``max_seq_length`` most recent items, a random window in training with
            ``masking={"train_window": "random"}``; predict mode ``max_seq_length - 1`` plus the slot,
            so predictions are read where training put targets); ``None``: no limit but the backbone's
            position table. (Not ``max_length``: HF reserves that name for generation.)
        masking: the scheme's collator options (``mlm_probability``, ``max_span_length``,
            ``num_negatives``, ``side_feature_pad_value``, ...; see the collator of ``scheme``).
            With the fields above this is the model's masking spec: ``model.data_collator(mode=...)``
            builds the collator from it, it is saved with the model, and ``forward`` refuses batches
            that do not fit it. For ``rtd`` it holds ``sample_from_batch`` (default
            ``REPLACEMENTS_FROM_BATCH``: replacements among the batch's targets; ``False``: the catalogue).
        tie_generator: ``rtd`` only: the main network is its own generator (Transformers4Rec's default);
            ``False`` trains a separate small generator built from ``generator_config``.
        generator_config: ``rtd`` with ``tie_generator=False``: the generator's (masked LM) config.
        generator_loss_weight, discriminator_loss_weight: ``rtd`` loss weights (1 and 1: measured on ML-1M,
            see ``DISCRIMINATOR_LOSS_WEIGHT``; ELECTRA's 1 and 50 assume a separate small generator).
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
        label_smoothing: with ``loss="full"``, the item cross-entropy's label smoothing (``F.cross_entropy``'s
            ``label_smoothing``: the target keeps ``1 - label_smoothing`` of the probability, the rest is
            spread over every id); 0 (the default) is the plain cross-entropy. ``SeqRecTrainer`` sets it
            from ``TrainingArguments.label_smoothing_factor``. Sampled losses and the chunked softmax
            refuse it (their losses are not a softmax over the catalogue).
        fused_loss: with ``loss="full"``, the item head and its cross-entropy run together, a block of
            targets at a time, gradients computed in the forward while the block's logits are in cache
            (:mod:`hf_seqmask.fused_cross_entropy`; same loss and gradients to float rounding; training
            outputs then carry no logits). The step's fastest full softmax on a CPU
            (docs/train_step.md); not used by ``rtd`` training (its generator samples from the logits).
        attention_dropout_unit: what the backbone's attention dropout drops: ``"weight"`` (HF's own, each
            attention weight) or ``"key"`` (each key's value vector per head, for every query: the same
            expectation, a (B, heads, L, 1) mask, and SDPA keeps its fused kernel on a CPU;
            :mod:`hf_seqmask.modeling.key_dropout`). GPT-2, BERT and ELECTRA; XLNet has its own attention.
            With ``"key"`` the backbone runs that attention function (SDPA outside training): an
            ``attn_implementation=`` given to ``from_pretrained`` does not override it.
        last_layer_at_scored_positions: ``mlm`` or ``rtd`` on BERT or ELECTRA networks: the last layer of
            a masked pass computes its queries, attention output and feed-forward block at the scored
            positions only (the masked targets in training, the prediction position in evaluation; keys
            and values everywhere; rtd's discriminator pass reads every position and runs whole). The
            same outputs where they are read and the same distribution of dropout masks, for a cheaper
            step (:mod:`hf_seqmask.modeling.last_layer`, docs/train_step.md); another random stream.
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
        context_side_features: list[str] | tuple[str, ...] = (),
        pad_token_id: int = PAD_TOKEN_ID,
        mask_token_id: int = MASK_TOKEN_ID,
        special_token_ids: list[int] | tuple[int, ...] = (),
        tie_generator: bool = True,
        generator_config: PretrainedConfig | dict | None = None,
        generator_loss_weight: float = 1.0,
        discriminator_loss_weight: float = DISCRIMINATOR_LOSS_WEIGHT,
        seed: int = 0,
        loss: str = "full",
        gbce_t: float = 0.75,
        in_batch_negatives: bool = False,
        logq_correction: bool = True,
        max_seq_length: int | None = None,
        masking: dict[str, Any] | None = None,
        softmax_chunk_size: int | None = None,
        sparse_item_embeddings: bool = False,
        label_smoothing: float = 0.0,
        fused_loss: bool = False,
        attention_dropout_unit: str = "weight",
        last_layer_at_scored_positions: bool = False,
        **kwargs: Any,
    ) -> None:
        self.backbone_config = _as_config(backbone_config)
        self.generator_config = _as_config(generator_config)
        _check_choice("scheme", scheme, SCHEME_NAMES)
        _check_choice("side_feature_combiner", side_feature_combiner, SIDE_COMBINERS)
        _check_choice("attention_dropout_unit", attention_dropout_unit, ATTENTION_DROPOUT_UNITS)
        side_features = _checked_side_features(side_features, multi_hot_side_features)
        check_names_of(
            "context_side_features", context_side_features, sorted(side_features), allowed_name="side_features"
        )
        _check_loss_weights(generator_loss_weight, discriminator_loss_weight)
        _check_loss(loss, gbce_t)
        _check_widths(max_seq_length, softmax_chunk_size)
        _check_sparse(sparse_item_embeddings, loss=loss, scheme=scheme)
        check_label_smoothing(label_smoothing, loss=loss, softmax_chunk_size=softmax_chunk_size)
        _check_fused_loss(fused_loss, loss=loss, softmax_chunk_size=softmax_chunk_size)
        check_bool("last_layer_at_scored_positions", last_layer_at_scored_positions)
        # The attributes in their historical order, which to_dict() keeps.
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
        self.loss = loss
        self.gbce_t = gbce_t
        self.in_batch_negatives = in_batch_negatives
        self.logq_correction = logq_correction
        self.max_seq_length = max_seq_length
        self.masking = dict(masking or {})
        if scheme == "rtd":
            self.masking.setdefault("sample_from_batch", REPLACEMENTS_FROM_BATCH)
        self.softmax_chunk_size = softmax_chunk_size
        self.sparse_item_embeddings = sparse_item_embeddings
        self.label_smoothing = label_smoothing
        self.context_side_features = list(context_side_features)
        self.fused_loss = fused_loss
        self.attention_dropout_unit = attention_dropout_unit
        self.last_layer_at_scored_positions = last_layer_at_scored_positions
        kwargs["pad_token_id"] = pad_token_id  # PreTrainedConfig takes it as a keyword
        super().__init__(**kwargs)
        if self.backbone_config is not None:  # HF also builds a bare config (no backbone) to diff against
            self._check_spec()

    @property
    def max_positions(self) -> int | None:
        """The backbone's position table size (``None``: relative positions, as XLNet's)."""
        return max_positions(self.backbone_config)

    def _check_spec(self) -> None:
        """The pair, the width and the masking options fit together (errors name the option)."""
        backbone = cast(PretrainedConfig, self.backbone_config)  # called only with a backbone
        spec.check_pair(backbone.model_type, self.scheme)
        generator_family = getattr(self.generator_config, "model_type", None)
        if self.attention_dropout_unit == "key" and "xlnet" in (backbone.model_type, generator_family):
            raise ValueError(
                "Invalid attention_dropout_unit='key': XLNet computes its own attention (one dropout rate, "
                "per weight); use 'weight'"
            )
        families = {backbone.model_type} | (
            {generator_family} if generator_family and not self.tie_generator else set()
        )
        if self.last_layer_at_scored_positions and (
            self.scheme not in ("mlm", "rtd") or not families <= set(LAST_LAYER_FAMILIES)
        ):
            raise ValueError(
                "Invalid last_layer_at_scored_positions=True: it needs scheme 'mlm' or 'rtd' on BERT or ELECTRA "
                f"networks (clm and plm score every position), got scheme={self.scheme!r} on {sorted(families)}"
            )
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
        if spec.needs_item_frequencies(self.masking):  # popularity counts come per call (item_frequencies)
            frequencies = [1] * backbone.vocab_size
            spec.collator_from_config(self, item_frequencies=frequencies)
        else:
            spec.collator_from_config(self)  # the collator's own checks name the bad option and value


def _as_config(config: PretrainedConfig | dict | None) -> PretrainedConfig | None:
    if isinstance(config, dict):
        config = dict(config)
        return AutoConfig.for_model(config.pop("model_type"), **config)
    return config


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"Invalid {name}={value!r}; must be one of {allowed}")


def _checked_side_features(
    side_features: dict[str, int] | None, multi_hot_side_features: list[str] | tuple[str, ...]
) -> dict[str, int]:
    """A copy of ``side_features`` once every cardinality and every multi-hot name is valid."""
    side_features = dict(side_features or {})
    for name, cardinality in side_features.items():
        check_int_at_least(f"side_features[{name!r}]", cardinality, 0)
    if isinstance(multi_hot_side_features, str):
        raise TypeError(f"Invalid multi_hot_side_features={multi_hot_side_features!r}; must be a list of names")
    for name in multi_hot_side_features:
        if not 1 <= side_features.get(name, 0) <= 63:
            raise ValueError(
                f"Invalid multi_hot_side_features entry {name!r}: must name a side feature of cardinality 1..63 "
                f"(a bitmask in int64), got side_features[{name!r}]={side_features.get(name)!r}"
            )
    return side_features


def _check_loss_weights(generator_loss_weight: float, discriminator_loss_weight: float) -> None:
    for name, weight in (
        ("generator_loss_weight", generator_loss_weight),
        ("discriminator_loss_weight", discriminator_loss_weight),
    ):
        if weight < 0:
            raise ValueError(f"Invalid {name}={weight!r}; must be >= 0")


def _check_loss(loss: str, gbce_t: float) -> None:
    if loss not in losses.LOSSES:
        raise ValueError(f"Invalid loss={loss!r}; must be one of {losses.LOSSES}")
    if not 0.0 <= gbce_t <= 1.0:
        raise ValueError(f"Invalid gbce_t={gbce_t!r}; must be in [0, 1]")


def _check_sparse(sparse_item_embeddings: bool, *, loss: str, scheme: str) -> None:
    if sparse_item_embeddings and (loss == "full" or scheme == "rtd"):
        raise ValueError(
            f"sparse_item_embeddings=True needs a sampled loss and a scheme other than rtd (got loss={loss!r}, "
            f"scheme={scheme!r}): full softmax and rtd's generator use every row of the item table each step"
        )


def _check_fused_loss(fused_loss: bool, *, loss: str, softmax_chunk_size: int | None) -> None:
    check_bool("fused_loss", fused_loss)
    if fused_loss and loss != "full":
        raise ValueError(f"fused_loss=True fuses the item head with the full softmax: needs loss='full', not {loss!r}")
    if fused_loss and softmax_chunk_size:
        raise ValueError(
            f"fused_loss=True and softmax_chunk_size={softmax_chunk_size} both avoid the (targets x items) logits: "
            "pick one (fused: blocks of targets, faster; chunked: blocks of items, for catalogues too large for "
            "a block of targets' logits)"
        )


def check_label_smoothing(
    label_smoothing: float, *, loss: str, softmax_chunk_size: int | None, name: str = "label_smoothing"
) -> None:
    """Refuse a label smoothing outside [0, 1) or with a loss that has none (``name``: the option as the
    caller spelled it, e.g. ``label_smoothing_factor`` for ``TrainingArguments``)."""
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
        raise TypeError(f"Invalid {name}={label_smoothing!r}; must be a number in [0, 1)")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"Invalid {name}={label_smoothing!r}; must be in [0, 1)")
    if label_smoothing and loss != "full":
        raise ValueError(
            f"{name}={label_smoothing!r} needs loss='full', got loss={loss!r}: a sampled loss scores the target "
            "against a few negatives, not the catalogue that label smoothing spreads probability over"
        )
    if label_smoothing and softmax_chunk_size:
        raise ValueError(
            f"{name}={label_smoothing!r} is not implemented for the chunked cross-entropy "
            f"(softmax_chunk_size={softmax_chunk_size}); set softmax_chunk_size=None"
        )


def _check_widths(max_seq_length: int | None, softmax_chunk_size: int | None) -> None:
    check_int_at_least("max_seq_length", max_seq_length, 2, optional=True, note=" (a history item and a target)")
    check_int_at_least("softmax_chunk_size", softmax_chunk_size, 1, optional=True, note=" or None")
