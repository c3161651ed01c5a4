"""hf_seqmask: the four Transformers4Rec masking schemes as HuggingFace data collators.

Example:
    >>> from hf_seqmask import make_collator
    >>> collator = make_collator("mlm", vocab_size=100, mask_token_id=1, seed=0)
    >>> type(collator).__name__
    'MaskedCollator'
"""

from ._masking import IGNORE_INDEX, expand_perm_order, identity_target_mapping
from .collators import CausalCollator, MaskedCollator, PermutationCollator, ReplacementCollator, SequenceCollator
from .early_stopping import RankingEarlyStopping
from .mask_embedding import MaskEmbedding, apply_mask_embedding
from .model_inputs import keep_model_inputs
from .modeling import SeqRecConfig, SeqRecModel, SeqRecOutput
from .trainer import SeqRecTrainer

__version__ = "0.1.0"

SCHEMES = {
    "clm": CausalCollator,
    "mlm": MaskedCollator,
    "plm": PermutationCollator,
    "rtd": ReplacementCollator,
}


def make_collator(scheme: str, **options) -> SequenceCollator:
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
    "CausalCollator",
    "MaskEmbedding",
    "MaskedCollator",
    "PermutationCollator",
    "RankingEarlyStopping",
    "ReplacementCollator",
    "SeqRecConfig",
    "SeqRecModel",
    "SeqRecOutput",
    "SeqRecTrainer",
    "SequenceCollator",
    "__version__",
    "apply_mask_embedding",
    "expand_perm_order",
    "identity_target_mapping",
    "keep_model_inputs",
    "make_collator",
]
