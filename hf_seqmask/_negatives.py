"""Negative item sampling for sampled losses: uniform or by popularity, vectorised, seeded."""

from __future__ import annotations

import math

import torch

SAMPLERS = ("uniform", "popularity")
MAX_REJECTION_ROUNDS = 8


class NegativeSampler:
    """Draws item ids (never a reserved id) and knows the log-probability of each draw (for logQ).

    Args:
        real_item_ids: (M,) the ids that may be drawn (the vocabulary without pad, mask, special ids).
        vocab_size: size of the id space.
        frequencies: (vocab_size,) counts or weights for ``"popularity"`` sampling; None = uniform.

    Example:
        >>> sampler = NegativeSampler(torch.arange(2, 10), 10)
        >>> ids = sampler.draw((1000,), torch.Generator().manual_seed(0))
        >>> bool(((ids >= 2) & (ids < 10)).all()), round(float(sampler.log_q(ids[:1])), 4)
        (True, -2.0794)
    """

    def __init__(self, real_item_ids: torch.Tensor, vocab_size: int, frequencies: torch.Tensor | None = None) -> None:
        if real_item_ids.numel() == 0:
            raise ValueError("negative sampling needs item ids to draw, but every id of the vocabulary is reserved")
        self.real_item_ids = real_item_ids
        log_q = torch.full((vocab_size,), -math.inf)
        if frequencies is None:
            log_q[real_item_ids] = -math.log(real_item_ids.numel())
            self._cdf = None
        else:
            weights = torch.zeros(vocab_size, dtype=torch.float64)
            weights[real_item_ids] = frequencies.double()[real_item_ids]
            if not weights.max() > 0:
                raise ValueError("item_frequencies give no weight to any real item id")
            weights = weights / weights.max()  # scaled first: a sum of huge counts would overflow to inf
            probabilities = weights / weights.sum()
            log_q = probabilities.log().float()
            self._cdf = probabilities.cumsum(0)  # (V,) float64, for inverse-CDF draws
            self._cdf[-1] = 1.0
            # An item of frequency 0 is never drawn, yet may be a target: its logQ correction uses the
            # smallest drawable probability instead of log 0 (which would make the loss NaN).
            floor = log_q[real_item_ids][torch.isfinite(log_q[real_item_ids])].min()
            log_q[real_item_ids] = torch.where(torch.isfinite(log_q[real_item_ids]), log_q[real_item_ids], floor)
        self._log_q = log_q  # (V,) float32, -inf only at reserved ids

    def draw(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Ids of ``shape`` (int64)."""
        if self._cdf is None:
            return self.real_item_ids[torch.randint(self.real_item_ids.numel(), shape, generator=generator)]
        uniform = torch.rand(shape, generator=generator, dtype=torch.float64)
        return torch.searchsorted(self._cdf, uniform, right=True).clamp_max(self._cdf.numel() - 1)

    def log_q(self, ids: torch.Tensor) -> torch.Tensor:
        """log P(draw = id), same shape as ``ids`` (float32)."""
        return self._log_q[ids]

    def draw_excluding(
        self, excluded: torch.Tensor, num: int, generator: torch.Generator, rows_history: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(T, num) ids, redrawn (vectorised, up to ``MAX_REJECTION_ROUNDS`` rounds) where a draw equals
        the row's ``excluded`` id (T,) or, with ``rows_history`` (T, L) sorted per row, is one of those
        items. Draws still colliding after the rounds are left (the losses mask target hits anyway)."""
        ids = self.draw((excluded.numel(), num), generator)  # (T, N)
        for _ in range(MAX_REJECTION_ROUNDS):
            bad = ids == excluded[:, None]
            if rows_history is not None:
                found = torch.searchsorted(rows_history, ids).clamp_max(rows_history.shape[1] - 1)
                bad |= rows_history.gather(1, found) == ids
            if not bad.any():
                break
            ids[bad] = self.draw((int(bad.sum()),), generator)
        return ids
