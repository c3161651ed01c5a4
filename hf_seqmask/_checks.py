"""The argument checks every public entry point shares, written once.

Each raises with a message that names the option, echoes the bad value and says what is allowed
(``Invalid name=value; must be ...``). Two integer styles exist because both are public messages:
:func:`check_int` (``TypeError`` for a non-int, ``ValueError`` below the minimum; the collators) and
:func:`check_int_at_least` (one ``ValueError`` for both; the model config and the ranking helpers).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np


def _is_int(value: Any) -> bool:
    """An int or a numpy integer, but not a bool (which Python counts as an int)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name: str, value: Any, *, minimum: int | None = None, optional: bool = False) -> None:
    """Refuse a non-int (``TypeError``) or an int below ``minimum`` (``ValueError``); ``None`` passes
    when ``optional``.

    Example:
        >>> check_int("max_length", 0, minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: Invalid max_length=0; must be >= 1
        >>> check_int("seed", True, optional=True)
        Traceback (most recent call last):
        ...
        TypeError: Invalid seed=True; must be an int or None
    """
    if value is None and optional:
        return
    if not _is_int(value):
        allowed = "an int or None" if optional else "an int"
        raise TypeError(f"Invalid {name}={value!r}; must be {allowed}")
    if minimum is not None and value < minimum:
        raise ValueError(f"Invalid {name}={value!r}; must be >= {minimum}")


def check_int_at_least(name: str, value: Any, minimum: int, *, optional: bool = False, note: str = "") -> None:
    """Refuse anything but an int >= ``minimum`` with one ``ValueError`` (``None`` passes when
    ``optional``); ``note`` is appended to what the message allows (``" or None"``, a reason).

    Example:
        >>> check_int_at_least("chunk_size", 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: Invalid chunk_size=0; must be an int >= 1
        >>> check_int_at_least("max_seq_length", 1.5, 2, optional=True, note=" (a history item and a target)")
        Traceback (most recent call last):
        ...
        ValueError: Invalid max_seq_length=1.5; must be an int >= 2 (a history item and a target)
    """
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"Invalid {name}={value!r}; must be an int >= {minimum}{note}")


def check_bool(name: str, value: Any) -> None:
    """Refuse anything but ``True`` or ``False`` (1, "yes", numpy bools included).

    Example:
        >>> check_bool("permute_all", 1)
        Traceback (most recent call last):
        ...
        TypeError: Invalid permute_all=1; must be a bool
    """
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {name}={value!r}; must be a bool")


def check_probability(name: str, value: Any, *, low_open: bool = False) -> None:
    """Refuse a non-number (``TypeError``) or one outside ``[0, 1]`` (``(0, 1]`` when ``low_open``).

    Example:
        >>> check_probability("plm_probability", 0.0, low_open=True)
        Traceback (most recent call last):
        ...
        ValueError: Invalid plm_probability=0.0; must be in (0, 1]
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}={value!r}; must be a float")
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0) or math.isnan(value):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"Invalid {name}={value!r}; must be in {interval}")


def check_choice(name: str, value: Any, choices: Collection[Any]) -> None:
    """Refuse a value outside ``choices`` (a tuple, printed as is).

    Example:
        >>> check_choice("mode", "test", ("train", "eval", "predict"))
        Traceback (most recent call last):
        ...
        ValueError: Invalid mode='test'; must be one of ('train', 'eval', 'predict')
    """
    if value not in choices:
        raise ValueError(f"Invalid {name}={value!r}; must be one of {choices}")


def check_names_of(name: str, values: Any, allowed: Collection[str], allowed_name: str) -> tuple[str, ...]:
    """``values`` (a tuple or list) as a tuple of distinct entries of ``allowed``, which is called
    ``allowed_name`` in the messages.

    Example:
        >>> check_names_of("context_feature_keys", ["country"], ("genre", "country"), allowed_name="side_feature_keys")
        ('country',)
        >>> check_names_of("context_feature_keys", ("age",), ("genre",), allowed_name="side_feature_keys")
        Traceback (most recent call last):
        ...
        ValueError: Invalid context_feature_keys entry 'age'; must be one of side_feature_keys ('genre',)
    """
    if isinstance(values, str) or not isinstance(values, (tuple, list)):
        raise TypeError(f"Invalid {name}={values!r}; must be a tuple or list of names of {allowed_name}")
    for value in values:
        if value not in allowed:
            raise ValueError(f"Invalid {name} entry {value!r}; must be one of {allowed_name} {tuple(allowed)}")
    if len(set(values)) != len(values):
        raise ValueError(f"Invalid {name}={values!r}; names repeat")
    return tuple(values)
