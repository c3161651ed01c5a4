"""An HF ``Trainer`` that masks for training, evaluates with the collator's eval mode and reports the
ranking metrics (history excluded) from ``trainer.evaluate()``."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .checkpoints import CheckpointSaveError, last_complete_checkpoint
from .collators import SequenceCollator
from .metrics import make_compute_metrics, make_preprocess_logits_for_metrics
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

    A plain ``transformers.Trainer`` trains the same way (add ``CollatorEpochCallback(collator)`` for
    exact resume) and evaluates once its ``data_collator`` is an eval-mode collator.

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
        if kwargs.get("compute_metrics") is None and kwargs.get("preprocess_logits_for_metrics") is None:
            model = kwargs.get("model", args[0] if args else None)
            reserved = getattr(model, "reserved_ids", None)
            exclude_ids = reserved.tolist() if reserved is not None else None
            options = {"exclude_ids": exclude_ids} if exclude_ids is not None else {}
            kwargs["preprocess_logits_for_metrics"] = make_preprocess_logits_for_metrics(
                ranking_k, **options, model=model
            )
            kwargs["compute_metrics"] = make_compute_metrics((ranking_k,))
        super().__init__(*args, **kwargs)
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
        except (OSError, RuntimeError) as error:  # torch.save reports a full disk as a RuntimeError
            if self.args.should_save:
                shutil.rmtree(folder, ignore_errors=True)
            previous = last_complete_checkpoint(folder.parent, warn=False)
            kept = f"the previous checkpoint {previous} is untouched" if previous else "no earlier checkpoint exists"
            raise CheckpointSaveError(
                f"could not write the checkpoint {folder} ({type(error).__name__}: {error}); it was removed and {kept}",
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


def _clip_through_accelerator(accelerator: Any, parameters: Any, max_norm: float, norm_type: float = 2) -> Any:
    """The accelerator's ``clip_grad_norm_`` for a model with sparse gradients (2-norm only)."""
    if norm_type != 2:
        raise ValueError(f"sparse gradients are clipped by their 2-norm only, got norm_type={norm_type}")
    return clip_grad_norm_sparse_aware(parameters, max_norm, unscale=accelerator.unscale_gradients)
