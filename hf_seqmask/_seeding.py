"""Private random streams for the collators: one ``torch.Generator`` per process.

The rule (also in every collator's docstring):

* the stream of a collator is keyed by ``(seed, rank, worker_slot, epoch_seed)`` and mixed through
  ``numpy.random.SeedSequence``, so nearby keys give unrelated streams (``seed + worker_id``, the
  rule of transformers' collators, makes seed 0 / worker 1 equal seed 1 / worker 0);
* ``rank`` is ``torch.distributed.get_rank()`` when a process group is up, else the ``RANK``
  environment variable that ``torchrun`` and ``accelerate launch`` set, else 0;
* ``worker_slot`` is 0 in the main process and ``worker_id + 1`` inside a DataLoader worker;
* ``epoch_seed`` is 0 in the main process and, inside a worker, the DataLoader's base seed of that
  epoch (``worker_info.seed - worker_info.id``). Non-persistent workers are re-created every epoch,
  so without it every epoch would replay the same masks; with it the masks change per epoch and stay
  reproducible whenever the DataLoader is (``torch.manual_seed``, ``DataLoader(generator=...)``, or
  ``transformers.set_seed`` as the HF Trainer does).

``seed=None`` draws fresh OS entropy once per process: never the global RNG.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def current_rank() -> int:
    """The distributed rank of this process (0 when not distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def process_key() -> tuple[int, int]:
    """``(pid, worker seed)``: cheap to read on every call; when it changes, the stream is re-made.

    The rank is read only then: ``torchrun`` and ``accelerate launch`` set ``RANK`` before the
    process starts, so it cannot change under a live generator.
    """
    info = torch.utils.data.get_worker_info()
    return os.getpid(), -1 if info is None else info.seed


def stream_key() -> tuple[int, int, int, int]:
    """``(pid, rank, worker_slot, epoch_seed)`` of the calling process; a new key means a new stream."""
    info = torch.utils.data.get_worker_info()
    if info is None:
        return os.getpid(), current_rank(), 0, 0
    return os.getpid(), current_rank(), info.id + 1, info.seed - info.id


def derive_seed(seed: int, rank: int, worker_slot: int, epoch_seed: int) -> int:
    """Mix the stream key into one 63-bit seed.

    Example:
        >>> derive_seed(0, 0, 0, 0) == derive_seed(0, 0, 0, 0)
        True
        >>> derive_seed(0, 0, 1, 0) != derive_seed(1, 0, 0, 0)
        True
    """
    entropy = [seed, rank, worker_slot, epoch_seed]
    state = np.random.SeedSequence([int(v) % 2**64 for v in entropy]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def make_generator(seed: int | None, key: tuple[int, int, int, int]) -> torch.Generator:
    """A CPU generator for ``key`` (from :func:`stream_key`); OS entropy when ``seed`` is None."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()  # fresh entropy for this process, not the global RNG
    else:
        _, rank, worker_slot, epoch_seed = key
        generator.manual_seed(derive_seed(seed, rank, worker_slot, epoch_seed))
    return generator
