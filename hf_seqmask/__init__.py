"""hf_seqmask: the four Transformers4Rec masking schemes as HuggingFace data collators.

Example:
    >>> from hf_seqmask import make_collator
    >>> collator = make_collator("mlm", vocab_size=100, mask_token_id=1, seed=0)
    >>> type(collator).__name__
    'MaskedCollator'
"""

from typing import Any

from transformers import AutoConfig, AutoModel

from ._masking import expand_perm_order, identity_target_mapping
from .collators import (
    SCHEMES,
    CausalCollator,
    MaskedCollator,
    NegativeSampling,
    PermutationCollator,
    ReplacementCollator,
    SequenceCollator,
)
from .mask_embedding import MaskEmbedding, apply_mask_embedding
from .model_inputs import keep_model_inputs
from .modeling import SeqRecConfig, SeqRecModel, SeqRecOutput
from .reserved import IGNORE_INDEX
from .resume import CollatorEpochCallback
from .spec import SUPPORTED_PAIRS, collator_from_config
from .trainer import SeqRecTrainer, ranking_metrics_for_trainer

__version__ = "0.1.0"

# After `import hf_seqmask`, AutoConfig/AutoModel.from_pretrained(saved_dir) build a SeqRecModel.
AutoConfig.register(SeqRecConfig.model_type, SeqRecConfig, exist_ok=True)
AutoModel.register(SeqRecConfig, SeqRecModel, exist_ok=True)


def make_collator(scheme: str, **options: Any) -> SequenceCollator:
    """The collator of ``scheme`` (``clm``, ``mlm``, ``plm`` or ``rtd``) built with ``options``.

    Raises:
        ValueError: an unknown scheme.
        TypeError: an option the scheme does not have.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Invalid scheme={scheme!r}; must be one of {sorted(SCHEMES)}")
    return SCHEMES[scheme](**options)


__all__ = [
    "IGNORE_INDEX",
    "SCHEMES",
    "SUPPORTED_PAIRS",
    "CausalCollator",
    "CollatorEpochCallback",
    "MaskEmbedding",
    "MaskedCollator",
    "NegativeSampling",
    "PermutationCollator",
    "ReplacementCollator",
    "SeqRecConfig",
    "SeqRecModel",
    "SeqRecOutput",
    "SeqRecTrainer",
    "SequenceCollator",
    "__version__",
    "apply_mask_embedding",
    "collator_from_config",
    "expand_perm_order",
    "identity_target_mapping",
    "keep_model_inputs",
    "make_collator",
    "ranking_metrics_for_trainer",
]
