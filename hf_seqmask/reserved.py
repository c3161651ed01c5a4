"""The reserved ids and the ignore index: the one place these numbers are written down.

Item id 0 pads rows and id 1 stands in for a hidden item; real items start at ``NUM_RESERVED_IDS``
(what ``ItemVocabulary`` numbers from and what the main job configures). ``IGNORE_INDEX`` is the
label of positions without a target, the ignore index of every HF loss. A model's own ids live in
its ``SeqRecConfig`` (``pad_token_id``, ``mask_token_id``, ``special_token_ids``); these are the
defaults everything else derives from.

Example:
    >>> from hf_seqmask.reserved import IGNORE_INDEX, MASK_TOKEN_ID, NUM_RESERVED_IDS, PAD_TOKEN_ID
    >>> PAD_TOKEN_ID, MASK_TOKEN_ID, NUM_RESERVED_IDS, IGNORE_INDEX
    (0, 1, 2, -100)
"""

PAD_TOKEN_ID = 0
MASK_TOKEN_ID = 1
NUM_RESERVED_IDS = 2
IGNORE_INDEX = -100
