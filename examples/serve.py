"""Serve next-item recommendations from an exported model with onnxruntime and numpy only (no torch).

Export first (in Python, with hf_seqmask)::

    from hf_seqmask import SeqRecModel
    from hf_seqmask.export import export_model
    export_model(SeqRecModel.from_pretrained("out/ml1m/model"), "out/ml1m/onnx")

then answer requests::

    python examples/serve.py out/ml1m/onnx --history 1193,661,914 --k 10 --block 2355
    python examples/serve.py out/ml1m/onnx --benchmark    # latency per request at batch 1 and 64

The folder holds ``model.onnx``, ``serving_spec.json`` and (when the model had one)
``item_vocabulary.json``. :class:`OnnxRecommender` builds the graph's inputs as the model's predict
collator does (the spec says how: the ``history_limit`` most recent items, the mask id after them
when ``predict_slot``, right-padding) and ranks as ``SeqRecModel.recommend`` does: highest score
first, ties by lower id, reserved ids, the whole history, ``block`` and everything outside ``allow``
excluded (``tests/test_export.py`` checks both give the same items).

A model with side features (the spec's ``side_features``) takes a history as a dict:
``{"input_ids": raw ids, "user_id": a raw user id, <feature>: encoded values, one per item}``.
Item-table and user-table features are looked up in ``feature_lookup.json`` (the model's tables,
encoded at export) by item and by ``user_id``; interaction and time features come encoded, as
``FeatureSpec.encode_example`` encodes them. The graph fills padding and the predict slot itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort


class OnnxRecommender:
    """Top-k next items for raw-id histories from an exported folder (see the module docstring)."""

    def __init__(self, folder: str | Path, *, threads: int = 1) -> None:
        folder = Path(folder)
        self.spec = json.loads((folder / "serving_spec.json").read_text())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        vocabulary_file = folder / "item_vocabulary.json"
        self.items: list[Any] | None = None
        self.index: dict[Any, int] = {}
        if vocabulary_file.is_file():
            self.items = json.loads(vocabulary_file.read_text())["items"]
            first = self.spec["first_item_id"]
            self.index = {item: first + position for position, item in enumerate(self.items)}
        self.features: list[dict[str, Any]] = self.spec.get("side_features", [])
        lookup_file = folder / "feature_lookup.json"
        lookups = json.loads(lookup_file.read_text()) if lookup_file.is_file() else {"item": {}, "user": {}}
        dtypes = {feature["name"]: feature["dtype"] for feature in self.features}
        self.item_features = {name: np.asarray(values, dtypes[name]) for name, values in lookups["item"].items()}
        self.user_features: dict[str, dict[str, Any]] = lookups["user"]

    # ------------------------------------------------------------------------------------- ids
    def encode(self, raw_items: Sequence[Any]) -> list[int]:
        """Raw ids -> model ids (the ids themselves when the folder has no vocabulary)."""
        if self.items is None:
            ids = [int(item) for item in raw_items]
            bad = [i for i in ids if not 0 <= i < self.spec["vocab_size"]]
            if bad:
                raise ValueError(f"item id {bad[0]} is outside [0, vocab_size={self.spec['vocab_size']})")
            return ids
        missing = [item for item in raw_items if item not in self.index]
        if missing:
            raise KeyError(f"item {missing[0]!r} is not in the vocabulary")
        return [self.index[item] for item in raw_items]

    def decode(self, ids: Sequence[int]) -> list[Any]:
        if self.items is None:
            return list(ids)
        first = self.spec["first_item_id"]
        return [self.items[i - first] for i in ids]

    def side_features(self, request: Mapping[str, Any], ids: Sequence[int]) -> dict[str, list]:
        """One history's encoded side features (one value per item): given in ``request``, else looked
        up by item (item table) or by ``request["user_id"]`` (user table: a request without a user id is
        refused; a user missing from the table gets the missing value)."""
        out = {}
        for feature in self.features:
            name = feature["name"]
            if name in request:
                out[name] = list(request[name])
            elif name in self.item_features:
                out[name] = self.item_features[name][np.asarray(ids, dtype=np.int64)].tolist()
            elif name in self.user_features:
                if "user_id" not in request:  # model.recommend would refuse a missing feature too
                    raise KeyError(f"side feature {name!r} comes from the user table: the request needs 'user_id'")
                table = self.user_features[name]
                out[name] = [table["values"].get(str(request.get("user_id")), table["missing"])] * len(ids)
            else:
                raise KeyError(
                    f"side feature {name!r} is neither in the request nor in a table of the folder: send it encoded, "
                    "one value per item (FeatureSpec.encode_example)"
                )
            if len(out[name]) != len(ids):
                raise ValueError(f"side feature {name!r} has {len(out[name])} values for {len(ids)} items")
        return out

    # ----------------------------------------------------------------------------------- scores
    def batch(
        self, histories: Sequence[Sequence[int]], features: Sequence[Mapping[str, Sequence[Any]]] | None = None
    ) -> dict[str, np.ndarray]:
        """The graph's inputs for encoded histories (and their encoded ``features``, one dict per
        history), as the model's predict collator builds them; the graph fills padding and the slot."""
        spec = self.spec
        limit = spec["history_limit"]

        def recent(values: Sequence[Any]) -> list:
            return list(values[-limit:]) if limit is not None and limit > 0 else list(values)

        rows = []
        for history in histories:
            row = recent(history)
            if spec["predict_slot"]:
                row.append(spec["mask_token_id"])
            rows.append(row)
        width = max(max((len(row) for row in rows), default=0), spec["min_width"])
        input_ids = np.full((len(rows), width), spec["pad_token_id"], dtype=np.int64)
        attention_mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = row
            attention_mask[i, : len(row)] = 1
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        for feature in self.features:
            values = np.full((len(rows), width), feature["pad_value"], dtype=feature["dtype"])
            for i, row in enumerate(features or []):
                kept = recent(row[feature["name"]])
                values[i, : len(kept)] = kept
            inputs[feature["name"]] = values
        return inputs

    def scores(
        self, histories: Sequence[Sequence[int]], features: Sequence[Mapping[str, Sequence[Any]]] | None = None
    ) -> np.ndarray:
        """Next-item scores (B, V) of encoded histories (with their encoded side features)."""
        if self.features and (features is None or len(features) != len(histories)):
            raise ValueError(
                f"the model takes side features {[f['name'] for f in self.features]}: one dict per history"
            )
        return self.session.run([self.spec["output"]], self.batch(histories, features))[0]

    def recommend(
        self,
        histories: Sequence[Sequence[Any] | Mapping[str, Any]],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allow: Sequence[Any] | None = None,
        block: Sequence[Any] | None = None,
    ) -> list[list[tuple[Any, float]]]:
        """The top-``k`` ``(item, score)`` pairs of each raw-id history, best first (a history with
        side features: a dict, see the module docstring)."""
        requests = [history if isinstance(history, Mapping) else {"input_ids": history} for history in histories]
        encoded = [self.encode(request["input_ids"]) for request in requests]
        features = None
        if self.features:
            features = [self.side_features(request, ids) for request, ids in zip(requests, encoded, strict=True)]
        scores = self.scores(encoded, features).astype(np.float32)  # (B, V)
        excluded = np.zeros(scores.shape[1], dtype=bool)
        excluded[self.spec["reserved_ids"]] = True
        if block is not None:
            excluded[self.encode(block)] = True
        if allow is not None:
            allowed = np.zeros_like(excluded)
            allowed[self.encode(allow)] = True
            excluded |= ~allowed
        scores = np.where(excluded[None, :], -np.inf, scores)
        if exclude_seen:
            rows = np.repeat(np.arange(len(encoded)), [len(history) for history in encoded])
            scores[
                rows, np.concatenate([np.asarray(h, dtype=np.int64) for h in encoded] or [np.zeros(0, np.int64)])
            ] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (B, k); stable: equal scores by increasing id
        top_scores = np.take_along_axis(scores, top, axis=1)
        results = []
        for history, ids, values in zip(encoded, top, top_scores, strict=True):
            keep = np.isfinite(values)
            pairs = list(zip(self.decode(ids[keep].tolist()), values[keep].tolist(), strict=True))
            results.append(pairs if history else [])  # an empty history: nothing to predict from
        return results


def latency(recommender: OnnxRecommender, batch_size: int, repeats: int, seed: int = 0) -> dict[str, float]:
    """Median and p90 milliseconds per request (a batch of ``batch_size`` histories of ``history_limit``
    random items, answered by :meth:`OnnxRecommender.recommend`), after one warm-up call."""
    spec = recommender.spec
    rng = np.random.default_rng(seed)
    length = spec["history_limit"] or 50
    first, vocab = spec["first_item_id"], spec["vocab_size"]
    histories = [recommender.decode(rng.integers(first, vocab, size=length).tolist()) for _ in range(batch_size)]
    recommender.recommend(histories)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        recommender.recommend(histories)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "batch_size": batch_size,
        "median_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * (len(times) - 1))],
        "median_ms_per_history": statistics.median(times) / batch_size,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="an export_model(..., format='onnx') folder")
    parser.add_argument("--history", default="", help="raw item ids, oldest first, split by --separator")
    parser.add_argument("--separator", default=",", help="between ids (e.g. '|' for titles with commas)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--allow", default=None, help="raw ids: recommend only these")
    parser.add_argument("--block", default=None, help="raw ids: never recommend these")
    parser.add_argument("--keep-seen", action="store_true", help="do not exclude the history's items")
    parser.add_argument("--benchmark", action="store_true", help="latency per request at batch 1 and 64")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    recommender = OnnxRecommender(args.folder, threads=args.threads)
    if args.benchmark:
        rows = [latency(recommender, size, args.repeats) for size in (1, 64)]
        print(json.dumps({"threads": args.threads, "repeats": args.repeats, "latency": rows}, indent=2))
        return

    def raw_ids(text: str | None) -> list[Any] | None:
        """Raw ids from the command line: ints when the vocabulary's items are ints (or there is none)."""
        if text is None:
            return None
        values = [value.strip() for value in text.split(args.separator) if value.strip()]
        as_int = recommender.items is None or isinstance(recommender.items[0], int)
        return [int(value) for value in values] if as_int else values

    top = recommender.recommend(
        [raw_ids(args.history) or []],
        args.k,
        exclude_seen=not args.keep_seen,
        allow=raw_ids(args.allow),
        block=raw_ids(args.block),
    )[0]
    for rank, (item, score) in enumerate(top, start=1):
        print(f"{rank:>3}  {item}  {score:.4f}")


if __name__ == "__main__":
    main()
