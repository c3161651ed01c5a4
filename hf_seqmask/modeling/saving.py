"""The saved state of :class:`~hf_seqmask.SeqRecModel`: its item vocabulary and model card beside the
weights, found again where the weights are (a folder or a Hub repo), and gradient checkpointing
handed to the backbone.

A mixin placed before ``PreTrainedModel`` in ``SeqRecModel``'s bases, so its ``save_pretrained``,
``from_pretrained`` and ``_set_gradient_checkpointing`` wrap transformers' own (``super()``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import hub
from ..data.feature_tables import FEATURE_SPEC_FILE, FeatureSpec
from ..data.vocabulary import VOCABULARY_FILE, ItemVocabulary
from .backbones import check_gradient_checkpointing
from .model_card import write_model_card


class SeqRecSavingMixin:
    """``set_vocabulary``, ``save_pretrained`` (+ vocabulary, model card), ``from_pretrained``
    (+ vocabulary from the folder or Hub repo) and gradient checkpointing for ``SeqRecModel``."""

    if TYPE_CHECKING:  # provided by SeqRecModel
        config: Any
        vocabulary: ItemVocabulary | None
        feature_spec: FeatureSpec | None

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

    def save_pretrained(
        self, save_directory: str | os.PathLike, *args: Any, model_card: dict[str, Any] | bool = True, **kwargs: Any
    ) -> None:
        """``PreTrainedModel.save_pretrained`` plus the item vocabulary (``item_vocabulary.json``), the side
        features' spec (``feature_spec.json``, when ``feature_spec`` is set) and a
        model card (``README.md``: how to load, the masking spec, data, metrics, intended use,
        limitations; :func:`~hf_seqmask.modeling.model_card.model_card`). ``model_card``: ``True``, a
        dict of the card's fields (``data``, ``metrics``, ``license``, ``tags``, ``intended_use``), or
        ``False`` for no card; a ``README.md`` that hf_seqmask did not write is kept."""
        super().save_pretrained(save_directory, *args, **kwargs)  # type: ignore[misc]
        if not kwargs.get("is_main_process", True):
            return
        if self.vocabulary is not None:
            self.vocabulary.save_pretrained(Path(save_directory))
        feature_spec = getattr(self, "feature_spec", None)
        if feature_spec is not None:
            feature_spec.save_pretrained(Path(save_directory))
        if model_card is not False:
            info = model_card if isinstance(model_card, dict) else {}
            write_model_card(save_directory, self.config, vocabulary=self.vocabulary, **info)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any) -> Any:
        """``PreTrainedModel.from_pretrained`` plus the item vocabulary saved beside the weights, found
        where the weights were (a folder, or a Hub repo through the HF cache: :mod:`hf_seqmask.hub`);
        a model saved without one loads without one."""
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)  # type: ignore[misc]
        path = hub.resolve_file(pretrained_model_name_or_path, VOCABULARY_FILE, **hub.hub_options(kwargs))
        if path is not None:
            model.set_vocabulary(ItemVocabulary.from_file(path))
        path = hub.resolve_file(pretrained_model_name_or_path, FEATURE_SPEC_FILE, **hub.hub_options(kwargs))
        if path is not None:
            model.feature_spec = FeatureSpec.from_file(path)
        return model

    def _set_gradient_checkpointing(self, enable: bool = True, *args: Any, **kwargs: Any) -> None:
        """What ``gradient_checkpointing_enable`` (``activation_checkpointing_enable``, the Trainer's
        ``gradient_checkpointing=True``) reaches: the backbone's (and generator's) layers checkpointed,
        or a ``ValueError`` naming the family whose HF model has no checkpointing (XLNet)."""
        if enable:
            check_gradient_checkpointing(self)
        super()._set_gradient_checkpointing(enable, *args, **kwargs)  # type: ignore[misc]
