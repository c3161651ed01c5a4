"""The main job across kills: where ``--resume_from_checkpoint`` resumes, and a run that had already
ended at that checkpoint finished without another update."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..checkpoints import CheckpointSaveError, last_complete_checkpoint, stopped_early, trainer_state
from ..data.feature_tables import FEATURE_SPEC_FILE, FeatureSpec
from ..resume import updates_per_epoch


def train(trainer: Any, show: bool, patience: int, train_rows: int) -> int | None:
    """``trainer.train``, resumed as :func:`resume_point` says.

    A run resumed from a checkpoint where it had already ended -- early stopping would stop it again
    (``patience``), or its updates reach this run's schedule -- then killed while testing or saving,
    is finished (best model, test) without another update: ``Trainer.train`` would train on, to the
    next validation, or through the rest of a partly trained epoch (transformers 5.24 trains update
    N + 1 of a run resumed from its last checkpoint N when N is not a whole number of epochs). The
    Trainer's ``max_steps`` is lowered to the whole epochs done, so its loop has nothing left; for a
    run shorter than one epoch it cannot be, and one more update is trained.

    Returns:
        The updates of the schedule the run had (for ``stop_reason``) when it was finished so, else ``None``.

    Raises:
        SystemExit: a checkpoint could not be written (a full disk); the message names it.
    """
    resume = resume_point(trainer, show)
    if resume:
        check_same_side_features(trainer.model, resume)
    schedule = _ended(trainer, resume, patience, train_rows) if resume else None
    try:
        trainer.train(resume_from_checkpoint=resume)
    except CheckpointSaveError as error:  # the previous checkpoint is whole: --resume_from_checkpoint true
        raise SystemExit(f"error: {error}") from None
    return schedule


def check_same_side_features(model: Any, checkpoint: str) -> None:
    """Refuse to resume a checkpoint whose model read its side features otherwise than this run's: other
    features or cardinalities (``side_features``, ``multi_hot_side_features``), user features hidden
    where they are now visible (``context_side_features``: before user-table columns became context
    features), or other vocabularies and statistics (``feature_spec.json``; none at all: MovieLens'
    own encoding, before ``--side-features`` became a preset of the general path). Each would resume
    with ids that mean something else, which the Trainer's non-strict weight loading would not catch.

    Raises:
        SystemExit: naming the checkpoint, what differs (both values) and what to do.
    """
    folder = Path(checkpoint)
    if not (folder / "config.json").exists():
        return
    saved = json.loads((folder / "config.json").read_text())
    config = model.config
    empty: dict[str, Any] = {"side_features": {}, "multi_hot_side_features": [], "context_side_features": []}
    for name in empty:
        then, now = saved.get(name) or empty[name], getattr(config, name, None) or empty[name]
        if _unordered(then) != _unordered(now):
            _refuse(checkpoint, f"{name}={then}", f"{name}={now}")
    spec = getattr(model, "feature_spec", None)
    if spec is None:
        return
    spec_file = folder / FEATURE_SPEC_FILE
    if not spec_file.exists():
        _refuse(checkpoint, f"side features encoded without a {FEATURE_SPEC_FILE}", "a fitted feature spec")
    then_columns, now_columns = FeatureSpec.from_file(spec_file).to_dict()["columns"], spec.to_dict()["columns"]
    if then_columns != now_columns:
        changed = [a["name"] for a, b in zip(then_columns, now_columns, strict=False) if a != b]
        _refuse(checkpoint, f"other feature vocabularies or statistics ({changed or 'other features'})", "these")


def _unordered(value: Any) -> Any:
    """A config's names (a list, order not meaningful) or name -> cardinality (a dict) compared as sets."""
    return dict(value) if isinstance(value, dict) else sorted(value)


def _refuse(checkpoint: str, then: str, now: str) -> None:
    raise SystemExit(
        f"error: {checkpoint} was trained with {then}, this run has {now}: resuming would change what the model's "
        "side features mean. Resume it with the version of hf_seqmask (and the data) that started it, or train "
        "from the start in a new --output-dir"
    )


def resume_point(trainer: Any, show: bool) -> str | None:
    """Where ``--resume_from_checkpoint`` resumes: ``true`` (or ``last``) is the newest whole checkpoint
    in the output folder (torn ones skipped with a warning naming them), or none -- training starts
    from the beginning, so a job relaunched after a kill with the same command always goes on."""
    args = trainer.args
    resume = args.resume_from_checkpoint
    if resume not in ("true", "True", "last"):
        return resume
    found = last_complete_checkpoint(args.output_dir or ".", needs_training_state=not args.save_only_model)
    if show:
        where = f"resuming from {found}" if found else "training from the start"
        print(f"--resume_from_checkpoint {resume}: {where} (the newest whole checkpoint in {args.output_dir})")
    return str(found) if found else None


def _ended(trainer: Any, checkpoint: str, patience: int, train_rows: int) -> int | None:
    """The schedule's updates when the run had ended at ``checkpoint`` (see :func:`train`), after
    lowering the Trainer's ``max_steps`` so that it trains no further; else ``None``."""
    args = trainer.args
    batches = -(-train_rows // (args.per_device_train_batch_size * max(args.world_size, 1)))
    per_epoch = updates_per_epoch(batches, args.gradient_accumulation_steps)
    planned = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * per_epoch)
    early = stopped_early(checkpoint, patience)
    step = trainer_state(checkpoint)["global_step"]
    if not early and step < planned:
        return None
    whole_epochs = step - step % per_epoch
    if whole_epochs:
        args.max_steps = whole_epochs
    return early[1] if early else planned
