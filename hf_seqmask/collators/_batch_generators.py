"""The generator of each batch a collator draws for: keyed by ``(seed, rank, worker, epoch, batch)``
(``hf_seqmask._seeding``), re-derived in every process, never kept between calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .. import _seeding
from .._checks import check_int


@dataclass(kw_only=True)
class BatchGenerators:
    """Per-batch ``torch.Generator``s of a collator, from its ``seed`` field (``None``: fresh OS entropy)."""

    if TYPE_CHECKING:  # the collator's own field, declared there (the dataclass keeps its place)
        seed: int | None
    _process_key: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _process_seed: int = field(default=0, init=False, repr=False, compare=False)
    _calls: int = field(default=0, init=False, repr=False, compare=False)
    _epoch: int | None = field(default=None, init=False, repr=False, compare=False)
    _batch_offset: int = field(default=0, init=False, repr=False, compare=False)
    _rank: int | None = field(default=None, init=False, repr=False, compare=False)

    def _get_generator(self) -> torch.Generator:
        """This batch's generator (see ``hf_seqmask._seeding.batch_seed``); none is kept between calls."""
        call = self._next_call()
        rank = self._rank if self._rank is not None and _in_worker() else None  # resolved by the main process
        seed = _seeding.batch_seed(
            self._process_seed, call, epoch=self._epoch, batch_offset=self._batch_offset, rank=rank
        )
        return _seeding.generator_from_seed(seed)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for DataLoader workers (spawn/forkserver) at the iterator's start, in the main process:
        the rank is resolved here, where the process group and ``RANK`` are known."""
        state = dict(self.__dict__)
        if not _in_worker():
            state["_rank"] = _seeding.current_rank()
        return state

    def _next_call(self) -> int:
        """The index of this batch among those this process collated (a new process counts from 0)."""
        key = _seeding.process_key()
        if self._process_key != key:  # a new process or DataLoader worker: its own count (and entropy)
            self._process_key, self._calls = key, 0
            self._process_seed = self.seed if self.seed is not None else _seeding.fresh_seed()
        call, self._calls = self._calls, self._calls + 1
        return call

    def set_epoch(self, epoch: int, skipped_batches: int = 0) -> None:
        """Key the masks of the next batches by ``(epoch, batch index)``, counting from
        ``skipped_batches`` (the batches a resumed run skips): a resumed run then draws the masks of
        the uninterrupted one, with any number of (non-persistent) DataLoader workers.
        :class:`hf_seqmask.resume.CollatorEpochCallback` calls it at every epoch's start."""
        check_int("epoch", epoch, minimum=0)
        check_int("skipped_batches", skipped_batches, minimum=0)
        self._epoch, self._batch_offset, self._calls = int(epoch), int(skipped_batches), 0


def _in_worker() -> bool:
    return torch.utils.data.get_worker_info() is not None
