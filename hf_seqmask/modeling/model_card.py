"""The model card (``README.md``) that :meth:`SeqRecModel.save_pretrained` writes beside the weights.

It follows the Hub's conventions: YAML front matter (``library_name``, ``tags``, ``license`` when
given) read by the Hub, then what a reader needs: how to load the model (``import hf_seqmask``
first), its masking spec, the data and the metrics when the caller passed them, the intended use
and the limitations. A ``README.md`` that hf_seqmask did not write is left as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data.vocabulary import VOCABULARY_FILE, ItemVocabulary

CARD_FILE = "README.md"
MARKER = "<!-- written by hf_seqmask's save_pretrained; it rewrites this file on each save -->"
CARD_FIELDS = ("data", "metrics", "license", "tags", "intended_use")

Metrics = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def model_card(
    config: Any,
    *,
    vocabulary: ItemVocabulary | None = None,
    data: str | None = None,
    metrics: Metrics | None = None,
    license: str | None = None,
    tags: Sequence[str] = (),
    intended_use: str | None = None,
) -> str:
    """The card's text for a model of ``config`` (a :class:`~hf_seqmask.SeqRecConfig`).

    Args:
        config: the model's config.
        vocabulary: the model's item vocabulary (its size is reported; the file ships beside the weights).
        data: what the model was trained on, in words.
        metrics: ``{name: value}`` (e.g. ``trainer.evaluate()``'s) or a list of such rows (the main
            job's result table); written as a table.
        license: the Hub license id of the weights (e.g. ``"apache-2.0"``); left out when ``None``.
        tags: Hub tags added to hf_seqmask's own.
        intended_use: replaces the generic intended-use paragraph.

    Example:
        >>> from transformers import GPT2Config
        >>> from hf_seqmask import SeqRecConfig
        >>> card = model_card(SeqRecConfig(backbone_config=GPT2Config(vocab_size=10, n_layer=1), scheme="clm"),
        ...                   metrics={"test_ndcg@10": 0.1234})
        >>> card.splitlines()[:2], "| test_ndcg@10 | 0.1234 |" in card
        (['---', 'library_name: hf_seqmask'], True)
    """
    backbone = config.backbone_config
    family, scheme = backbone.model_type, config.scheme
    own_tags = ["hf_seqmask", "recommendation", "sequential-recommendation", "next-item-prediction", family, scheme]
    front = ["---", "library_name: hf_seqmask"]
    if license:
        front.append(f"license: {license}")
    front += ["tags:", *(f"- {tag}" for tag in dict.fromkeys([*own_tags, *tags])), "---", MARKER, ""]
    sections = [
        f"# {family} + `{scheme}`: a next-item recommender trained with hf_seqmask",
        _how_to_load(),
        "## Masking spec\n\n" + _spec_table(config, vocabulary),
        "## Data\n\n" + (data or "Not recorded (pass `model_card={'data': ...}` to `save_pretrained`)."),
        "## Metrics\n\n"
        + (_metrics_table(metrics) if metrics else "Not recorded (pass `model_card={'metrics': ...}`)."),
        "## Intended use\n\n" + (intended_use or _INTENDED_USE),
        "## Limitations\n\n" + _LIMITATIONS,
    ]
    return "\n".join(front) + "\n\n".join(sections) + "\n"


def write_model_card(
    directory: str | os.PathLike, config: Any, *, vocabulary: ItemVocabulary | None = None, **info: Any
) -> Path | None:
    """Write :func:`model_card` as ``directory/README.md``; ``None`` (nothing written) when the folder
    holds a ``README.md`` that hf_seqmask did not write. ``info``: :data:`CARD_FIELDS`.

    Raises:
        TypeError: a field that is not one of :data:`CARD_FIELDS`.
    """
    unknown = sorted(set(info) - set(CARD_FIELDS))
    if unknown:
        raise TypeError(f"Invalid model_card field {unknown[0]!r}; the fields are {CARD_FIELDS}")
    path = Path(directory) / CARD_FILE
    if path.is_file() and MARKER not in path.read_text(errors="replace"):
        return None
    path.write_text(model_card(config, vocabulary=vocabulary, **info))
    return path


def _how_to_load() -> str:
    return (
        "## How to load\n\n"
        "The model type `hf_seqmask` is not part of transformers: `pip install hf_seqmask` and "
        "`import hf_seqmask` before loading (without it, `AutoModel.from_pretrained` stops with "
        '"model type `hf_seqmask` ... Transformers does not recognize this architecture").\n\n'
        "```python\n"
        "import hf_seqmask  # registers the model type with transformers' Auto classes\n"
        "from transformers import AutoModel\n\n"
        'model = AutoModel.from_pretrained("<this folder or Hub repo id>")  # weights, spec, item vocabulary\n'
        'print(model.recommend([["<an item id>", "<the next one>"]], k=10))  # raw item ids in, (item, score) out\n'
        "```\n\n"
        f"`{VOCABULARY_FILE}` maps your raw item ids to the model's ids; `model.data_collator(mode)` builds "
        "the collator that fits the model, for further training or evaluation."
    )


def _spec_table(config: Any, vocabulary: ItemVocabulary | None) -> str:
    from .. import __version__  # the package, imported by now (a module-level import would be a cycle)

    backbone = config.backbone_config
    smoothing = f", label smoothing {config.label_smoothing}" if config.label_smoothing else ""
    rows = [
        ("scheme", f"`{config.scheme}`"),
        ("backbone", f"`{backbone.model_type}`, {_size(backbone)}"),
        ("ids", f"{backbone.vocab_size} (pad {config.pad_token_id}, mask {config.mask_token_id}"
         + (f", special {list(config.special_token_ids)}" if config.special_token_ids else "") + ")"),
        ("items in the vocabulary", f"{len(vocabulary)}" if vocabulary is not None else "none saved"),
        ("max_seq_length", str(config.max_seq_length)),
        ("masking", f"`{json.dumps(config.masking, sort_keys=True)}`"),
        ("loss", f"`{config.loss}`{smoothing}"),
        ("side features", ", ".join(f"`{name}`" for name in config.side_features) or "none"),
        ("saved with", f"hf_seqmask {__version__}"),
    ]  # fmt: skip
    if config.scheme == "rtd":
        rows.append(("rtd loss weights", f"generator {config.generator_loss_weight}, "
                     f"discriminator {config.discriminator_loss_weight}"))  # fmt: skip
    return "| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def _size(backbone: Any) -> str:
    layers = getattr(backbone, "num_hidden_layers", None)
    hidden = getattr(backbone, "hidden_size", None)
    return f"{layers} layers, hidden size {hidden}"


def _metrics_table(metrics: Metrics) -> str:
    if isinstance(metrics, Mapping):
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {name} | {_cell(value)} |" for name, value in metrics.items()]
        return "\n".join(lines)
    rows = [dict(row) for row in metrics]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


_INTENDED_USE = (
    "Ranking the next item for a sequence of interactions (a user's history or a session) drawn from the "
    "same catalogue and the same kind of behaviour as the training data: candidate generation or re-ranking "
    "in a recommender, offline evaluation, a baseline for research."
)

_LIMITATIONS = "\n".join(
    [
        "- It knows only the items in its vocabulary: a new item cannot be recommended, and an unknown "
        "item in a history is refused (or dropped, as the caller chooses), until the model is retrained.",
        "- Offline metrics (leave-one-out, every item ranked) do not measure what users do with the "
        "recommendations; behaviour shifts over time and the model does not follow it.",
        "- It learns the popularity and the biases of its training interactions and can reinforce them "
        "(popular items recommended more, niche items less).",
        f"- `{VOCABULARY_FILE}` lists the raw item ids and their interaction counts: publish it only where "
        "the catalogue may be public.",
    ]
)
