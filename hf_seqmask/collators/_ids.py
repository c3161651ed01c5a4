"""The id space of a collator: the vocabulary, the reserved ids, and the check that a batch's
sequences hold item ids only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import _padding
from .._checks import check_int


@dataclass(frozen=True)
class ItemIds:
    """``[0, vocab_size)`` with its reserved ids (pad, mask, special), validated on creation
    (``special_token_ids`` becomes a tuple).

    ``reserved``: (V,) bool, the ids that never appear in a sequence; ``real_item_ids``:
    (V - reserved,) int64, the ids drawn as random items and negatives.

    Example:
        >>> ids = ItemIds(6, pad_token_id=0, mask_token_id=1, special_token_ids=(5,))
        >>> ids.real_item_ids.tolist()
        [2, 3, 4]
        >>> ids.check(np.array([2, 5]), np.array([2]), key="input_ids")
        Traceback (most recent call last):
        ...
        ValueError: row 0 of 'input_ids': position 1 holds 5, which is special_token_ids; sequences must ...
    """

    vocab_size: int
    pad_token_id: int
    mask_token_id: int
    special_token_ids: tuple[int, ...] = ()
    reserved: torch.Tensor = field(init=False, repr=False, compare=False)
    real_item_ids: torch.Tensor = field(init=False, repr=False, compare=False)
    largest_reserved: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, minimum=1)
        for name in ("pad_token_id", "mask_token_id"):
            check_int(name, getattr(self, name), minimum=0)
            if getattr(self, name) >= self.vocab_size:
                raise ValueError(f"Invalid {name}={getattr(self, name)}; must be < vocab_size={self.vocab_size}")
        if self.pad_token_id == self.mask_token_id:
            raise ValueError(f"pad_token_id and mask_token_id must differ; both are {self.pad_token_id}")
        if isinstance(self.special_token_ids, (str, bytes)) or not isinstance(self.special_token_ids, Sequence):
            raise TypeError(f"Invalid special_token_ids={self.special_token_ids!r}; must be a tuple of ints")
        object.__setattr__(self, "special_token_ids", tuple(self.special_token_ids))
        for token in self.special_token_ids:
            check_int("special_token_ids", token, minimum=0)
            if token >= self.vocab_size:
                raise ValueError(f"Invalid special_token_ids entry {token}; must be < vocab_size={self.vocab_size}")
        reserved = torch.zeros(self.vocab_size, dtype=torch.bool)  # (V,)
        reserved[[self.pad_token_id, self.mask_token_id, *self.special_token_ids]] = True
        object.__setattr__(self, "reserved", reserved)
        object.__setattr__(self, "real_item_ids", torch.nonzero(~reserved).flatten())  # (V - reserved,)
        largest = max(self.pad_token_id, self.mask_token_id, *self.special_token_ids)
        object.__setattr__(self, "largest_reserved", largest)

    def check(self, flat: np.ndarray, lengths: np.ndarray, *, key: str) -> None:
        """Refuse an id outside the vocabulary or a reserved id in ``flat`` (N,), the rows of
        ``lengths`` (B,) concatenated; the message names the row and position."""
        if flat.size == 0:
            return
        smallest = flat.min()
        if smallest < 0 or flat.max() >= self.vocab_size:
            bad = np.flatnonzero((flat < 0) | (flat >= self.vocab_size))
            row, position = _padding.row_of_flat_index(lengths, int(bad[0]))
            raise ValueError(
                f"row {row} of {key!r}: item id {int(flat[bad[0]])} at position {position} is outside "
                f"[0, vocab_size={self.vocab_size})"
            )
        if smallest > self.largest_reserved:  # the usual case: the item ids lie above the reserved ones
            return
        reserved = self.reserved.numpy()[flat]  # (N,) bool
        if reserved.any():
            bad = np.flatnonzero(reserved)
            row, position = _padding.row_of_flat_index(lengths, int(bad[0]))
            value = int(flat[bad[0]])
            name = {self.pad_token_id: "pad_token_id", self.mask_token_id: "mask_token_id"}.get(
                value, "special_token_ids"
            )
            raise ValueError(
                f"row {row} of {key!r}: position {position} holds {value}, which is {name}; sequences "
                f"must hold item ids only (padding is added by the collator)"
            )
