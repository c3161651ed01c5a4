"""The files a saved model keeps beside its weights, found the way transformers finds the weights.

``SeqRecModel.from_pretrained(name_or_path)`` loads the weights from a local folder or a Hub repo (its
files downloaded into, or read offline from, the HF cache). :func:`resolve_file` finds the other files
of that model (the item vocabulary) in the same place with the same options (``revision``,
``cache_dir``, ``token``, ``local_files_only``, ``subfolder``, ...), through transformers'
``cached_file``: a local folder is read as it is, a repo id is looked up in the cache and, unless
offline (``HF_HUB_OFFLINE=1`` or ``local_files_only=True``), on the Hub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers.utils import cached_file

# The keyword arguments of from_pretrained that say where a model's files come from.
HUB_OPTIONS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")


def hub_options(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`HUB_OPTIONS` among ``from_pretrained``'s ``kwargs`` (those set)."""
    return {name: kwargs[name] for name in HUB_OPTIONS if kwargs.get(name) is not None}


def resolve_file(name_or_path: str | os.PathLike, filename: str, **options: Any) -> Path | None:
    """The local path of ``filename`` in a model folder or Hub repo ``name_or_path``; ``None`` when the
    folder or repo has no such file (an optional file), or, offline, when the cache does not hold it.

    Args:
        name_or_path: a local folder, or a Hub repo id (``"owner/name"``).
        filename: the file's name inside the folder or repo.
        **options: :data:`HUB_OPTIONS`, as ``from_pretrained`` takes them.

    Raises:
        TypeError: an option that is not one of :data:`HUB_OPTIONS`.
        OSError: the repo or revision does not exist, or the Hub could not be reached (transformers' errors).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = (Path(folder) / "notes.txt").write_text("hi")
        >>> resolve_file(folder, "notes.txt").read_text(), resolve_file(folder, "missing.json")
        ('hi', None)
    """
    unknown = sorted(set(options) - set(HUB_OPTIONS))
    if unknown:
        raise TypeError(f"Invalid option {unknown[0]!r}; the options are {HUB_OPTIONS}")
    options = {name: value for name, value in options.items() if value is not None}
    resolved = cached_file(str(name_or_path), filename, _raise_exceptions_for_missing_entries=False, **options)
    return Path(resolved) if resolved is not None else None
