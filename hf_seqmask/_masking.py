"""Pure, vectorised masking algorithms: tensors in, tensors out, every draw through ``generator``.

Shapes: ``B`` rows, ``L`` positions. ``real`` is the (B, L) bool mask of real (non-padding) items;
rows are right-padded, so row ``b`` holds its items at positions ``0 .. lengths[b] - 1``.
None of these functions loops over rows, items or spans in Python.
"""

from __future__ import annotations

import threading

import numpy as np
import torch


def _uniform(shape: torch.Size | tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=generator)


def last_item_targets(real: torch.Tensor) -> torch.Tensor:
    """The last real item of every row with >= 2 items (B, L) bool.

    Example:
        >>> real = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.bool)
        >>> last_item_targets(real).int().tolist()
        [[0, 0, 1], [0, 0, 0]]
    """
    lengths = real.sum(dim=1)  # (B,)
    positions = torch.arange(real.shape[1])  # (L,)
    return (positions[None, :] == (lengths - 1)[:, None]) & (lengths >= 2)[:, None]


def next_item_targets(real: torch.Tensor) -> torch.Tensor:
    """Every real item that has a history, i.e. all real positions but the first (B, L) bool."""
    return real & (torch.arange(real.shape[1]) > 0)


def ensure_target_and_context(targets: torch.Tensor, real: torch.Tensor, *, draws: torch.Tensor) -> torch.Tensor:
    """Make every row with >= 2 real items hold >= 1 target and >= 1 non-target; others no target.

    A row without a target gains one real position drawn uniformly; a row whose real items are all
    targets gives one back, drawn uniformly among its targets. The picks read ``draws`` (B, L),
    uniforms either independent of ``targets`` or the ones that chose them as ``draws < p``: in a row
    without a target those are i.i.d. on ``[p, 1)``, so the argmin is a uniform pick; in a row of
    targets only they are i.i.d. on ``[0, p)``, so the argmax is. (Masked targets are drawn and fixed
    up in one pass by :func:`bernoulli_targets`; this serves the permutation scheme's spans.)
    """
    # numpy on zero-copy views: a dozen small ops cost ~1 us each there and ~5 us each in torch, which
    # made this function the largest cost of a masked batch.
    chosen = (targets & real).numpy()  # (B, L) bool, a fresh array
    real_np = real.numpy()
    num_real = real_np.sum(axis=1)  # (B,)
    eligible = num_real >= 2  # (B,)
    num_targets = chosen.sum(axis=1)  # (B,)
    needs_target = np.flatnonzero(eligible & (num_targets == 0))  # rows
    needs_context = np.flatnonzero(eligible & (num_targets == num_real))  # rows
    if needs_target.size or needs_context.size:
        uniforms = draws.numpy()
        # the real item closest to selection / the target furthest from it
        add = np.where(real_np[needs_target], uniforms[needs_target], 2.0).argmin(axis=1)
        drop = np.where(chosen[needs_context], uniforms[needs_context], -1.0).argmax(axis=1)
        chosen[needs_target, add] = True
        chosen[needs_context, drop] = False
    chosen &= eligible[:, None]
    return torch.from_numpy(chosen)


def bernoulli_targets(
    real: torch.Tensor, lengths: torch.Tensor, probability: float, generator: torch.Generator
) -> torch.Tensor:
    """BERT4Rec's targets (B, L) bool: each real item independently with ``probability``, then every
    row with >= 2 items holds >= 1 target and >= 1 non-target, and shorter rows hold none.

    A row left without a target gains one real position drawn uniformly; a row of targets only gives
    one back, drawn uniformly (all its items are targets, so a uniform position is a uniform target).
    ``lengths`` (B,) are the rows' real items, ``real`` their (B, L) positions. All draws come from a
    numpy PCG64 set from two draws of ``generator`` (:func:`numpy_generator`), for the real items only
    and in numpy: a third of torch's cost per uniform, on about half the positions of a typical batch
    (this was the largest cost of a masked batch).

    Example:
        >>> lengths = torch.tensor([3, 1, 2])
        >>> real = torch.arange(3) < lengths[:, None]
        >>> targets = bernoulli_targets(real, lengths, 1.0, torch.Generator().manual_seed(0))
        >>> targets.sum(dim=1).tolist()  # all but one of 3, none of 1, one of 2
        [2, 0, 1]
    """
    real_np, lengths_np = real.numpy(), lengths.numpy()
    rng = numpy_generator(generator)
    chosen = rng.random(int(lengths_np.sum()), dtype=np.float32) < probability  # (N,) row-major
    counts = np.zeros(lengths_np.shape, np.int64)  # (B,) targets per row
    nonempty = np.flatnonzero(lengths_np)
    if nonempty.size:
        starts = np.cumsum(lengths_np) - lengths_np  # (B,) each row's first item in ``chosen``
        counts[nonempty] = np.add.reduceat(chosen, starts[nonempty], dtype=np.int64)
    targets = np.zeros(real_np.shape, np.bool_)  # (B, L)
    targets[real_np] = chosen
    eligible = lengths_np >= 2
    too_short = np.flatnonzero(~eligible & (counts > 0))
    needs_target = np.flatnonzero(eligible & (counts == 0))
    needs_context = np.flatnonzero(eligible & (counts == lengths_np))
    # Each fix-up only where a row needs it: an empty draw costs ~4 us and consumes no randomness.
    if too_short.size:
        targets[too_short, 0] = False
    if needs_target.size:
        targets[needs_target, rng.integers(0, lengths_np[needs_target])] = True
    if needs_context.size:
        targets[needs_context, rng.integers(0, lengths_np[needs_context])] = False
    return torch.from_numpy(targets)


def numpy_generator(generator: torch.Generator) -> np.random.Generator:
    """A numpy PCG64 generator whose 128-bit state is two 62-bit draws of ``generator`` (so every draw
    still descends from it).

    The state is set on this thread's one PCG64 instead of building ``PCG64(seed)``, whose SeedSequence
    hashing costs 5 us per batch (a tenth of a small masked batch's masking); the draws are uniform
    already, which is what that hashing provides. The generator is valid until the next call on the
    same thread, which resets that PCG64: draw from it before asking for another.

    Example:
        >>> a = numpy_generator(torch.Generator().manual_seed(0)).random(3)
        >>> b = numpy_generator(torch.Generator().manual_seed(0)).random(3)
        >>> bool((a == b).all())
        True
    """
    high, low = torch.randint(0, 2**62, (2,), generator=generator).tolist()
    bit_generator = getattr(_per_thread, "pcg64", None)
    if bit_generator is None:
        bit_generator = _per_thread.pcg64 = np.random.PCG64(0)
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": high << 64 | low, "inc": _PCG64_INCREMENT},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return np.random.Generator(bit_generator)


_per_thread = threading.local()
_PCG64_INCREMENT = 0x5851F42D4C957F2D14057B7EF767814F  # odd: PCG64's increment must be; one fixed stream


def span_targets(
    real: torch.Tensor, *, plm_probability: float, max_span_length: int, generator: torch.Generator
) -> torch.Tensor:
    """XLNet span masking over the real items of each row, all spans drawn at once.

    Per row, from ``cur = 0`` on: draw ``span ~ U{1..max_span_length}``, reserve
    ``context = int(span / plm_probability)`` positions, start the span uniformly in
    ``[cur, cur + context - span]``, then ``cur += context`` -- while ``cur < length``. Spans are
    clipped at the row's last real item (never into padding). Since every context holds one span and
    contexts are at least ``1 / plm_probability`` long, at most ``ceil(L * plm_probability) + 1``
    spans fit in a row: they are all drawn at once and the ones past the row's end are dropped.
    """
    batch, width = real.shape
    lengths = real.sum(dim=1)  # (B,)
    min_context = max(int(1 / plm_probability), 1)
    num_spans = -(-width // min_context) + 1
    spans = torch.randint(1, max_span_length + 1, (batch, num_spans), generator=generator)  # (B, S)
    contexts = (spans.double() / plm_probability).floor().long().clamp_min(spans)  # (B, S)
    window_start = contexts.cumsum(dim=1) - contexts  # (B, S)
    offset = (_uniform((batch, num_spans), generator) * (contexts - spans + 1)).floor().long()  # (B, S)
    starts = window_start + offset  # (B, S)
    valid = (window_start < lengths[:, None]) & (starts < lengths[:, None])  # (B, S)
    ends = torch.minimum(starts + spans, lengths[:, None])  # (B, S), clipped to real items
    # Difference array: +1 at each span start, -1 at its end; a running sum > 0 marks span members.
    marks = torch.zeros(batch, width + 1, dtype=torch.long)  # (B, L + 1)
    marks.scatter_add_(1, torch.where(valid, starts, width), valid.long())
    marks.scatter_add_(1, torch.where(valid, ends, width), -valid.long())
    return (marks[:, :width].cumsum(dim=1) > 0) & real


def replacement_split(
    targets: torch.Tensor, *, mask_replace_prob: float, random_replace_prob: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's split of the targets: ``(to_mask, to_random)`` (B, L) bool; the rest stay unchanged."""
    draw = _uniform(targets.shape, generator)  # (B, L)
    to_mask = targets & (draw < mask_replace_prob)
    to_random = targets & (draw >= mask_replace_prob) & (draw < mask_replace_prob + random_replace_prob)
    return to_mask, to_random


def draw_items(count: int, item_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``count`` ids drawn uniformly from ``item_ids`` (the real ids: no pad, mask or special id)."""
    return item_ids[torch.randint(item_ids.numel(), (count,), generator=generator)]


def random_factorisation_order(
    targets: torch.Tensor, generator: torch.Generator, *, keys: torch.Tensor | None = None
) -> torch.Tensor:
    """A uniformly random order of each row's targets (B, L) long: 0, 1, ... for targets, -1 elsewhere.

    ``keys``: (B, L) i.i.d. uniforms to sort by (drawn if None); they may be the ``draws`` that
    :func:`ensure_target_and_context` used, since dropping the target with the largest key leaves
    the others' relative order uniform.
    """
    if keys is None:
        keys = _uniform(targets.shape, generator)  # (B, L)
    keys = keys.masked_fill(~targets, 2.0)  # non-targets sort after every target
    sorted_positions = keys.argsort(dim=1)  # (B, L) positions by increasing key
    ranks = torch.arange(targets.shape[1]).expand(targets.shape)  # (B, L)
    order = torch.empty_like(sorted_positions).scatter_(1, sorted_positions, ranks)  # (B, L) rank of each position
    return order.masked_fill_(~targets, -1)


def causal_order(real: torch.Tensor) -> torch.Tensor:
    """The left-to-right order (B, L) long: position index on real items, -1 on padding and the first item.

    The first item has no history to be predicted from, so it is context that everyone sees (and it
    sees itself): an XLNet query with nothing to attend to would spread its attention uniformly over
    every position, padding and future included.
    """
    positions = torch.arange(real.shape[1]).expand(real.shape)  # (B, L)
    return torch.where(real & (positions > 0), positions, -1)


def expand_perm_order(
    perm_order: torch.Tensor, attention_mask: torch.Tensor, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Compact factorisation order -> XLNet ``perm_mask`` (B, L, L); 1 = ``i`` may NOT attend to ``j``.

    ``perm_order[b, j] >= 0`` marks a target and its place in the order; -1 marks context that every
    position may see. Position ``i`` may not attend to a target ``j`` unless ``j`` comes strictly
    earlier in the order (so no target sees itself or a later target, and context never sees a
    target), nor to padding. Runs on the device and in the dtype the model needs.

    Example:
        >>> order = torch.tensor([[-1, 1, 0]])
        >>> expand_perm_order(order, torch.ones(1, 3)).int().tolist()
        [[[0, 1, 1], [0, 1, 0], [0, 1, 1]]]
    """
    is_target = perm_order >= 0  # (B, L)
    blocked = (perm_order[:, :, None] <= perm_order[:, None, :]) & is_target[:, None, :]  # (B, L, L)
    blocked |= (attention_mask == 0)[:, None, :]  # (B, L, L) padding is never attended to
    return blocked.to(dtype)


def identity_target_mapping(batch: int, width: int, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The one-hot ``target_mapping`` (B, L, L) where prediction ``i`` is position ``i`` (a broadcast view)."""
    return torch.eye(width, dtype=dtype).expand(batch, width, width)
