"""The main job across processes: a stated timeout on its collectives, and a rank that lost a peer
exiting with one line that says so.

Under a multi-process launch (``torchrun``, ``accelerate launch``) a rank that dies or hangs leaves the
others blocked in their next collective (a gradient all-reduce, an evaluation gather). The launchers'
elastic agent tears the others down when a worker *exits* (within about a second); a worker that
hangs, or ranks started without an agent, are left to the process group's timeout. The Trainer sets
that timeout from ``--ddp_timeout`` (transformers' default: 1800 s) only off the CPU (transformers
5.x leaves a CPU/gloo group at torch's 30 minutes), so :func:`apply_collective_timeout` sets it on
every backend, and :func:`peers_watched` turns the backend's error (gloo: ``Timed out waiting
120000ms for recv operation``, ``Connection closed by peer``) into ``SystemExit`` with a one-line
message naming the rank, the peer(s) it lost and the timeout. At the end, :func:`leave_process_group`
has every rank wait for rank 0's writes and then take the group down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch

# What gloo (and NCCL) raise when a peer is gone or silent, in a collective.
LOST_PEER = re.compile(
    r"Timed out waiting|Connection closed by peer|Connection reset by peer|Broken pipe|"
    r"ECONNRESET|EPIPE|Application timeout caused pair closure|Watchdog caught collective operation timeout|"
    r"NCCL communicator was aborted"
)


def _group_up() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def apply_collective_timeout(seconds: float) -> bool:
    """Set the default process group's collective timeout to ``seconds`` (on the CPU too); ``False``
    when no process group is up (one process)."""
    if not _group_up():
        return False
    from torch.distributed import distributed_c10d

    distributed_c10d._set_pg_timeout(timedelta(seconds=seconds))
    return True


def lost_peer_message(error: BaseException, seconds: float) -> str | None:
    """The one-line error for ``error`` when it is a collective that lost a peer, else ``None``."""
    text = str(error)
    if not _group_up() or not LOST_PEER.search(text):
        return None
    rank, size = torch.distributed.get_rank(), torch.distributed.get_world_size()
    others = [r for r in range(size) if r != rank]
    peers = f"rank {others[0]}" if len(others) == 1 else f"one of ranks {', '.join(map(str, others)) or '-'}"
    detail = text.strip().splitlines()[-1] if text.strip() else type(error).__name__
    return (
        f"error: rank {rank} of {size} lost its peer ({peers}: dead, or silent for longer than the "
        f"collective timeout --ddp_timeout {seconds:g} s); stopping. The backend said: {detail[:300]}"
    )


@contextmanager
def peers_watched(seconds: float) -> Iterator[None]:
    """Raise ``SystemExit`` (status 1, one line) in place of a collective's lost-peer error."""
    try:
        yield
    except (RuntimeError, OSError) as error:
        message = lost_peer_message(error, seconds)
        if message is None:
            raise
        raise SystemExit(message) from None


def leave_process_group() -> bool:
    """Wait for every rank (rank 0 writes the model and metrics last), then destroy the process group;
    ``False`` when none is up.

    A rank that exits with its gloo group still up can abort at interpreter exit ("terminate called
    without an active exception", SIGABRT: gloo's worker threads still hold work whose tensors are
    freed after the interpreter is gone; pytorch/pytorch#190489 and #179291), and the launcher then
    kills the rank still writing: CI's 2-process test saw it once. Accelerate's ``end_training`` does
    the same destroy; the job's Trainer is gone by then, so this calls torch directly.
    """
    if not _group_up():
        return False
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    return True
