"""The scoring path out of Python: ``torch.export`` programs and ONNX files, with the serving spec beside them.

What is exported is what :meth:`~hf_seqmask.SeqRecModel.recommend` scores: a predict-mode batch
(``input_ids`` and ``attention_mask``, right-padded, as ``model.data_collator("predict")`` builds it)
in, the next-item scores of every row (B, V) out. The prediction's position and XLNet's
factorisation order are derived inside the graph from the two inputs, so a server without torch
builds only the ids: each history's ``history_limit`` most recent items, then the mask id when the
spec says ``predict_slot``, then padding (see ``examples/serve.py``). Batch size and width are
dynamic (width up to ``max_seq_length``).

A model with side features takes one more (B, L) input per feature, named as the feature (int64 for
categorical and multi-hot, float32 for continuous; the torch program takes them as one dict,
``side_features={name: tensor}``): each row's values at its items. The slot's values are derived in
the graph as the predict collator writes them (:mod:`hf_seqmask.serving_features`).

:func:`export_model` writes the artifact with ``serving_spec.json`` (the masking spec a server needs,
taken from the model's own predict collator, the side features' names, dtypes, pad value and which
are context features included) and, when the model has them, ``item_vocabulary.json``,
``feature_spec.json`` and ``feature_lookup.json`` (the item and user tables, encoded).

Example:
    >>> import tempfile
    >>> from transformers import GPT2Config
    >>> from hf_seqmask import SeqRecConfig, SeqRecModel
    >>> model = SeqRecModel(SeqRecConfig(backbone_config=GPT2Config(vocab_size=12, n_positions=8, n_embd=8,
    ...                     n_layer=1, n_head=2), scheme="clm", max_seq_length=8))
    >>> folder = tempfile.mkdtemp()
    >>> path = export_model(model, folder, format="torch")
    >>> program = torch.export.load(path)
    >>> batch = model.data_collator("predict")([{"input_ids": [5, 6, 7]}, {"input_ids": [8]}])
    >>> scores = program.module()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    >>> bool(torch.allclose(scores, model.score_batch(batch), atol=1e-5))
    True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from . import _masking, serving_features, spec
from ._checks import check_choice

EXPORT_FORMATS = ("onnx", "torch")
SERVING_SPEC_FILE = "serving_spec.json"
ARTIFACT_FILES = {"onnx": "model.onnx", "torch": "model.pt2"}
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "scores"
MIN_WIDTH = 2  # the narrowest batch every family's graph takes (a server pads a one-column batch)


class ScoringModule(nn.Module):
    """A model's scoring path as a traceable module: ``(input_ids, attention_mask[, side_features])``
    -> scores (B, V).

    The inputs are a predict-mode batch's (right-padded); ``side_features`` (name -> (B, L), every
    configured feature) need values at the items only: padding and the predict slot are filled in
    here, as the predict collator fills them. Rows without an item to predict from (all padding) get
    zeros, as in :meth:`~hf_seqmask.SeqRecModel.score_batch`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        config = cast(Any, model).config
        collator = cast(Any, model).data_collator("predict")
        self.side_names = list(config.side_features)
        self.context = set(getattr(config, "context_side_features", ()))
        self.slot = bool(collator.predict_slot)
        self.pad_value = collator.side_feature_pad_value
        self.mask_token_id = int(config.mask_token_id)
        # XLNet's order in predict mode, as the collators build it (tests/modeling/test_export.py compares them).
        if spec.uses_causal_perm_mask(config):
            self.order = "causal"
        elif config.scheme == "plm":
            self.order = "slot"
        else:
            self.order = "none"

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        side_features: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        prediction_positions = attention_mask.sum(dim=1) - 1  # (B,) the last real position: slot or last item
        given = side_features or {}
        if sorted(given) != sorted(self.side_names):
            raise ValueError(f"side_features holds {sorted(given)}; the model takes {self.side_names}")
        inputs: dict[str, torch.Tensor] = serving_features.predict_side_features(
            {name: given[name] for name in self.side_names},
            attention_mask,
            context=self.context,
            slot=self.slot,
            pad_value=self.pad_value,
        )
        if self.order == "causal":
            inputs["perm_order"] = _masking.causal_order(attention_mask.bool())  # (B, L)
        elif self.order == "slot":
            inputs["perm_order"] = torch.where(input_ids == self.mask_token_id, 0, -1)  # (B, L)
        model = cast(Any, self.model)
        if model.is_xlnet:  # XLNet computes 1.0 - attention_mask, which ONNX's decomposition refuses on ints
            attention_mask = attention_mask.to(model.dtype)
        output = model(
            input_ids=input_ids, attention_mask=attention_mask, prediction_positions=prediction_positions, **inputs
        )
        if output.logits is not None:
            return output.logits
        weight, bias = model.item_head()  # chunked ranking is on: build the (B, V) scores here
        scores = nn.functional.linear(output.prediction_hidden, weight, bias)
        return scores.masked_fill((prediction_positions < 0)[:, None], 0.0)


def serving_spec(model: nn.Module) -> dict[str, Any]:
    """What a server needs to build the exported graph's inputs and rank its scores, from the model's
    config and predict collator (one source of truth)."""
    config = cast(Any, model).config
    collator = cast(Any, model).data_collator("predict")
    reserved = sorted(int(i) for i in cast(Any, model).reserved_ids.tolist())
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is not None and vocabulary.num_reserved != max(reserved) + 1:
        raise ValueError(
            f"the vocabulary's items start at id {vocabulary.num_reserved}, after the reserved ids {reserved}: "
            "a server could not map ids back to items"
        )
    features = serving_features.side_feature_entries(config, collator.side_feature_pad_value)
    return {
        "format_version": 1,
        "family": config.backbone_config.model_type,
        "scheme": config.scheme,
        "vocab_size": int(config.backbone_config.vocab_size),
        "max_seq_length": config.max_seq_length,
        "history_limit": collator.history_limit,
        "predict_slot": bool(collator.predict_slot),
        "pad_token_id": int(config.pad_token_id),
        "mask_token_id": int(config.mask_token_id),
        "reserved_ids": reserved,
        "first_item_id": max(reserved) + 1,  # item_vocabulary.json's items[i] is id first_item_id + i
        "inputs": [*INPUT_NAMES, *(entry["name"] for entry in features)],
        "side_features": features,  # one (B, L) input each, after input_ids and attention_mask
        "min_width": MIN_WIDTH,
        "output": OUTPUT_NAME,
        "ranking": "highest score first; ties by lower id; reserved ids and the history excluded",
    }


def _example_inputs(model: nn.Module) -> dict[str, Any]:
    """A predict batch of two histories, the wider one as wide as the model takes (the graph's kwargs)."""
    collator = cast(Any, model).data_collator("predict")
    first_item = max(int(i) for i in cast(Any, model).reserved_ids.tolist()) + 1
    entries = serving_features.side_feature_entries(cast(Any, model).config, collator.side_feature_pad_value)
    rows = []
    for length in (max(collator.history_limit or 8, MIN_WIDTH), 1):
        rows.append({"input_ids": [first_item] * length, **serving_features.example_feature_values(entries, length)})
    batch = collator(rows)
    inputs = {name: batch[name] for name in INPUT_NAMES}
    if entries:
        inputs["side_features"] = {entry["name"]: batch[entry["name"]] for entry in entries}
    return inputs


def _dynamic_shapes(inputs: dict[str, Any]) -> dict[str, Any]:
    """Batch size and width dynamic; export infers their ranges (XLNet's relative attention needs a
    width >= 2, which its predict slot always gives)."""
    both = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
    return {name: {key: both for key in value} if isinstance(value, dict) else both for name, value in inputs.items()}


def export_program(model: nn.Module) -> torch.export.ExportedProgram:
    """The scoring path of ``model`` (in eval mode, on its device) as a ``torch.export`` program with
    dynamic batch size and width. The model's training mode is restored."""
    was_training = model.training
    model.eval()
    try:
        module = ScoringModule(model)
        with torch.no_grad():
            inputs = _example_inputs(model)
            return torch.export.export(module, (), kwargs=inputs, dynamic_shapes=_dynamic_shapes(inputs))
    finally:
        model.train(was_training)


def export_model(model: nn.Module, directory: str | os.PathLike, *, format: str = "onnx") -> Path:
    """Write the scoring path of ``model`` to ``directory`` as ``model.onnx`` (``format="onnx"``,
    through ``torch.onnx.export(..., dynamo=True)``) or ``model.pt2`` (``"torch"``, a
    ``torch.export`` program for ``torch.export.load``), with ``serving_spec.json`` and the item
    vocabulary beside it. Returns the artifact's path."""
    check_choice("format", format, EXPORT_FORMATS)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ARTIFACT_FILES[format]
    program = export_program(model)
    if format == "torch":
        torch.export.save(program, path)
    else:
        onnx_program = torch.onnx.export(program, output_names=[OUTPUT_NAME], dynamo=True, verbose=False)
        _name_inputs(cast(Any, onnx_program).model.graph, serving_spec(model)["inputs"])
        cast(Any, onnx_program).save(str(path))
    (folder / SERVING_SPEC_FILE).write_text(json.dumps(serving_spec(model), indent=2) + "\n")
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is not None:
        vocabulary.save_pretrained(folder)
    feature_spec = getattr(model, "feature_spec", None)
    if feature_spec is not None:
        feature_spec.save_pretrained(folder)
    lookups = serving_features.feature_lookups(model)
    if lookups is not None:
        (folder / serving_features.LOOKUP_FILE).write_text(json.dumps(lookups) + "\n")
    return path


def _name_inputs(graph: Any, names: list[str]) -> None:
    """Name the ONNX graph's inputs ``names`` (a side feature as itself, not ``side_features_<name>``);
    an inner value already holding one of the names (a feature called ``cat`` meets the graph's
    ``Concat`` output ``cat``) is renamed first: ONNX refuses a name defined twice."""
    wanted = set(names)
    for node in graph.all_nodes():  # subgraphs too
        for value in node.outputs:
            if value.name in wanted:
                value.name = f"{value.name}__inner"
    for value, name in zip(graph.inputs, names, strict=True):
        value.name = name
