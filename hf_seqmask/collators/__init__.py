"""The four masking collators, one module each; shared options live in :class:`SequenceCollator`,
the negatives options in :class:`NegativeSampling`."""

from .._negatives import NegativeSampling
from ._base import SequenceCollator
from .causal import CausalCollator
from .masked import MaskedCollator
from .permutation import PermutationCollator
from .replacement import ReplacementCollator

SCHEMES: dict[str, type[SequenceCollator]] = {
    "clm": CausalCollator,
    "mlm": MaskedCollator,
    "plm": PermutationCollator,
    "rtd": ReplacementCollator,
}
"""The collator of each scheme name."""

__all__ = [
    "SCHEMES",
    "CausalCollator",
    "MaskedCollator",
    "NegativeSampling",
    "PermutationCollator",
    "ReplacementCollator",
    "SequenceCollator",
]
