"""The serving side of :class:`~hf_seqmask.SeqRecModel`: scoring, chunked ranking, ``recommend``.

A mixin, as transformers keeps generation in ``GenerationMixin``: it reads the model through
``config``, ``backbone``, ``vocabulary``, ``reserved_ids`` and ``data_collator`` (declared below for
the type checker) and calls its ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from .. import _device
from .._checks import check_int_at_least
from ..chunked_ranking import chunked_ranking
from ..metrics import exclusion_mask, top_k_scored
from .backbones import has_item_head, item_decoder
from .outputs import SeqRecOutput

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from ..collators import SequenceCollator
    from ..data.vocabulary import ItemVocabulary


class SeqRecServingMixin:
    """Next-item scores and top-k recommendations of a trained model, run in eval mode without gradient.

    With ``softmax_chunk_size`` set (and a family whose item head is known), ranking walks the
    catalogue in chunks with a running top-k (:mod:`hf_seqmask.chunked_ranking`) and never builds the
    (B, V) scores.
    """

    if TYPE_CHECKING:  # provided by SeqRecModel
        config: Any
        backbone: PreTrainedModel
        vocabulary: ItemVocabulary | None

        @property
        def reserved_ids(self) -> torch.Tensor: ...

        def data_collator(self, mode: str = "train", **overrides: Any) -> SequenceCollator: ...

    @property
    def ranks_in_chunks(self) -> bool:
        """Whether eval and serving rank the catalogue in chunks (``softmax_chunk_size`` set, for a
        family whose item head we know) instead of building (B, V) scores."""
        return bool(self.config.softmax_chunk_size) and has_item_head(self.backbone)

    def item_head(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(weight (V, H), bias (V,) or None)`` of the item scores: ``prediction_hidden @ weight.T + bias``."""
        decoder = item_decoder(self.backbone)
        return decoder.weight, decoder.bias

    @torch.no_grad()
    def score_batch(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, V) next-item scores of an eval- or predict-mode batch: moved to the model's device, run
        in eval mode without gradient (the training mode is restored)."""
        batch = _device.to_model_device(batch, cast(nn.Module, self))
        output = self._eval_forward(batch)
        if output.logits is not None:
            return output.logits
        # Chunked ranking is on: this method's contract is the whole (B, V), built here.
        weight, bias = self.item_head()
        scores = nn.functional.linear(cast(torch.Tensor, output.prediction_hidden), weight, bias)
        return scores.masked_fill((batch["prediction_positions"] < 0)[:, None], 0.0)

    def _eval_forward(self, batch: dict[str, Any]) -> SeqRecOutput:
        """``forward`` in eval mode (no dropout), the training mode restored after."""
        model = cast(nn.Module, self)
        was_training = model.training
        model.eval()
        try:
            return model(**batch)
        finally:
            model.train(was_training)

    @torch.no_grad()
    def recommend(
        self,
        histories: Sequence[Any],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allow: Sequence[Any] | None = None,
        block: Sequence[Any] | None = None,
        batch_size: int = 256,
        unknown_items: str = "error",
    ) -> list[list[tuple[Any, float]]]:
        """The top-``k`` next items of each history, best first, as ``(item, score)`` pairs.

        ``histories``: one sequence of items per user, oldest first (raw ids when the model has a
        vocabulary, else ids), or example dicts holding that sequence under ``"input_ids"`` plus the
        configured side features. Each history is scored exactly as evaluation scores it (predict
        mode: the ``max_seq_length - 1`` most recent items, then the prediction's position).

        Rules: the items of the whole history are excluded (``exclude_seen``), as are the reserved
        ids, ``block`` and, when given, every item outside ``allow``; ties rank by id; a row with fewer
        than ``k`` candidates left gets a shorter list; an empty history gets an empty list (no item
        to predict from). ``unknown_items``: ``"error"`` (raise, naming the item) or ``"drop"``.
        Runs in batches of ``batch_size`` on the model's device.

        Example:
            >>> from transformers import GPT2Config
            >>> from hf_seqmask import SeqRecConfig, SeqRecModel
            >>> from hf_seqmask.data import ItemVocabulary
            >>> model = SeqRecModel(SeqRecConfig(backbone_config=GPT2Config(vocab_size=6, n_positions=8, n_embd=8,
            ...                     n_layer=1, n_head=2), scheme="clm", max_seq_length=8))
            >>> model.set_vocabulary(ItemVocabulary.build(["tea", "mug", "cup", "pot"]))
            >>> top = model.recommend([["tea", "mug"]], k=3)
            >>> sorted(item for item, _ in top[0])  # the two unseen items; k=3 but only 2 are left
            ['cup', 'pot']
        """
        if unknown_items not in ("error", "drop"):
            raise ValueError(f"Invalid unknown_items={unknown_items!r}; must be 'error' or 'drop'")
        check_int_at_least("k", k, 1)
        encode = self._encoder(unknown_items)
        rows = []
        for history in histories:
            row = dict(history) if isinstance(history, Mapping) else {"input_ids": history}
            row["input_ids"] = encode(row["input_ids"])
            rows.append(row)
        vocab_size = self.config.backbone_config.vocab_size
        excluded_items = torch.zeros(vocab_size, dtype=torch.bool)
        excluded_items[self.reserved_ids] = True
        if block is not None:
            excluded_items[torch.as_tensor(encode(block), dtype=torch.long)] = True
        if allow is not None:
            allowed = torch.zeros(vocab_size, dtype=torch.bool)
            allowed[torch.as_tensor(encode(allow), dtype=torch.long)] = True
            excluded_items |= ~allowed
        collator = self.data_collator("predict")
        device = _device.model_device(cast(nn.Module, self))
        results: list[list[tuple[Any, float]]] = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            history = None
            if exclude_seen:
                history = nn.utils.rnn.pad_sequence(
                    [torch.as_tensor(row["input_ids"], dtype=torch.long) for row in chunk],
                    batch_first=True,
                    padding_value=self.config.pad_token_id,
                )
            if self.ranks_in_chunks:
                ids, values = self._rank_in_chunks(collator(chunk), k, excluded_items, history)
            else:
                scores = self.score_batch(collator(chunk))  # (B, V)
                excluded = exclusion_mask(*scores.shape, history=history, device=device) | excluded_items.to(device)
                ids, values = top_k_scored(scores, k, excluded=excluded)
            for row, row_ids, row_values in zip(chunk, ids.tolist(), values.tolist(), strict=True):
                pairs = [(i, v) for i, v in zip(row_ids, row_values, strict=True) if i >= 0]
                if not len(row["input_ids"]):
                    pairs = []  # nothing to predict from
                if self.vocabulary is not None:
                    pairs = list(zip(self.vocabulary.decode([i for i, _ in pairs]), [v for _, v in pairs], strict=True))
                results.append(pairs)
        return results

    def _rank_in_chunks(
        self, batch: dict[str, Any], k: int, excluded_items: torch.Tensor, history: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``recommend``'s top-k of a predict batch without its (B, V) scores (see chunked_ranking)."""
        query = cast(
            torch.Tensor, self._eval_forward(_device.to_model_device(batch, cast(nn.Module, self))).prediction_hidden
        )
        weight, bias = self.item_head()
        ranking = chunked_ranking(
            query, weight, bias, k, chunk_size=cast(int, self.config.softmax_chunk_size),
            excluded_items=excluded_items, history=history,
        )  # fmt: skip
        return ranking.ids, ranking.values

    def _encoder(self, unknown_items: str) -> Callable[[Any], list]:
        """Raw ids -> ids through the vocabulary (or checked ids when the model has none)."""
        vocab_size = self.config.backbone_config.vocab_size
        vocabulary = self.vocabulary
        if vocabulary is not None:
            return lambda items: vocabulary.encode(items, unknown=unknown_items)

        def check(items: Any) -> list[int]:
            ids = [int(i) for i in items]
            bad = [i for i in ids if not 0 <= i < vocab_size]
            if bad:
                raise ValueError(
                    f"item id {bad[0]} is outside [0, vocab_size={vocab_size}) (the model has no vocabulary)"
                )
            return ids

        return check
