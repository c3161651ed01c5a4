"""The side features of an exported model: the graph's extra inputs, their entries in the serving
spec, and the encoded look-up tables a server reads them from.

An exported graph takes one (B, L) input per side feature, named as the feature, in
``config.side_features``' order: int64 for a categorical or multi-hot (bitmask) feature, float32 for
a continuous one, each row's values at its items, right-padded like ``input_ids``.
:func:`predict_side_features` then writes, inside the graph, what the predict collator writes: the
pad value at padding and at the predict slot, and at the slot a context feature's value at the row's
last item. A server therefore sends the history's values only (anything at padding and the slot).

Where the model carries its fitted :class:`~hf_seqmask.data.feature_tables.FeatureSpec` and an item
vocabulary, :func:`feature_lookups` encodes the saved item and user tables once, at export, into
``feature_lookup.json``: per item-table feature one value per model id, per user-table feature one
value per user (and the value of a user missing from the table) -- what ``FeatureSpec.encode_example``
would give -- so a server without torch (``examples/serve.py``) looks them up with numpy indexing.
Interaction and time features come with each request, encoded.

Example:
    >>> values = torch.tensor([[4, 4, 9, 9], [7, 9, 9, 9]])
    >>> attention_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])  # two items + slot, one item + slot
    >>> predict_side_features({"country": values}, attention_mask, context={"country"}, slot=True,
    ...                       pad_value=0)["country"].tolist()
    [[4, 4, 4, 0], [7, 7, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ._padding import fill_slot_with_last

LOOKUP_FILE = "feature_lookup.json"


def predict_side_features(
    side_features: Mapping[str, torch.Tensor],
    attention_mask: torch.Tensor,
    *,
    context: set[str],
    slot: bool,
    pad_value: float,
) -> dict[str, torch.Tensor]:
    """The side features (each (B, L)) as the predict collator builds them, from the attended
    positions (``attention_mask`` (B, L), the slot being each row's last attended position when
    ``slot``): the pad value outside the items, a ``context`` feature's last value at the slot."""
    attended = attention_mask.bool()  # (B, L)
    lengths = attention_mask.sum(dim=1)  # (B,) items, plus the slot
    if slot:
        positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)  # (L,)
        slot_mask = attended & (positions == (lengths - 1)[:, None])  # (B, L)
        real, lengths = attended & ~slot_mask, lengths - attended.any(dim=1).long()
    else:
        slot_mask, real = torch.zeros_like(attended), attended
    out = {}
    for name, values in side_features.items():
        values = values.masked_fill(~real, pad_value)  # (B, L)
        out[name] = fill_slot_with_last(values, slot_mask, lengths) if slot and name in context else values
    return out


def side_feature_entries(config: Any, pad_value: float) -> list[dict[str, Any]]:
    """``serving_spec.json``'s ``side_features``: each input's name, dtype, kind, cardinality,
    whether it is a context feature, and its pad value, in the graph's order."""
    multi_hot = set(getattr(config, "multi_hot_side_features", ()))
    context = set(getattr(config, "context_side_features", ()))
    entries = []
    for name, cardinality in config.side_features.items():
        kind = "multi_hot" if name in multi_hot else "categorical" if cardinality > 0 else "continuous"
        entries.append(
            {
                "name": name,
                "dtype": "float32" if kind == "continuous" else "int64",
                "kind": kind,
                "cardinality": int(cardinality),
                "context": name in context,
                "pad_value": int(pad_value) if kind != "continuous" else float(pad_value),
            }
        )
    return entries


def example_feature_values(entries: list[dict[str, Any]], length: int) -> dict[str, list]:
    """One row's valid values of every feature (``length`` of each), to trace the graph with."""
    values = {"continuous": 0.5, "multi_hot": 1}
    return {e["name"]: [values.get(e["kind"], min(1, e["cardinality"] - 1))] * length for e in entries}


def feature_lookups(model: Any) -> dict[str, Any] | None:
    """The encoded item and user tables of ``model.feature_spec`` (see the module docstring), or
    None when the model has no feature spec or no item vocabulary (ids could not be mapped to rows).

    Returns:
        ``{"item": {name: [value per model id]}, "user": {name: {"values": {user: value},
        "missing": value}}}``; reserved ids hold the pad value.
    """
    spec, vocabulary = getattr(model, "feature_spec", None), getattr(model, "vocabulary", None)
    if spec is None or vocabulary is None:
        return None
    pad = model.data_collator("predict").side_feature_pad_value
    item_columns = [c.name for c in spec.columns if c.source == "item"]
    user_columns = [c.name for c in spec.columns if c.source == "user"]
    items = vocabulary.items
    encoded = spec.encode(
        _raw(spec, {n: [spec.item_table.get(str(i), {}).get(n) for i in items] for n in item_columns})
    )
    first = vocabulary.num_reserved
    lookups: dict[str, Any] = {"item": {n: [pad] * first + encoded[n] for n in item_columns}, "user": {}}
    users = list(spec.user_table)
    raw_users = {n: [spec.user_table[u].get(n) for u in users] + [None] for n in user_columns}  # + a missing user
    encoded = spec.encode(_raw(spec, raw_users))
    for name in user_columns:
        *values, missing = encoded[name]
        lookups["user"][name] = {"values": dict(zip(users, values, strict=True)), "missing": missing}
    return lookups


def _raw(spec: Any, known: dict[str, list]) -> dict[str, list]:
    """``known`` raw columns, the spec's other columns missing (``FeatureSpec.encode`` reads them all)."""
    length = len(next(iter(known.values()))) if known else 0
    return {c.name: known.get(c.name, [None] * length) for c in spec.columns}
