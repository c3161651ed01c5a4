"""Direct unit tests of the private masking algorithms (hf_seqmask._masking): golden small inputs with
every output compared in full, and the invariants each docstring promises on random ragged rows."""

import numpy as np
import pytest
import torch

from hf_seqmask import _masking

LENGTHS = torch.tensor([5, 1, 0, 2, 3])  # ragged rows: long, one item, empty, two items, three
REAL = torch.arange(6) < LENGTHS[:, None]  # (5, 6)


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def random_rows(seed, batch=64, width=12):
    lengths = torch.randint(0, width + 1, (batch,), generator=generator(seed))
    return lengths, torch.arange(width) < lengths[:, None]


def test_last_and_next_item_targets_golden():
    last = _masking.last_item_targets(REAL).int().tolist()
    assert last == [
        [0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0],  # one item: nothing to predict it from
        [0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
    ]
    following = _masking.next_item_targets(REAL).int().tolist()
    assert following == [
        [0, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0],
    ]


def test_ensure_target_and_context_golden():
    targets = torch.tensor(
        [
            [0, 0, 0, 0, 0, 0],  # no target: gains the real position with the smallest draw
            [1, 0, 0, 0, 0, 0],  # one item: no target at all
            [0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],  # all real items targets: gives back the one with the largest draw
            [0, 1, 0, 0, 0, 0],  # already fine: unchanged
        ],
        dtype=torch.bool,
    )
    draws = torch.tensor(
        [
            [0.9, 0.8, 0.3, 0.7, 0.6, 0.0],  # position 5 is padding: never picked
            [0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
            [0.2, 0.1, 0.9, 0.9, 0.9, 0.9],
            [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        ]
    )
    fixed = _masking.ensure_target_and_context(targets, REAL, draws=draws)
    assert fixed.int().tolist() == [
        [0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
    ]
    assert targets[3].tolist() == [True, True, False, False, False, False], "the input is not mutated"


@pytest.mark.parametrize("probability", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_bernoulli_targets_keep_a_target_and_a_context_per_row(probability, seed):
    lengths, real = random_rows(seed)
    targets = _masking.bernoulli_targets(real, lengths, probability, generator(seed))
    assert targets.dtype == torch.bool and targets.shape == real.shape
    assert not (targets & ~real).any(), "targets only on real items"
    counts = targets.sum(dim=1)
    eligible = lengths >= 2
    assert (counts[~eligible] == 0).all()
    assert ((counts[eligible] >= 1) & (counts[eligible] <= lengths[eligible] - 1)).all()
    again = _masking.bernoulli_targets(real, lengths, probability, generator(seed))
    assert torch.equal(targets, again), "same generator state, same targets"


def test_bernoulli_targets_draw_about_the_probability():
    lengths = torch.full((4000,), 10)
    real = torch.ones(4000, 10, dtype=torch.bool)
    share = _masking.bernoulli_targets(real, lengths, 0.3, generator(1)).float().mean().item()
    assert abs(share - 0.3) < 0.01


def test_numpy_generator_descends_from_the_torch_generator_and_consumes_two_draws():
    torch_generator = generator(7)
    first = _masking.numpy_generator(torch_generator).random(4)
    second = _masking.numpy_generator(torch_generator).random(4)
    assert not np.array_equal(first, second), "the torch generator advanced"
    replay = generator(7)
    assert np.array_equal(_masking.numpy_generator(replay).random(4), first)
    reference = generator(7)
    torch.randint(0, 2**62, (2,), generator=reference)
    assert torch.equal(torch.rand(3, generator=replay), torch.rand(3, generator=reference))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("max_span_length", [1, 3])
def test_span_targets_stay_inside_the_real_items(seed, max_span_length):
    _, real = random_rows(seed)
    targets = _masking.span_targets(
        real, plm_probability=0.25, max_span_length=max_span_length, generator=generator(seed)
    )
    assert targets.dtype == torch.bool and not (targets & ~real).any()
    again = _masking.span_targets(
        real, plm_probability=0.25, max_span_length=max_span_length, generator=generator(seed)
    )
    assert torch.equal(targets, again)


@pytest.mark.parametrize("probability, max_span_length", [(0.25, 1), (0.25, 5), (0.5, 3)])
def test_span_targets_cover_about_plm_probability_of_a_long_row(probability, max_span_length):
    # Each context of span / p positions holds one span: a share p of the row, up to the last context.
    real = torch.ones(200, 400, dtype=torch.bool)
    targets = _masking.span_targets(
        real, plm_probability=probability, max_span_length=max_span_length, generator=generator(0)
    )
    assert abs(targets.float().mean().item() - probability) < 0.02


def test_replacement_split_is_a_partition_of_the_targets():
    targets = torch.ones(200, 50, dtype=torch.bool)
    targets[:, ::3] = False
    to_mask, to_random = _masking.replacement_split(
        targets, mask_replace_prob=0.8, random_replace_prob=0.1, generator=generator(0)
    )
    assert not (to_mask & to_random).any() and not ((to_mask | to_random) & ~targets).any()
    share = targets.sum().item()
    assert abs(to_mask.sum().item() / share - 0.8) < 0.02 and abs(to_random.sum().item() / share - 0.1) < 0.02


def test_draw_items_draws_only_the_given_ids():
    ids = torch.tensor([5, 9, 11])
    drawn = _masking.draw_items(1000, ids, generator(0))
    assert set(drawn.tolist()) == {5, 9, 11}


@pytest.mark.parametrize("seed", range(3))
def test_random_factorisation_order_numbers_each_rows_targets_0_to_n_minus_1(seed):
    _, real = random_rows(seed)
    targets = real & (torch.rand(real.shape, generator=generator(seed + 10)) < 0.5)
    order = _masking.random_factorisation_order(targets, generator(seed))
    assert (order[~targets] == -1).all()
    for row in range(targets.shape[0]):
        ranks = sorted(order[row][targets[row]].tolist())
        assert ranks == list(range(int(targets[row].sum())))


def test_causal_order_and_its_perm_mask_golden():
    real = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    order = _masking.causal_order(real)
    assert order.tolist() == [[-1, 1, 2, -1]]
    perm_mask = _masking.expand_perm_order(order, real.long(), dtype=torch.float32)
    # 1 = may NOT attend: the first item is context everyone sees; position 1 sees 0 only; padding never.
    assert perm_mask.int().tolist() == [
        [
            [0, 1, 1, 1],
            [0, 1, 1, 1],
            [0, 0, 1, 1],
            [0, 1, 1, 1],
        ]
    ]
    assert perm_mask.dtype == torch.float32
    assert _masking.expand_perm_order(order, real.long(), dtype=torch.bfloat16).dtype == torch.bfloat16


@pytest.mark.parametrize("seed", range(3))
def test_expand_perm_order_never_lets_a_target_see_itself_or_a_later_target(seed):
    _, real = random_rows(seed, batch=16, width=8)
    targets = real & (torch.rand(real.shape, generator=generator(seed)) < 0.5)
    order = _masking.random_factorisation_order(targets, generator(seed))
    blocked = _masking.expand_perm_order(order, real.long()).bool()  # (B, L, L)
    for b in range(real.shape[0]):
        for i in range(real.shape[1]):
            for j in range(real.shape[1]):
                if not real[b, j]:
                    assert blocked[b, i, j]
                elif targets[b, j] and (not targets[b, i] or order[b, j] >= order[b, i]):
                    assert blocked[b, i, j], (b, i, j)
                else:
                    assert not blocked[b, i, j], (b, i, j)


def test_identity_target_mapping_is_one_hot_rows():
    mapping = _masking.identity_target_mapping(2, 3, dtype=torch.float16)
    assert mapping.shape == (2, 3, 3) and mapping.dtype == torch.float16
    assert torch.equal(mapping[1].float(), torch.eye(3))
