"""Private random streams for the collators: one seeded ``torch.Generator`` per batch.

The rule (also in every collator's docstring):

* each batch gets its own generator, keyed by ``(seed, rank, worker_slot, epoch_seed, batch count)``
  -- or, under the Trainer, by ``(seed, rank, epoch, batch index)`` (see :func:`batch_seed`) -- and
  mixed through ``numpy.random.SeedSequence``, so nearby keys give unrelated streams
  (``seed + worker_id``, the rule of transformers' collators, makes seed 0 / worker 1 equal seed 1 /
  worker 0); no generator is kept, so a collator pickles at any time;
* ``rank`` is ``torch.distributed.get_rank()`` when a process group is up, else the ``RANK``
  environment variable that ``torchrun`` and ``accelerate launch`` set, else 0;
* ``worker_slot`` is 0 in the main process and ``worker_id + 1`` inside a DataLoader worker;
* ``epoch_seed`` is 0 in the main process and, inside a worker, the DataLoader's base seed of that
  epoch (``worker_info.seed - worker_info.id``). Non-persistent workers are re-created every epoch,
  so without it every epoch would replay the same masks; with it the masks change per epoch and stay
  reproducible whenever the DataLoader is (``torch.manual_seed``, ``DataLoader(generator=...)``, or
  ``transformers.set_seed`` as the HF Trainer does).

``seed=None`` draws fresh OS entropy once per process, then derives the same way: never the global RNG.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch


def current_rank() -> int:
    """The distributed rank of this process: the process group's, else ``RANK`` (set by ``torchrun``
    and ``accelerate launch``), else 0. A ``RANK`` that is not an integer raises, naming it.

    Inside a spawn/forkserver DataLoader worker neither is reliable (no process group; ``RANK`` may be
    unset): collators therefore resolve the rank in the main process, when they are pickled for the
    workers (``SequenceCollator.__getstate__``), and the workers use that.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    value = os.environ.get("RANK")
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"the environment variable RANK={value!r} is not an integer rank") from None


def process_key() -> tuple[int, int]:
    """``(pid, worker seed)``: cheap to read on every call; when it changes, the stream is re-made.

    The rank is read only then: ``torchrun`` and ``accelerate launch`` set ``RANK`` before the
    process starts, so it cannot change under a live generator.
    """
    info = torch.utils.data.get_worker_info()
    return os.getpid(), -1 if info is None else info.seed


def batch_seed(
    seed: int, call: int, *, epoch: int | None = None, batch_offset: int = 0, rank: int | None = None
) -> int:
    """The seed of one batch's generator: the ``call``-th batch this process collates.

    Without an epoch (a collator used on its own) the key is ``(seed, rank, worker_slot, epoch_seed,
    call)``: a stream per process that changes with the DataLoader's epoch seed. With an epoch (set by
    :class:`hf_seqmask.resume.CollatorEpochCallback` under the Trainer) it is ``(seed, rank, epoch,
    batch index)``, where a worker ``w`` of ``W`` collates the batches ``batch_offset + w + call * W``
    (DataLoader hands batches to workers round-robin): independent of the worker layout and of the
    batches a resumed run skips, so a resumed run draws the masks of the uninterrupted one.
    """
    info = torch.utils.data.get_worker_info()
    rank = current_rank() if rank is None else rank
    if epoch is not None:
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        return _indexed(derive_seed(seed, rank, EPOCH_KEYED, epoch), batch_offset + worker + call * workers)
    worker_slot, epoch_seed = (0, 0) if info is None else (info.id + 1, info.seed - info.id)
    return _indexed(derive_seed(seed, rank, worker_slot, epoch_seed), call)


_MASK64 = 2**64 - 1


def _indexed(base: int, index: int) -> int:
    """The ``index``-th seed of the stream ``base`` (index 0: ``base`` itself): SplitMix64 of ``base``
    and the index, a microsecond where a SeedSequence takes ten -- it runs once per batch."""
    if index == 0:
        return base
    z = (base + index * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


EPOCH_KEYED = 2**64 - 1  # a worker slot no process has: epoch-keyed seeds never meet stream seeds


@functools.lru_cache(maxsize=1024)
def derive_seed(seed: int, *key: int) -> int:
    """Mix the key into one 63-bit seed.

    Example:
        >>> derive_seed(0, 0, 0, 0) == derive_seed(0, 0, 0, 0)
        True
        >>> derive_seed(0, 0, 1, 0) != derive_seed(1, 0, 0, 0)
        True
    """
    entropy = [seed, *key]
    state = np.random.SeedSequence([int(v) % 2**64 for v in entropy]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def fresh_seed() -> int:
    """63 bits of OS entropy (``seed=None``): never the global RNG."""
    return int.from_bytes(os.urandom(8), "little") >> 1


def generator_from_seed(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
