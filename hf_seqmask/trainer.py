"""An HF ``Trainer`` that masks for training, evaluates with the collator's eval mode and reports the
ranking metrics (history excluded) from ``trainer.evaluate()``."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from transformers import Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .checkpoints import CheckpointSaveError, disk_full, folder_bytes, last_complete_checkpoint, write_errors
from .collators import SequenceCollator
from .metrics import make_compute_metrics, make_preprocess_logits_for_metrics
from .modeling.backbones import check_gradient_checkpointing
from .modeling.configuration import SeqRecConfig, check_label_smoothing
from .optim import SparseDenseAdam, clip_grad_norm_sparse_aware
from .resume import CollatorEpochCallback


class SeqRecTrainer(Trainer):
    """``transformers.Trainer`` with what next-item training needs on top:

    - a second collator for evaluation and prediction: the plain Trainer uses one ``data_collator``
      for every DataLoader, so evaluation would be masked at random like training. Here the
      evaluation and test DataLoaders use ``eval_data_collator``, by default
      ``data_collator.with_mode("eval")`` (the last item hidden and scored);
    - ranking metrics by default: ``evaluate()`` returns ``eval_ndcg@10``, ``eval_recall@10``,
      ``eval_mrr@10`` (every item ranked, the user's history excluded, pessimistic ties) and the same
      with ``_with_history``, through ``preprocess_logits_for_metrics`` (B x k kept, never B x L x V)
      and ``compute_metrics``; sharded over ranks like any Trainer evaluation. Pass your own to change
      them; with it ``metric_for_best_model="eval_ndcg@10"`` and transformers' ``EarlyStoppingCallback``
      stop on the headline metric;
    - :class:`~hf_seqmask.resume.CollatorEpochCallback` for an hf_seqmask training collator, so a
      resumed run draws the same masks as an uninterrupted one;
    - checkpoints a killed run can trust: ``train(resume_from_checkpoint=True)`` resumes from the
      newest *whole* ``checkpoint-N`` (:func:`~hf_seqmask.checkpoints.last_complete_checkpoint`
      skips a folder torn by a kill while saving, with a warning naming it); a checkpoint is written
      into a fresh folder (a torn one of the same step left by a killed run is removed first), and a
      failed write (a full disk) raises :class:`~hf_seqmask.checkpoints.CheckpointSaveError` naming
      the folder, which is removed; the previous checkpoint is left as it was.

    ``TrainingArguments(label_smoothing_factor=...)`` smooths the model's own item loss (it sets
    ``SeqRecConfig.label_smoothing``; ``loss="full"`` without ``softmax_chunk_size`` only) and
    ``gradient_checkpointing=True`` checkpoints the backbone's layers (GPT-2, BERT, ELECTRA; XLNet's HF
    model has no checkpointing): both are checked here, before training, with the reason when refused.

    A plain ``transformers.Trainer`` trains the same way (add ``CollatorEpochCallback(collator)`` for
    exact resume) and evaluates once its ``data_collator`` is an eval-mode collator and it is given
    :func:`ranking_metrics_for_trainer`'s two hooks.

    Args:
        eval_data_collator: the collator of the evaluation and test DataLoaders.
        ranking_k: the cut-off of the default metrics (10).
        *args, **kwargs: those of ``transformers.Trainer``.
    """

    def __init__(
        self,
        *args: Any,
        eval_data_collator: SequenceCollator | None = None,
        ranking_k: int = 10,
        **kwargs: Any,
    ) -> None:
        model = kwargs.get("model", args[0] if args else None)
        if kwargs.get("compute_metrics") is None and kwargs.get("preprocess_logits_for_metrics") is None:
            kwargs.update(ranking_metrics_for_trainer(model, k=ranking_k))
        training_args = kwargs.get("args", args[1] if len(args) > 1 else None)
        _check_training_flags(model, training_args)
        super().__init__(*args, **kwargs)
        if self.args.label_smoothing_factor:
            # The model smooths its own loss over the target positions; the Trainer's LabelSmoother would
            # take the labels away from the model and read (B, L, V) logits that it never builds.
            cast(Any, self.model).config.label_smoothing = self.args.label_smoothing_factor
            self.label_smoother = None
        if eval_data_collator is None:
            if not isinstance(self.data_collator, SequenceCollator):
                raise TypeError(
                    "eval_data_collator is required when data_collator is not an hf_seqmask collator, "
                    f"got {type(self.data_collator).__name__}"
                )
            eval_data_collator = self.data_collator.with_mode("eval")
        self.eval_data_collator = eval_data_collator
        if isinstance(self.data_collator, SequenceCollator):
            self.add_callback(CollatorEpochCallback(self.data_collator))
        if getattr(getattr(self.model, "config", None), "sparse_item_embeddings", False):
            # torch's clip_grad_norm_ refuses sparse gradients; the Trainer clips through the accelerator.
            accelerator = self.accelerator
            accelerator.clip_grad_norm_ = functools.partial(_clip_through_accelerator, accelerator)

    def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
        """``SparseDenseAdam`` for a model with sparse item-table gradients (``sparse_item_embeddings``),
        with the Trainer's learning rate, betas, epsilon and weight decay (none on biases and norms);
        the Trainer's own optimizer otherwise. (transformers 5.0 calls it without a model, later
        releases with one: both are passed through.)"""
        model: Any = args[0] if args else kwargs.get("model")
        model = model if model is not None else self.model
        if self.optimizer is None and getattr(getattr(model, "config", None), "sparse_item_embeddings", False):
            training = self.args
            self.optimizer = SparseDenseAdam.for_model(
                model,
                no_decay=set(model.state_dict()) - set(self.get_decay_parameter_names(model)),
                lr=training.learning_rate,
                betas=(training.adam_beta1, training.adam_beta2),
                eps=training.adam_epsilon,
                weight_decay=training.weight_decay,
            )
            return self.optimizer
        return super().create_optimizer(*args, **kwargs)

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.train``; ``resume_from_checkpoint=True`` means the newest whole checkpoint (a
        ``ValueError`` when ``output_dir`` holds none)."""
        if resume_from_checkpoint is True:
            output_dir = self.args.output_dir or "."
            found = last_complete_checkpoint(output_dir, needs_training_state=not self.args.save_only_model)
            if found is None:
                raise ValueError(f"No valid checkpoint found in output directory ({self.args.output_dir})")
            resume_from_checkpoint = str(found)
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        if self.args.should_save and folder.exists():  # torn by a killed run: never mixed with the new files
            shutil.rmtree(folder)
        self.accelerator.wait_for_everyone()  # no rank writes its RNG state into the folder before that
        try:
            super()._save_checkpoint(model, trial)
        except write_errors() as error:  # torch.save reports a full disk as a RuntimeError
            if self.args.should_save:
                shutil.rmtree(folder, ignore_errors=True)
            previous = last_complete_checkpoint(folder.parent, warn=False)
            kept = f"the previous checkpoint {previous} is untouched" if previous else "no earlier checkpoint exists"
            full = disk_full(folder.parent, error, needed=folder_bytes(previous))
            raise CheckpointSaveError(
                f"could not write the checkpoint {folder} ({type(error).__name__}: {error}); it was removed and {kept}"
                + (
                    f"; {full}: make room, then run the same command with --resume_from_checkpoint true" if full else ""
                ),
            ) from error

    def _with_eval_collator(self, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        train_collator = self.data_collator
        self.data_collator = self.eval_data_collator
        try:
            return build(*args, **kwargs)
        finally:
            self.data_collator = train_collator

    def get_eval_dataloader(self, eval_dataset: Any = None) -> Any:
        return self._with_eval_collator(super().get_eval_dataloader, eval_dataset)

    def get_test_dataloader(self, test_dataset: Any) -> Any:
        return self._with_eval_collator(super().get_test_dataloader, test_dataset)


def ranking_metrics_for_trainer(model: Any = None, *, k: int = 10, ks: Sequence[int] | None = None) -> dict[str, Any]:
    """The two hooks that make a plain ``transformers.Trainer``'s ``evaluate()`` report the ranking
    metrics of ``SeqRecTrainer``: ``{"preprocess_logits_for_metrics": ..., "compute_metrics": ...}``,
    to pass as ``Trainer(..., **ranking_metrics_for_trainer(model))``.

    ``eval_ndcg@k``, ``eval_recall@k``, ``eval_mrr@k`` (every item ranked, ``model``'s reserved ids and
    the row's history excluded, pessimistic ties) and the same ``_with_history``; each eval batch is
    reduced to its top-k ids and the target's ranks (memory B x (k + 2), never B x L x V). The plain
    Trainer has one ``data_collator`` for every DataLoader: give it an **eval-mode** collator
    (``model.data_collator("eval")``) for ``evaluate()``, a train-mode one for ``train()`` (a training
    batch is refused by the hooks, never scored).

    Args:
        model: the :class:`~hf_seqmask.SeqRecModel` evaluated (its reserved ids, chunked ranking); ``None``:
            pad 0 and mask 1 excluded.
        k: the cut-off of the top-k ids kept per row (the largest of ``ks``).
        ks: the cut-offs reported (default ``(k,)``).

    Example:
        >>> sorted(ranking_metrics_for_trainer())
        ['compute_metrics', 'preprocess_logits_for_metrics']
    """
    ks = tuple(ks) if ks is not None else (k,)
    if max(ks) > k:
        raise ValueError(f"Invalid ks={ks}: the hooks keep the top {k} ids per row; set k >= {max(ks)}")
    reserved = getattr(model, "reserved_ids", None)
    options = {"exclude_ids": reserved.tolist()} if reserved is not None else {}
    return {
        "preprocess_logits_for_metrics": make_preprocess_logits_for_metrics(k, **options, model=model),
        "compute_metrics": make_compute_metrics(ks),
    }


def _check_training_flags(model: Any, training_args: Any) -> None:
    """Refuse, before anything runs, the ``TrainingArguments`` flags ``model`` cannot honour, with the reason."""
    config = getattr(model, "config", None)
    if training_args is None or not isinstance(config, SeqRecConfig):
        return
    factor = getattr(training_args, "label_smoothing_factor", 0.0)
    if factor:
        check_label_smoothing(
            factor, loss=config.loss, softmax_chunk_size=config.softmax_chunk_size, name="label_smoothing_factor"
        )
    # transformers 5.0 names the flag gradient_checkpointing; later releases activation_checkpointing (and keep both).
    if any(getattr(training_args, name, False) for name in ("gradient_checkpointing", "activation_checkpointing")):
        check_gradient_checkpointing(model)


def _clip_through_accelerator(accelerator: Any, parameters: Any, max_norm: float, norm_type: float = 2) -> Any:
    """The accelerator's ``clip_grad_norm_`` for a model with sparse gradients (2-norm only)."""
    if norm_type != 2:
        raise ValueError(f"sparse gradients are clipped by their 2-norm only, got norm_type={norm_type}")
    return clip_grad_norm_sparse_aware(parameters, max_norm, unscale=accelerator.unscale_gradients)
