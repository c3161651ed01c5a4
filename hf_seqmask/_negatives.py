"""Negative item sampling for sampled losses: the options (:class:`NegativeSampling`), the sampler
(uniform or by popularity, vectorised, seeded) and the draw of a batch's negatives."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._checks import check_bool, check_choice, check_int
from .reserved import IGNORE_INDEX

SAMPLERS = ("uniform", "popularity")
MAX_REJECTION_ROUNDS = 8

# The flat collator keywords (and SeqRecConfig.masking keys) of the options before NegativeSampling,
# with the field each became. Errors name the form the caller wrote.
FLAT_NAMES = {
    "num_negatives": "num_negatives",
    "negative_sampling": "distribution",
    "item_frequencies": "item_frequencies",
    "shared_negatives": "shared",
    "exclude_history_from_negatives": "exclude_history",
}
_OWN_NAMES = {name: name for name in FLAT_NAMES.values()}
_NAME_IN_FLAT = {field_name: flat for flat, field_name in FLAT_NAMES.items()}


@dataclass(frozen=True)
class NegativeSampling:
    """How training batches draw negative items for the sampled losses (one object for all options).

    The collator then adds ``negative_ids`` -- (N,) int64, one pool shared by the batch (``shared``),
    or (T, N) int64, one row per target in the row-major order of ``labels != -100`` -- with
    ``negative_log_q`` (same shape, float32, the log sampling probability, for the logQ correction)
    and ``target_log_q`` (T,) float32. Negatives are never pad, mask or special ids.

    Args:
        num_negatives: negatives per batch (shared) or per target (0 = none).
        distribution: ``"uniform"`` over the real item ids, or ``"popularity"`` (proportional to
            ``item_frequencies``).
        item_frequencies: (vocab_size,) non-negative counts, e.g. ``ItemVocabulary.frequencies()``;
            needed by ``"popularity"``. Not compared by ``==`` (an array has no single truth value).
        shared: one pool per batch (cheap, the common form) or negatives per target; per target, a
            draw equal to the target is redrawn (a shared pool leaves that to the loss's
            accidental-hit removal).
        exclude_history: per-target negatives also avoid the row's own items (needs ``shared=False``).

    Raises:
        TypeError, ValueError: an option of the wrong type or value (the message names it).

    Example:
        >>> NegativeSampling(16, shared=False)
        NegativeSampling(num_negatives=16, distribution='uniform', shared=False, exclude_history=False)
        >>> NegativeSampling(4, exclude_history=True)
        Traceback (most recent call last):
        ...
        ValueError: exclude_history=True needs shared=False (a shared pool has no row)
    """

    num_negatives: int = 0
    distribution: str = "uniform"
    item_frequencies: Any = field(default=None, repr=False, compare=False)
    shared: bool = True
    exclude_history: bool = False

    def __post_init__(self) -> None:
        _check_options({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, _OWN_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """The options as plain values, without ``item_frequencies`` (counts come per run): the form
        ``SeqRecConfig(masking={"negatives": ...})`` saves in config.json."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "item_frequencies"}

    @classmethod
    def from_flat(cls, options: Mapping[str, Any]) -> NegativeSampling:
        """The object of the flat keywords (``num_negatives``, ``negative_sampling``,
        ``item_frequencies``, ``shared_negatives``, ``exclude_history_from_negatives``); errors name
        those keywords.

        Example:
            >>> NegativeSampling.from_flat({"num_negatives": 8, "negative_sampling": "uniform"})
            NegativeSampling(num_negatives=8, distribution='uniform', shared=True, exclude_history=False)
        """
        values = {FLAT_NAMES[name]: value for name, value in options.items()}
        _check_options({**NegativeSampling().to_dict(), "item_frequencies": None, **values}, _NAME_IN_FLAT)
        return cls(**values)

    def frequencies(self, vocab_size: int) -> torch.Tensor | None:
        """(vocab_size,) float64 counts for ``"popularity"``, None for ``"uniform"``."""
        if self.distribution != "popularity":
            return None
        frequencies = np.asarray(self.item_frequencies)
        if frequencies.shape != (vocab_size,) or frequencies.dtype.kind not in "iuf":
            raise ValueError(
                f"Invalid item_frequencies of shape {frequencies.shape} and dtype {frequencies.dtype}; "
                f"must be {vocab_size} numbers (one per id)"
            )
        if (frequencies < 0).any() or not np.isfinite(frequencies).all():
            raise ValueError("Invalid item_frequencies; counts must be finite and >= 0")
        return torch.as_tensor(frequencies.astype(np.float64))


def _check_options(values: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """Validate the options (keyed by field) with the messages naming ``names[field]``."""
    check_int(names["num_negatives"], values["num_negatives"], minimum=0)
    check_choice(names["distribution"], values["distribution"], SAMPLERS)
    for name in ("shared", "exclude_history"):
        check_bool(names[name], values[name])
    if values["exclude_history"] and values["shared"]:
        raise ValueError(f"{names['exclude_history']}=True needs {names['shared']}=False (a shared pool has no row)")
    if values["distribution"] == "popularity" and values["item_frequencies"] is None:
        raise ValueError(f"{names['distribution']}='popularity' needs {names['item_frequencies']} (one count per id)")


def resolve(negatives: Any, flat: Mapping[str, Any]) -> NegativeSampling | None:
    """The collator's ``negatives`` from the object or from the deprecated flat keywords (not both).

    Raises:
        TypeError: ``negatives`` is neither a :class:`NegativeSampling` nor None.
        ValueError: both forms given.
    """
    given = {name: value for name, value in flat.items() if value is not None}
    if negatives is not None and not isinstance(negatives, NegativeSampling):
        raise TypeError(f"Invalid negatives={negatives!r}; must be a NegativeSampling or None")
    if not given:
        return negatives
    if negatives is not None:
        raise ValueError(
            f"negatives={negatives!r} and the flat keywords {sorted(given)} both given; pass the options "
            "once, as negatives=NegativeSampling(...)"
        )
    warnings.warn(
        f"the flat negative-sampling keywords {sorted(given)} are deprecated; pass "
        f"negatives=NegativeSampling(...) (fields: {', '.join(FLAT_NAMES.values())})",
        DeprecationWarning,
        stacklevel=_outside_the_package(),
    )
    return NegativeSampling.from_flat(given)


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


def _outside_the_package() -> int:
    """The stack level of the first caller outside hf_seqmask and the dataclass-made ``__init__``
    (how deep the collator's ``__post_init__`` chain runs depends on the subclass)."""
    package, level = os.path.dirname(os.path.abspath(__file__)), 2
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith((package, "<string>"))):
        frame, level = frame.f_back, level + 1
    return level


def build_sampler(
    negatives: NegativeSampling | None, real_item_ids: torch.Tensor, vocab_size: int
) -> NegativeSampler | None:
    """The sampler of ``negatives`` over ``real_item_ids`` (None when no negatives are drawn).

    Raises:
        ValueError: ``item_frequencies`` not one count per id, or no id left to draw.
    """
    if negatives is None:
        return None
    frequencies = negatives.frequencies(vocab_size)  # checked even when none are drawn
    if negatives.num_negatives == 0:
        return None
    if real_item_ids.numel() == 0:
        raise ValueError(
            f"Invalid num_negatives={negatives.num_negatives}: every id of the vocabulary (vocab_size="
            f"{vocab_size}) is reserved, so there is no item to draw"
        )
    return NegativeSampler(real_item_ids, vocab_size, frequencies)


def draw_negatives(
    sampler: NegativeSampler,
    negatives: NegativeSampling,
    labels: torch.Tensor,
    items: torch.Tensor,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """A training batch's ``negative_ids``, ``negative_log_q`` and ``target_log_q`` (see
    :class:`NegativeSampling`) for its ``labels`` (B, L) and original ``items`` (B, L)."""
    is_target = labels != IGNORE_INDEX  # (B, L)
    targets = labels[is_target]  # (T,) row-major
    if negatives.shared:
        ids = sampler.draw((negatives.num_negatives,), generator)  # (N,)
    else:
        history = None
        if negatives.exclude_history:
            rows = is_target.nonzero()[:, 0]  # (T,) row of each target
            history = items.sort(dim=1).values[rows]  # (T, L) sorted; pad is never drawn
        ids = sampler.draw_excluding(targets, negatives.num_negatives, generator, history)  # (T, N)
    return {"negative_ids": ids, "negative_log_q": sampler.log_q(ids), "target_log_q": sampler.log_q(targets)}
