"""Early stopping on a ranking metric of the validation split, with the best weights restored.

transformers' ``EarlyStoppingCallback`` watches the Trainer's evaluation loss (or a metric of its
eval loop) and needs a checkpoint per evaluation to load the best one back. For next-item
recommendation the quantity to watch is a ranking metric over every item (NDCG@10 with the history
excluded), computed here directly on the validation split; the best weights are kept in memory
(the models of this field are a few MB), so no checkpoints are written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers import TrainerCallback

from . import _device
from .metrics import evaluate_ranking
from .reserved import MASK_TOKEN_ID, PAD_TOKEN_ID

DEFAULT_EXCLUDED = (PAD_TOKEN_ID, MASK_TOKEN_ID)  # a model without ``reserved_ids`` (not a SeqRecModel)


class RankingEarlyStopping(TrainerCallback):
    """Evaluates ``metric`` on ``dataset`` every ``every_epochs`` epochs; stops training after
    ``patience`` evaluations without improvement and puts the best weights back at the end.

    Args:
        dataset: the validation split (its last item is the target), e.g. ``leave_one_out(...)["validation"]``.
        collator: an eval-mode collator (``collator.with_mode("eval")``).
        metric: the key of :func:`~hf_seqmask.metrics.evaluate_ranking`'s result to maximise.
        patience: evaluations without improvement before stopping; 0 never stops early (the best
            weights are still restored).
        every_epochs: evaluate at the end of every this many epochs.
        exclude_history: rank without the items of the row's history (the headline protocol).
        ks: the cut-offs to compute; ``metric`` must be one of their keys.
        report: called with each evaluation's record (e.g. ``print``).

    ``history`` lists every evaluation (``{"epoch": ..., "step": ..., <metrics>}``); ``best`` is the best one.
    Every process of a multi-process run evaluates the same weights on the same data, so they all
    take the same stop decision.

    Example:
        >>> from datasets import Dataset
        >>> from hf_seqmask import CausalCollator
        >>> stopper = RankingEarlyStopping(Dataset.from_dict({"input_ids": [[2, 3, 4]]}),
        ...                                CausalCollator(vocab_size=10, mask_token_id=1).with_mode("eval"), patience=2)
        >>> stopper.metric, stopper.patience
        ('ndcg@10', 2)
    """

    def __init__(
        self,
        dataset: Sequence,
        collator: Callable,
        *,
        metric: str = "ndcg@10",
        patience: int = 3,
        every_epochs: int = 1,
        exclude_history: bool = True,
        ks: Sequence[int] = (10,),
        report: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if patience < 0:
            raise ValueError(f"Invalid patience={patience!r}; must be >= 0")
        if every_epochs < 1:
            raise ValueError(f"Invalid every_epochs={every_epochs!r}; must be >= 1")
        known = {f"{name}@{k}" for k in ks for name in ("ndcg", "recall", "mrr")}
        if metric not in known:
            raise ValueError(f"Invalid metric={metric!r}; must be one of {sorted(known)}")
        self.dataset, self.collator, self.metric = dataset, collator, metric
        self.patience, self.every_epochs = patience, every_epochs
        self.exclude_history, self.ks, self.report = exclude_history, tuple(ks), report
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self._evaluations_since_best = 0

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        was_training = model.training
        model.eval()
        try:
            return evaluate_ranking(
                lambda batch: model(**_device.to_model_device(batch, model)).logits,
                self.dataset,
                self.collator,
                ks=self.ks,
                exclude_ids=getattr(model, "reserved_ids", torch.tensor(DEFAULT_EXCLUDED)).tolist(),
                exclude_history=self.exclude_history,
            )
        finally:
            model.train(was_training)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        epoch = round(state.epoch or 0)
        if epoch % self.every_epochs:
            return control
        metrics = self.evaluate(model)
        record = {"epoch": epoch, "step": state.global_step, **metrics}
        self.history.append(record)
        if self.report is not None:
            self.report(record)
        if self.best is None or metrics[self.metric] > self.best[self.metric]:
            self.best = record
            # Clone: the state dict's tensors are the live parameters that training keeps updating.
            self._best_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
            self._evaluations_since_best = 0
        else:
            self._evaluations_since_best += 1
            if self.patience and self._evaluations_since_best >= self.patience:
                control.should_training_stop = True
        return control

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self._best_state is not None:
            model.load_state_dict(self._best_state)
        return control
