"""Serving latency: the exported ONNX model with onnxruntime + numpy (examples/serve.py) against the
same model's ``recommend`` in torch, per request at batch 1 and 64, in one run.

    python benchmarks/serving.py out/ml1m/gpt2-clm-L50/model --output docs/serving_latency.json

Each request is a batch of histories of ``history_limit`` random catalogue items, top 10, seen items
excluded; medians and p90 over ``--repeats`` requests after one warm-up, one thread on both sides.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hf_seqmask import SeqRecModel
from hf_seqmask.export import export_model

SERVE = Path(__file__).resolve().parents[1] / "examples" / "serve.py"


def _serve_module():
    spec = importlib.util.spec_from_file_location("serve_example", SERVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(call, repeats: int) -> dict[str, float]:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 3)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a saved model folder (save_pretrained / the main job's model/)")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--batch-sizes", default="1,64")
    parser.add_argument("--output", default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = SeqRecModel.from_pretrained(args.model).eval()
    folder = Path(tempfile.mkdtemp())
    export_model(model, folder, format="onnx")
    server = _serve_module().OnnxRecommender(folder, threads=1)
    spec = server.spec
    rng = np.random.default_rng(0)
    rows = []
    for batch_size in [int(size) for size in args.batch_sizes.split(",")]:
        ids = rng.integers(spec["first_item_id"], spec["vocab_size"], size=(batch_size, spec["history_limit"] or 50))
        histories = [server.decode(row.tolist()) for row in ids]
        same = [[i for i, _ in r] for r in server.recommend(histories)] == [
            [i for i, _ in r] for r in model.recommend(histories)
        ]
        onnx = _timed(lambda h=histories: server.recommend(h), args.repeats)
        eager = _timed(lambda h=histories: model.recommend(h), args.repeats)
        rows.append(
            {
                "batch_size": batch_size,
                "onnxruntime": onnx,
                "torch_recommend": eager,
                "torch_over_onnx": round(eager["median_ms"] / onnx["median_ms"], 2),
                "same_items": same,
            }
        )
        print(rows[-1], flush=True)
    result = {
        "command": "python benchmarks/serving.py " + " ".join(argv if argv is not None else []),
        "model": str(args.model),
        "history_limit": spec["history_limit"],
        "vocab_size": spec["vocab_size"],
        "threads": 1,
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
    }
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
