"""The four masking collators, one module each; shared options live in :class:`SequenceCollator`."""

from ._base import SequenceCollator
from .causal import CausalCollator
from .masked import MaskedCollator
from .permutation import PermutationCollator
from .replacement import ReplacementCollator

__all__ = ["CausalCollator", "MaskedCollator", "PermutationCollator", "ReplacementCollator", "SequenceCollator"]
