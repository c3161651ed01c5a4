"""The model side, one module per job, in the manner of transformers' model folders.

- :mod:`.configuration`: :class:`SeqRecConfig`, the model's config and masking spec.
- :mod:`.backbones`: what each backbone family brings (item head, body output, position limit,
  XLNet's permutation inputs).
- :mod:`.modeling_seqrec`: :class:`SeqRecModel` (embeddings, ``forward``).
- :mod:`.serving`: scoring, chunked ranking and ``recommend``, as :class:`SeqRecServingMixin`.
- :mod:`.saving`: the item vocabulary and model card saved beside the weights and found again in a
  folder or Hub repo, gradient checkpointing, as :class:`SeqRecSavingMixin`; :mod:`.model_card`.
- :mod:`.embeddings`, :mod:`.outputs`: the side features' layers and :class:`SeqRecOutput`.

ELECTRA's step lives in :mod:`hf_seqmask._rtd`, the losses in :mod:`hf_seqmask.losses`.
"""

from ..losses import cross_entropy_or_zero, target_selection
from .backbones import candidate_scores, hidden_states, item_logits
from .configuration import SCHEME_NAMES, SIDE_COMBINERS, SeqRecConfig
from .embeddings import MultiHotEmbedding
from .modeling_seqrec import SeqRecModel
from .outputs import SeqRecOutput
from .serving import SeqRecServingMixin

__all__ = [
    "SCHEME_NAMES",
    "SIDE_COMBINERS",
    "MultiHotEmbedding",
    "SeqRecConfig",
    "SeqRecModel",
    "SeqRecOutput",
    "SeqRecServingMixin",
    "candidate_scores",
    "cross_entropy_or_zero",
    "hidden_states",
    "item_logits",
    "target_selection",
]
