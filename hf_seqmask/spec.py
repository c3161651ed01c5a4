"""The masking spec a model owns: which family trains with which scheme, the collator built from a
``SeqRecConfig``, and the check that a batch fits the model it is fed to.

One source of truth: the scheme, the reserved ids, ``max_seq_length`` (the collators' ``max_length``),
the side-feature names (and which describe the user: ``context_feature_keys``) and the masking
options live in the model's config (saved with it); the collator is derived from it
(:func:`collator_from_config`, or ``model.data_collator(mode=...)``) and ``SeqRecModel.forward``
refuses a batch that does not fit (:func:`check_batch`), naming both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ._negatives import FLAT_NAMES, NegativeSampling
from ._padding import fits_int64
from .collators import SCHEMES, SequenceCollator
from .reserved import IGNORE_INDEX

# Which scheme each known backbone family trains with (tested pair by pair in tests/modeling/test_modeling.py).
SUPPORTED_PAIRS: dict[str, tuple[str, ...]] = {
    "gpt2": ("clm",),
    "bert": ("mlm", "rtd"),
    "xlnet": ("plm", "clm", "mlm", "rtd"),
    "electra": ("mlm", "rtd"),
}

# Collator options that the config fixes elsewhere (or that are per call): not masking options.
DERIVED_OPTIONS = frozenset(
    {
        "vocab_size",
        "pad_token_id",
        "mask_token_id",
        "special_token_ids",
        "max_length",
        "side_feature_keys",
        "context_feature_keys",
        "mode",
        "causal_perm_mask",
    }
)
# Per-run options a caller may set when building the collator: they change no model contract.
RUNTIME_OPTIONS = frozenset(
    {"seed", "item_frequencies", "pad_to_multiple_of", "return_tensors", "eval_on_last_item_only"}
)


def check_pair(family: str, scheme: str) -> None:
    """Refuse a family x scheme pair outside :data:`SUPPORTED_PAIRS` (unknown families pass: any HF
    model that takes ``inputs_embeds`` may work, at the user's risk).

    Example:
        >>> check_pair("bert", "plm")
        Traceback (most recent call last):
        ...
        ValueError: a 'bert' backbone trains with scheme 'mlm' or 'rtd', not 'plm' (supported pairs: ...)
    """
    allowed = SUPPORTED_PAIRS.get(family)
    if allowed is not None and scheme not in allowed:
        pairs = ", ".join(f"{f}+{s}" for f, schemes in SUPPORTED_PAIRS.items() for s in schemes)
        raise ValueError(
            f"a {family!r} backbone trains with scheme {' or '.join(map(repr, allowed))}, not {scheme!r} "
            f"(supported pairs: {pairs})"
        )


def uses_causal_perm_mask(config: Any) -> bool:
    """XLNet + clm trains through a causal ``perm_mask`` unless its attention is unidirectional."""
    backbone = config.backbone_config
    return config.scheme == "clm" and backbone.model_type == "xlnet" and getattr(backbone, "attn_type", "bi") != "uni"


def collator_options(config: Any, mode: str = "train", **overrides: Any) -> dict[str, Any]:
    """The keyword options of the collator that fits ``config`` (see :func:`collator_from_config`)."""
    forbidden = sorted(set(overrides) - RUNTIME_OPTIONS)
    if forbidden:
        name = forbidden[0]
        where = "SeqRecConfig" if name in DERIVED_OPTIONS else "SeqRecConfig(masking={...})"
        raise ValueError(
            f"collator option {name!r} is part of the model's masking spec: set it in {where}, so that the "
            f"model, its saved config and every collator built from it agree (per-call options: "
            f"{sorted(RUNTIME_OPTIONS)})"
        )
    options: dict[str, Any] = {
        "vocab_size": config.backbone_config.vocab_size,
        "pad_token_id": config.pad_token_id,
        "mask_token_id": config.mask_token_id,
        "special_token_ids": tuple(config.special_token_ids),
        "max_length": config.max_seq_length,
        "side_feature_keys": tuple(config.side_features),
        # A config saved before context features reads none: every side feature hidden with its item.
        "context_feature_keys": tuple(getattr(config, "context_side_features", ())),
        "seed": config.seed,
        "mode": mode,
    }
    if uses_causal_perm_mask(config):
        options.update(causal_perm_mask=True, perm_format="compact")
    if config.scheme == "plm":
        options["perm_format"] = "compact"  # expanded on the model's device: 1/L of the dense bytes
    overrides = dict(overrides)
    frequencies = overrides.pop("item_frequencies", None)  # part of the negatives, if the model draws any
    options.update({k: v for k, v in config.masking.items() if k != NEGATIVES_KEY and k not in FLAT_NAMES})
    negatives = masking_negatives(config.masking, item_frequencies=frequencies)
    if negatives is not None:
        options["negatives"] = negatives
    options.update(overrides)
    return options


NEGATIVES_KEY = "negatives"


def masking_negatives(masking: Mapping[str, Any], item_frequencies: Any = None) -> NegativeSampling | None:
    """The :class:`NegativeSampling` of a config's ``masking``: its ``"negatives"`` dict, or the flat
    keys that configs saved before it hold (``num_negatives``, ``negative_sampling``, ...); the run's
    ``item_frequencies`` join it. None: the model draws no negatives.

    Example:
        >>> masking_negatives({"num_negatives": 8})  # a config saved before NegativeSampling
        NegativeSampling(num_negatives=8, distribution='uniform', shared=True, exclude_history=False)
        >>> masking_negatives({"negatives": {"num_negatives": 8, "shared": False}})
        NegativeSampling(num_negatives=8, distribution='uniform', shared=False, exclude_history=False)
    """
    flat = {name: masking[name] for name in FLAT_NAMES if name in masking}
    nested = masking.get(NEGATIVES_KEY)
    if nested is None and not flat:
        return None
    if nested is not None and flat:
        raise ValueError(
            f"masking holds both {NEGATIVES_KEY!r} and the flat negatives keys {sorted(flat)}; keep "
            f"{NEGATIVES_KEY!r} only"
        )
    if item_frequencies is not None:
        flat["item_frequencies"] = item_frequencies
    if nested is None:
        return NegativeSampling.from_flat(flat)
    fields = sorted(NegativeSampling().to_dict())
    if not isinstance(nested, Mapping):
        example = nested.to_dict() if isinstance(nested, NegativeSampling) else {"num_negatives": 8}
        raise TypeError(
            f"Invalid masking[{NEGATIVES_KEY!r}]={nested!r}; must be a dict of NegativeSampling's fields {fields} "
            f"(config.json holds plain values), e.g. {example}"
        )
    unknown = sorted(set(nested) - set(fields))
    if unknown:
        raise ValueError(
            f"Invalid masking[{NEGATIVES_KEY!r}] key {unknown[0]!r}; must be one of {fields} (item_frequencies "
            "come per run: model.data_collator(mode, item_frequencies=...))"
        )
    return NegativeSampling(**nested, item_frequencies=item_frequencies)


def needs_item_frequencies(masking: Mapping[str, Any]) -> bool:
    """Whether a config's ``masking`` draws negatives by popularity (then every collator built from it
    needs the run's ``item_frequencies``), in either form.

    Example:
        >>> needs_item_frequencies({"negative_sampling": "popularity"}), needs_item_frequencies({})
        (True, False)
    """
    nested = masking.get(NEGATIVES_KEY)
    distribution = nested.get("distribution") if isinstance(nested, Mapping) else masking.get("negative_sampling")
    return distribution == "popularity"


def collator_from_config(config: Any, mode: str = "train", **overrides: Any) -> SequenceCollator:
    """The collator of ``config.scheme`` with everything the model fixes taken from ``config``.

    ``overrides`` are per-run options only (``seed``, ``item_frequencies``, ``pad_to_multiple_of``,
    ...); a masking option (``mlm_probability``, ...) belongs in ``SeqRecConfig(masking=...)``.

    Example:
        >>> from transformers import BertConfig
        >>> from hf_seqmask import SeqRecConfig
        >>> config = SeqRecConfig(backbone_config=BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
        ...                       num_attention_heads=2, intermediate_size=8, max_position_embeddings=8),
        ...                       scheme="mlm", max_seq_length=8, masking={"mlm_probability": 0.3})
        >>> collator = collator_from_config(config, mode="eval")
        >>> type(collator).__name__, collator.mode, collator.max_length, collator.mlm_probability
        ('MaskedCollator', 'eval', 8, 0.3)
    """
    collator = SCHEMES[config.scheme](**collator_options(config, mode, **overrides))
    _check_side_pad_value(config, collator.side_feature_pad_value)
    return collator


def _check_side_pad_value(config: Any, value: float) -> None:
    """A side feature the model embeds by id (cardinality > 0) is integer: its pad value must be too."""
    if fits_int64(value):
        return
    for name, cardinality in config.side_features.items():
        if cardinality > 0:
            raise ValueError(
                f"Invalid side_feature_pad_value={value!r} for side feature {name!r}: the model embeds its values "
                f"as ids (cardinality {cardinality}), so the pad value must be an integer"
            )


# ------------------------------------------------------------------------------------------ checks
def _refuse(config: Any, problem: str) -> None:
    family = config.backbone_config.model_type
    raise ValueError(
        f"this batch does not fit the model (scheme={config.scheme!r}, {family}): {problem}. Build the "
        f"collator from the model, model.data_collator(mode=...), so the two cannot disagree"
    )


def check_batch(
    config: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor | None,
    mask_positions: torch.Tensor,
    prediction_positions: torch.Tensor | None,
    has_permutation: bool,
    perm_order: torch.Tensor | None,
    max_positions: int | None,
) -> None:
    """Raise if the batch was not made for this model: another scheme, other reserved ids, wider
    than ``config.max_seq_length`` or than the backbone's position table.

    What each scheme's batch looks like, and so what is refused:

    - every scheme: padding holds ``pad_token_id``; hidden positions hold ``mask_token_id``;
    - ``clm``: nothing hidden in training (a masked batch would train on hidden inputs); a GPT-2-style
      model (which shifts) reads each prediction at a visible item, XLNet at a target of its causal
      order; XLNet needs the causal permutation, other families refuse one;
    - ``mlm``/``rtd``: no permutation inputs; in training every target is hidden (a bidirectional
      model given visible targets learns to copy them) -- unless ``masking`` asks for BERT's split
      (``mask_replace_prob < 1``), which keeps some targets visible on purpose; predictions are read
      at hidden positions;
    - ``plm``: permutation inputs required; targets hidden; predictions read at a target of the order.
    """
    width = input_ids.shape[1]
    if config.max_seq_length is not None and width > config.max_seq_length:
        _refuse(config, f"it is {width} positions wide but the model's max_seq_length is {config.max_seq_length}")
    if max_positions is not None and width > max_positions:
        _refuse(config, f"it is {width} positions wide but the backbone has {max_positions} position embeddings")
    padding = attention_mask == 0
    if (input_ids[padding] != config.pad_token_id).any():
        found = int(input_ids[padding & (input_ids != config.pad_token_id)][0])
        _refuse(config, f"padding holds id {found} but the model's pad_token_id is {config.pad_token_id}")
    if (input_ids[mask_positions] != config.mask_token_id).any():
        found = int(input_ids[mask_positions & (input_ids != config.mask_token_id)][0])
        _refuse(config, f"hidden positions hold id {found} but the model's mask_token_id is {config.mask_token_id}")

    scheme, family = config.scheme, config.backbone_config.model_type
    if has_permutation and family != "xlnet":
        _refuse(config, f"it carries XLNet permutation inputs (perm_mask/perm_order), which {family} cannot take")
    if has_permutation and scheme in ("mlm", "rtd"):
        _refuse(config, "it carries permutation inputs (a plm or causal-XLNet batch), but the model is masked-LM")
    if scheme == "plm" and not has_permutation:
        _refuse(config, "a permutation model given no permutation (no perm_mask/perm_order): a clm/mlm batch?")

    if labels is not None and prediction_positions is None:  # training
        _check_training_targets(config, labels != IGNORE_INDEX, mask_positions, perm_order)
    elif prediction_positions is not None:
        _check_prediction_reads(config, prediction_positions, mask_positions, has_permutation, perm_order)


def _check_training_targets(
    config: Any, targets: torch.Tensor, mask_positions: torch.Tensor, perm_order: torch.Tensor | None
) -> None:
    """A training batch's targets (B, L) bool are hidden where the scheme hides them; clm's order is causal."""
    scheme = config.scheme
    if scheme == "clm" and mask_positions.any():
        _refuse(config, "a causal model given hidden positions in training: this is a masked (mlm/plm/rtd) batch")
    hides_every_target = scheme == "plm" or (
        scheme in ("mlm", "rtd") and config.masking.get("mask_replace_prob", 1.0) >= 1.0
    )
    if hides_every_target and (targets & ~mask_positions).any():
        visible = int((targets & ~mask_positions).sum())
        _refuse(
            config,
            f"{visible} of {int(targets.sum())} targets are visible in the input, and a "
            f"{'permutation' if scheme == 'plm' else 'bidirectional'} model would learn to copy them "
            f"(a clm batch?)",
        )
    if perm_order is not None and scheme == "clm":
        positions = torch.arange(perm_order.shape[1], device=perm_order.device)  # (L,)
        if ((perm_order >= 0) & (perm_order != positions)).any():
            _refuse(config, "its perm_order is not the left-to-right order of causal training (a plm batch?)")


def _check_prediction_reads(
    config: Any,
    prediction_positions: torch.Tensor,
    mask_positions: torch.Tensor,
    has_permutation: bool,
    perm_order: torch.Tensor | None,
) -> None:
    """An eval/predict batch reads each row's prediction where the model makes it."""
    rows = torch.nonzero(prediction_positions >= 0).flatten()
    read = prediction_positions[rows]
    hidden_at_read = mask_positions[rows, read]
    if config.scheme == "clm" and not has_permutation:  # a shifting causal LM (GPT-2, or XLNet with attn_type="uni")
        if hidden_at_read.any():
            _refuse(config, "a causal LM reads its prediction at the last visible item, but this batch reads it at a "
                    "hidden position (an mlm/plm/rtd batch?)")  # fmt: skip
    elif has_permutation and perm_order is not None:
        if (perm_order[rows, read] < 0).any():
            _refuse(config, "its prediction is read at a position that is not a target of the permutation order")
    elif not has_permutation and not hidden_at_read.all():
        _refuse(config, "its prediction is read at a visible item, which a bidirectional model sees (a clm batch?)")
