"""Direct unit tests of the seeding rule (hf_seqmask._seeding): which key gives which stream."""

import pytest
import torch

from hf_seqmask import _seeding


def test_derive_seed_is_deterministic_63_bit_and_separates_nearby_keys():
    seeds = {
        _seeding.derive_seed(seed, rank, worker, 0) for seed in range(3) for rank in range(3) for worker in range(3)
    }
    assert len(seeds) == 27, "every (seed, rank, worker) key its own stream"
    assert all(0 <= s < 2**63 for s in seeds)
    # transformers' seed + worker_id rule would make these two equal
    assert _seeding.derive_seed(0, 0, 1) != _seeding.derive_seed(1, 0, 0)
    assert _seeding.derive_seed(5, 1, 2) == _seeding.derive_seed(5, 1, 2)


def test_batch_seed_without_an_epoch_is_a_stream_per_process_and_call():
    first = _seeding.batch_seed(0, 0, rank=0)
    assert first == _seeding.derive_seed(0, 0, 0, 0), "call 0 of the main process is the stream's base"
    calls = [_seeding.batch_seed(0, call, rank=0) for call in range(100)]
    assert len(set(calls)) == 100
    assert _seeding.batch_seed(0, 3, rank=1) != _seeding.batch_seed(0, 3, rank=0)


def test_batch_seed_with_an_epoch_depends_on_the_batch_index_not_the_worker_layout():
    # In the main process (no worker) the batch index is batch_offset + call.
    direct = _seeding.batch_seed(0, 4, epoch=2, rank=0)
    shifted = _seeding.batch_seed(0, 1, epoch=2, batch_offset=3, rank=0)
    assert direct == shifted, "batch 4 of epoch 2 gets one seed however it is reached"
    assert _seeding.batch_seed(0, 4, epoch=3, rank=0) != direct
    assert _seeding.batch_seed(0, 4, epoch=2, rank=0) != _seeding.batch_seed(0, 4, rank=0)


def test_current_rank_reads_the_environment_and_names_a_bad_value(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert _seeding.current_rank() == 0
    monkeypatch.setenv("RANK", "3")
    assert _seeding.current_rank() == 3
    monkeypatch.setenv("RANK", "three")
    with pytest.raises(ValueError, match="RANK='three'"):
        _seeding.current_rank()


def test_fresh_seeds_differ_and_generators_replay_their_seed():
    assert _seeding.fresh_seed() != _seeding.fresh_seed()
    a, b = _seeding.generator_from_seed(123), _seeding.generator_from_seed(123)
    assert torch.equal(torch.rand(5, generator=a), torch.rand(5, generator=b))


def test_process_key_changes_only_with_the_process_or_worker():
    assert _seeding.process_key() == _seeding.process_key()
    assert _seeding.process_key()[1] == -1, "the main process has no worker seed"
