"""The job's collective timeout and lost-peer error (hf_seqmask.job.peers), in one process with a
1-rank gloo group; 2 ranks with one killed or hung: tests/job/test_dist_faults.py."""

import pytest
import torch.distributed as dist

from hf_seqmask.job import apply_collective_timeout, leave_process_group, peers_watched

GLOO_TIMEOUT = "[gloo/transport/tcp/unbound_buffer.cc:129] Timed out waiting 10000ms for send operation to complete"


def test_without_a_process_group_nothing_is_set_and_errors_pass_through():
    assert not dist.is_initialized()
    assert apply_collective_timeout(5) is False
    with pytest.raises(RuntimeError, match="Timed out waiting"), peers_watched(5):
        raise RuntimeError(GLOO_TIMEOUT)


def test_a_lost_peer_becomes_one_line_naming_the_rank_and_the_timeout(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert apply_collective_timeout(7)
        with pytest.raises(SystemExit) as stopped, peers_watched(7):
            raise RuntimeError(GLOO_TIMEOUT)
        message = str(stopped.value.code)
        assert "\n" not in message and message.startswith("error: rank 0 of 1 lost its peer")
        assert "--ddp_timeout 7 s" in message and message.endswith(GLOO_TIMEOUT)
        with pytest.raises(RuntimeError, match="shape mismatch"), peers_watched(7):
            raise RuntimeError("shape mismatch")  # not a lost peer: the error as it is
    finally:
        dist.destroy_process_group()


def test_the_job_leaves_no_process_group_up_when_it_ends(tmp_path):
    # A rank that exits with its gloo group up can abort at interpreter exit and take the launch down
    # (CI, stop 41): the job's last step is a barrier, then the group destroyed.
    assert leave_process_group() is False  # one process, no group: nothing to do
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert leave_process_group() is True
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
