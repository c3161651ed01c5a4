"""Checkpoints a killed run can trust: which ``checkpoint-N`` folders are whole, and writes that are
all-or-nothing.

transformers' Trainer (5.0 to 5.24 at least) writes ``checkpoint-N`` in place, file after file
(weights, ``training_args.bin``, optimizer, scheduler, RNG state, ``trainer_state.json`` last), and
its ``get_last_checkpoint`` picks the highest N whatever the folder holds. A process killed while
saving leaves a torn folder (a file cut short, or the later files missing), and one killed while the
Trainer deletes old checkpoints (``save_total_limit``) leaves one with files gone. Resuming from
such a folder loads a truncated file, or -- worse -- silently starts a fresh optimizer (the Trainer
skips an ``optimizer.pt`` that is not there).

:func:`checkpoint_problem` says why a folder is not a whole checkpoint (``None`` when it is): every
file a resume reads must be there, and every JSON, safetensors and ``torch.save`` file present must
be whole (a JSON that parses, a safetensors file exactly as long as its header says, a zip archive
whose directory, written last, is intact). :func:`last_complete_checkpoint` is the newest whole one,
with a warning naming each newer torn folder it skips. :func:`atomic_path` and
:func:`write_text_atomic` give the job's own outputs a temporary name and rename them into place
(``os.replace``), so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import struct
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "CheckpointSaveError",
    "TornCheckpointWarning",
    "atomic_path",
    "checkpoint_problem",
    "disk_full",
    "last_complete_checkpoint",
    "stopped_early",
    "trainer_state",
    "write_text_atomic",
]

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
# What a resume reads besides the weights (unless the run saved the model only).
TRAINING_STATE = ("optimizer.pt", "scheduler.pt")


class TornCheckpointWarning(UserWarning):
    """A ``checkpoint-N`` folder skipped because it is not whole (the message names it and says why)."""


class CheckpointSaveError(OSError):
    """Writing a checkpoint or an output failed (a full disk, say); the message names the path."""


def write_errors() -> tuple[type[BaseException], ...]:
    """What a failed write raises: ``OSError``; torch.save's ``RuntimeError`` (``PytorchStreamWriter
    failed writing file``, ``unexpected pos``: a full disk among them); safetensors' ``SafetensorError``."""
    try:
        from safetensors import SafetensorError
    except ImportError:  # pragma: no cover (transformers depends on safetensors)
        return (OSError, RuntimeError)
    return (OSError, RuntimeError, SafetensorError)


def disk_full(path: str | os.PathLike, error: BaseException, needed: int = 0) -> str | None:
    """``"the disk is full (N bytes free in FOLDER)"`` when ``error`` (or its cause) is ENOSPC, or the
    file system of ``path`` has less than ``max(needed, 1 MiB)`` free; else ``None``. torch.save and
    safetensors report a full disk in their own words (``unexpected pos``, ``os error 28``)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    causes: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and len(causes) < 8:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    enospc = any(getattr(e, "errno", None) == errno.ENOSPC or "os error 28" in str(e) for e in causes)
    if enospc or free < max(needed, 2**20):
        return f"the disk is full ({free:,} bytes free in {folder})"
    return None


def folder_bytes(folder: str | os.PathLike | None) -> int:
    """The bytes of the files in ``folder`` (0: none)."""
    if folder is None or not Path(folder).is_dir():
        return 0
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def checkpoint_problem(folder: str | os.PathLike, *, needs_training_state: bool = True) -> str | None:
    """Why ``folder`` is not a whole Trainer checkpoint, or ``None`` when it is.

    Args:
        folder: a ``checkpoint-N`` folder.
        needs_training_state: the optimizer, scheduler and RNG state must be there too (``False`` for a
            run with ``save_only_model``).

    Example:
        >>> import tempfile
        >>> checkpoint_problem(tempfile.mkdtemp())
        'no model.safetensors, trainer_state.json, config.json, optimizer.pt, scheduler.pt, rng_state.pth'
    """
    folder = Path(folder)
    if not folder.is_dir():
        return "not a folder"
    names = {path.name for path in folder.iterdir()}
    required = [TRAINER_STATE, "config.json"]
    if needs_training_state:
        required += [*TRAINING_STATE, "rng_state_0.pth" if "rng_state_0.pth" in names else "rng_state.pth"]
    missing = [name for name in required if name not in names]
    if not any(name in names for name in WEIGHTS):
        missing.insert(0, "model.safetensors")
    if missing:
        return f"no {', '.join(missing)}"
    for name in sorted(names):
        problem = _file_problem(folder / name)
        if problem:
            return f"{name}: {problem}"
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if index in names:
            shards = set(json.loads((folder / index).read_text()).get("weight_map", {}).values())
            absent = sorted(shard for shard in shards if shard not in names)
            if absent:
                return f"no {', '.join(absent)} (named by {index})"
    return None


def _file_problem(path: Path) -> str | None:
    """Why a file of a known format is cut short or unreadable (``None``: whole, or a format not checked)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".safetensors":
            return _safetensors_problem(path)
        elif path.suffix in (".pt", ".pth", ".bin"):
            with zipfile.ZipFile(path) as archive:
                end = max((info.header_offset + info.compress_size for info in archive.infolist()), default=0)
            if end > path.stat().st_size:
                return "cut short"
    except (OSError, ValueError, LookupError, TypeError, AttributeError, struct.error, zipfile.BadZipFile) as error:
        return f"unreadable ({type(error).__name__}: {error})"
    return None


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            return "cut short (no header)"
        (header_size,) = struct.unpack("<Q", prefix)
        if 8 + header_size > size:
            return "cut short (in its header)"
        header = json.loads(file.read(header_size))
    end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    if 8 + header_size + end != size:
        return f"cut short ({size} bytes, its header says {8 + header_size + end})"
    return None


def last_complete_checkpoint(
    output_dir: str | os.PathLike, *, needs_training_state: bool = True, warn: bool = True
) -> Path | None:
    """The whole ``checkpoint-N`` folder with the highest N in ``output_dir`` (``None``: there is none).

    Each newer folder that is not whole is skipped with a :class:`TornCheckpointWarning` naming it
    and what is wrong with it; it is never returned, so never loaded.

    Args:
        output_dir: the Trainer's ``output_dir``.
        needs_training_state: see :func:`checkpoint_problem`.
        warn: warn about the skipped folders.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    found = [(int(match.group(1)), path) for path in output_dir.iterdir() if (match := CHECKPOINT.match(path.name))]
    for _, path in sorted(found, reverse=True):
        problem = checkpoint_problem(path, needs_training_state=needs_training_state)
        if problem is None:
            return path
        if warn:
            warnings.warn(
                f"skipping the torn checkpoint {path} ({problem}): it is never loaded", TornCheckpointWarning, 2
            )
    return None


def trainer_state(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``trainer_state.json`` of a checkpoint, as a dict."""
    return json.loads((Path(folder) / TRAINER_STATE).read_text())


def stopped_early(folder: str | os.PathLike, patience: int) -> tuple[int, int] | None:
    """``(global_step, max_steps)`` when early stopping had ended the run at this checkpoint and would
    again with ``patience``: saved with ``should_training_stop`` set before the end of its schedule,
    transformers' ``EarlyStoppingCallback`` having counted ``patience`` validations or more without
    improvement. ``None`` otherwise (a run resumed with a larger patience, or a longer schedule,
    goes on). ``Trainer.train`` resumed from such a checkpoint would train on until the next validation.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / TRAINER_STATE).write_text(json.dumps({"global_step": 28, "max_steps": 48,
        ...     "stateful_callbacks": {"TrainerControl": {"args": {"should_training_stop": True}},
        ...     "EarlyStoppingCallback": {"attributes": {"early_stopping_patience_counter": 3}}}}))
        >>> stopped_early(folder, patience=3), stopped_early(folder, patience=4)
        ((28, 48), None)
    """
    state = trainer_state(folder)
    callbacks = state.get("stateful_callbacks") or {}
    control, early = (_last(callbacks.get(name)) for name in ("TrainerControl", "EarlyStoppingCallback"))
    counter = early.get("attributes", {}).get("early_stopping_patience_counter", 0)
    stopped = control.get("args", {}).get("should_training_stop", False)
    if stopped and state["global_step"] < state["max_steps"] and patience and counter >= patience:
        return state["global_step"], state["max_steps"]
    return None


def _last(value: Any) -> dict:
    """A callback's saved state (the last one when several of its kind were saved)."""
    value = value[-1] if isinstance(value, list) and value else value
    return value if isinstance(value, dict) else {}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same folder and suffix) to write a file or a folder to; on
    success it is renamed to ``path`` (a folder there is replaced: renamed aside, then removed; when
    nothing was written, ``path`` is left as it is), on failure removed. A failed write (see
    :func:`write_errors`) raises :class:`CheckpointSaveError` naming ``path``, and a full disk as such.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "model"
        >>> with atomic_path(target) as partial:
        ...     partial.mkdir()
        ...     _ = (partial / "weights").write_text("w")
        >>> sorted(p.name for p in target.parent.iterdir()), (target / "weights").read_text()
        (['model'], 'w')
    """
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    _remove(partial)
    try:
        yield partial
        if not partial.exists():  # nothing written: nothing to rename
            return
        if partial.is_dir():
            _fsync_tree(partial)
            if path.is_dir():
                aside = path.with_name(f".{path.name}.replaced-{os.getpid()}")
                os.replace(path, aside)
                os.replace(partial, path)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                os.replace(partial, path)
        else:
            with partial.open("rb") as file:
                os.fsync(file.fileno())
            os.replace(partial, path)
        _fsync_folder(path.parent)
    except write_errors() as error:
        _remove(partial)
        full = disk_full(path.parent, error)
        detail = error.strerror if isinstance(error, OSError) and error.strerror else f"{type(error).__name__}: {error}"
        raise CheckpointSaveError(f"could not write {path}: {detail}" + (f"; {full}" if full else "")) from error
    except BaseException:
        _remove(partial)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (see :func:`atomic_path`)."""
    with atomic_path(path) as partial:
        partial.write_text(text)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as file:
                os.fsync(file.fileno())
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened for fsync
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
