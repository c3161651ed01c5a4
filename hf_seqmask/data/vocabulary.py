"""Raw item ids (ints or strings) <-> contiguous ids with reserved pad and mask ids."""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import check_int_at_least
from ..hub import resolve_file
from ..reserved import MASK_TOKEN_ID, NUM_RESERVED_IDS, PAD_TOKEN_ID

VOCABULARY_FILE = "item_vocabulary.json"


class ItemVocabulary:
    """Maps raw item ids to ``num_reserved, num_reserved + 1, ...``; ids below are reserved.

    Id 0 is padding and id 1 the mask (``pad_token_id``/``mask_token_id``). Items are numbered by
    decreasing frequency, ties by the raw id's string form, so a vocabulary built twice from the same
    data is identical. Items seen fewer than ``min_frequency`` times are left out (counted in
    ``num_dropped_items``); encoding them gives ``None`` or an error, as the caller chooses.

    Example:
        >>> vocabulary = ItemVocabulary.build(["b", "a", "b", "c"])
        >>> vocabulary.encode(["b", "a"]), vocabulary.vocab_size
        ([2, 3], 5)
        >>> vocabulary.decode([2, 3])
        ['b', 'a']
    """

    pad_token_id = PAD_TOKEN_ID
    mask_token_id = MASK_TOKEN_ID
    num_reserved = NUM_RESERVED_IDS

    def __init__(self, items: list, counts: list[int], *, min_frequency: int = 1, num_dropped_items: int = 0) -> None:
        if len(items) != len(counts):
            raise ValueError(f"{len(items)} items but {len(counts)} counts")
        self.items = list(items)
        self.counts = list(counts)
        self.min_frequency = min_frequency
        self.num_dropped_items = num_dropped_items
        self._index = {item: self.num_reserved + i for i, item in enumerate(self.items)}
        if len(self._index) != len(self.items):
            raise ValueError("item ids repeat in the vocabulary")

    @classmethod
    def build(cls, raw_items: Iterable, *, min_frequency: int = 1) -> ItemVocabulary:
        """Count ``raw_items`` (every interaction's item) and number the frequent ones.

        Raw ids are ints or strings (numpy's too); ``None``, NaN, floats, bools, tuples and other
        values raise, naming the position: they do not survive a save/load round trip as themselves.
        """
        return cls._from_counter(
            Counter(_raw_id(item, position) for position, item in enumerate(raw_items)), min_frequency
        )

    @classmethod
    def _from_counter(cls, counter: Counter, min_frequency: int) -> ItemVocabulary:
        check_int_at_least("min_frequency", min_frequency, 1)
        kept = sorted(
            ((item, count) for item, count in counter.items() if count >= min_frequency),
            key=lambda pair: (-pair[1], str(pair[0])),
        )
        return cls(
            [item for item, _ in kept],
            [count for _, count in kept],
            min_frequency=min_frequency,
            num_dropped_items=len(counter) - len(kept),
        )

    @classmethod
    def from_interactions(
        cls, interactions: Any, *, item_column: str = "item_id", min_frequency: int = 1
    ) -> ItemVocabulary:
        """:meth:`build` from a ``datasets.Dataset`` column, counted by Arrow (fast on millions of rows)."""
        column = interactions.select_columns([item_column]).with_format("arrow")[:].column(item_column)
        if column.null_count:
            first = int(pc.index(pc.is_null(column), True).as_py())
            raise ValueError(
                f"column {item_column!r}: {column.null_count} rows have no item id (the first is row {first})"
            )
        if not (
            pa.types.is_integer(column.type) or pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        ):
            raise TypeError(
                f"column {item_column!r} holds {column.type} item ids; raw item ids must be integers or strings "
                "(cast the column first)"
            )
        counts = pc.value_counts(column)
        values, numbers = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        return cls._from_counter(Counter(dict(zip(values, numbers, strict=True))), min_frequency)

    @property
    def vocab_size(self) -> int:
        """Size of the embedding table: reserved ids + items."""
        return self.num_reserved + len(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, raw_item: Any) -> bool:
        return _plain(raw_item) in self._index

    def encode(self, raw_items: Iterable, *, unknown: str = "error") -> list:
        """Raw ids -> ids; ``unknown="error"`` raises on an unknown item, ``"drop"`` leaves it out."""
        if unknown not in ("error", "drop"):
            raise ValueError(f"Invalid unknown={unknown!r}; must be 'error' or 'drop'")
        ids = []
        for position, item in enumerate(raw_items):
            index = self._index.get(_plain(item))
            if index is None:
                if unknown == "error":
                    raise KeyError(f"item {item!r} at position {position} is not in the vocabulary")
                continue
            ids.append(index)
        return ids

    def decode(self, ids: Iterable[int]) -> list:
        """Ids -> raw ids (reserved ids, out-of-range ids and non-integers raise)."""
        out = []
        for position, i in enumerate(ids):
            if isinstance(i, (bool, np.bool_)):
                raise TypeError(f"id {i!r} at position {position} is a bool, not an item id")
            try:
                index = operator.index(i)
            except TypeError:
                raise TypeError(f"id {i!r} at position {position} is not an integer") from None
            if not self.num_reserved <= index < self.vocab_size:
                raise KeyError(f"id {index} is reserved or outside the vocabulary (size {self.vocab_size})")
            out.append(self.items[index - self.num_reserved])
        return out

    def frequencies(self) -> np.ndarray:
        """Interaction counts per id, (vocab_size,) int64, 0 at the reserved ids (popularity)."""
        return np.concatenate([np.zeros(self.num_reserved, np.int64), np.asarray(self.counts, np.int64)])

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``item_vocabulary.json`` into ``directory`` (next to a saved model)."""
        path = Path(directory) / VOCABULARY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "items": self.items,
            "counts": self.counts,
            "min_frequency": self.min_frequency,
            "num_dropped_items": self.num_dropped_items,
        }
        path.write_text(json.dumps(payload))
        return path

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, **options: Any) -> ItemVocabulary:
        """The vocabulary saved in a model folder or Hub repo (``item_vocabulary.json``), found as the
        model's weights are (:func:`hf_seqmask.hub.resolve_file`; ``options``: ``revision``,
        ``cache_dir``, ``token``, ``local_files_only``, ``subfolder``, ...).

        Raises:
            FileNotFoundError: the folder or repo holds no vocabulary.
        """
        path = resolve_file(name_or_path, VOCABULARY_FILE, **options)
        if path is None:
            raise FileNotFoundError(f"{str(name_or_path)!r} holds no {VOCABULARY_FILE}")
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: str | Path) -> ItemVocabulary:
        """The vocabulary in one ``item_vocabulary.json`` file."""
        payload = json.loads(Path(path).read_text())
        return cls(
            payload["items"],
            payload["counts"],
            min_frequency=payload["min_frequency"],
            num_dropped_items=payload["num_dropped_items"],
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemVocabulary) and (self.items, self.counts) == (other.items, other.counts)


def _plain(item: Any) -> Any:
    """numpy scalars -> Python scalars, so 5, np.int64(5) and a JSON round trip agree."""
    return item.item() if isinstance(item, np.generic) else item


def _raw_id(item: Any, position: int) -> int | str:
    """A raw item id as the vocabulary keeps it: an int or a str (what JSON saves and loads back)."""
    item = _plain(item)
    if isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool)):
        return item
    raise TypeError(
        f"item {item!r} at position {position} is a {type(item).__name__}; raw item ids must be ints or strings "
        "(None and NaN are missing values: drop or fill those interactions first)"
    )
