"""The training step's levers together, timed in turns, against the step's own matrix multiplies.

On the guard's model and batches (``benchmarks/train_step.py --guard``: GPT-2 + clm and BERT + mlm,
batch 64 x 200, hidden 64, 3,418 items, 2 threads) this times, per step:

- the guard's eager step (dropout 0.1 everywhere, the materialised full softmax), twice (``eager`` and
  ``eager, unfused``: two models, the same step, a check on the timing);
- the item head fused with its loss (``SeqRecConfig(fused_loss=True)``), then also with attention
  dropout per key (``attention_dropout_unit="key"``: SDPA keeps its fused kernel), then without
  attention dropout, then without any dropout (the ceiling: what dropout costs);
- each of those steps compiled (``torch.compile``, dynamic targets: the masked step scores
  its T targets only; the fused loss is a custom op, one call in the graph);
- for BERT + mlm (and + rtd) also, eager only, the last layer at the scored positions only
  (``SeqRecConfig(last_layer_at_scored_positions=True)``: traced, that layer runs whole), with attention
  dropout per key and without any dropout;
- the step's matrix multiplies alone (recorded from the recipe's step, run on fresh tensors), and for
  BERT + mlm those of the recipe's step with the last layer at the scored positions (fewer, smaller
  multiplies: the floor of the steps that prune).

The variants take turns, one step each per round, so the machine's drift (this 2-core VM's speed moved
~30% within minutes in session 33) falls on all of them alike; each is the median over the rounds.

Run:
    python benchmarks/step_levers.py                          # 10 rounds, inductor
    python benchmarks/step_levers.py --rounds 1 --backend aot_eager --length 16 --batch-size 4  # the tests' size
    python benchmarks/step_levers.py --models bert-mlm         # one pair
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from train_step import MatmulRecorder, matmuls_alone, ml1m_model_and_batches, step_of

LEVERS = (  # (name, dropout of ml1m_model_and_batches, fused loss)
    ("unfused", "default", False),  # eager: the recipe's step again; compiled: what compiling alone gives
    ("fused", "default", True),
    ("fused, attention dropout per key", "key", True),
    ("fused, no attention dropout", "no attention", True),
    ("fused, no dropout", "none", True),
)
LAST_LAYER = "last layer at scored positions"
MASKED_LEVERS = (  # mlm only, eager only: (name, dropout)
    (f"fused, attention dropout per key, {LAST_LAYER}", "key"),
    (f"fused, no dropout, {LAST_LAYER}", "none"),
)
PRUNED_FLOOR = f"matmuls alone, {LAST_LAYER}"


def levers_in_turns(
    family: str, scheme: str, rounds: int, backend: str, length: int = 200, batch_size: int = 64
) -> dict[str, float]:
    """Median ms per step of each variant (see the module's docstring) and of ``"matmuls alone"``, on
    batches of ``batch_size`` sequences of ``length`` items; ``backend="none"``: eager variants only."""
    model, batches = ml1m_model_and_batches(family, scheme, length, batch_size, rounds + 2)
    recipe = step_of(model)
    recipe(batches[0])  # warm-up
    recorder = MatmulRecorder()
    with recorder:
        recipe(batches[1])
    steps = {"eager": recipe}
    torch._dynamo.reset()
    for name, dropout, fused_loss in LEVERS:
        other = ml1m_model_and_batches(family, scheme, length, batch_size, 0, dropout=dropout, fused=fused_loss)[0]
        steps[f"eager, {name}"] = step_of(other)
        if backend == "none":
            continue
        compiled = step_of(other)  # its own optimizer; the same parameters (timing only)
        forward = torch.compile(other, backend=backend)
        steps[f"compiled, {name}"] = lambda batch, step=compiled, forward=forward: step(batch, forward)
    floors = {"matmuls alone": recorder}
    if scheme in ("mlm", "rtd"):
        for name, dropout in MASKED_LEVERS:
            other = ml1m_model_and_batches(
                family, scheme, length, batch_size, 0, dropout=dropout, fused=True, last_layer=True
            )[0]
            steps[f"eager, {name}"] = step_of(other)
        # The floor of the steps that prune, recorded as the recipe's: HF's attention dropout (the math
        # path's bmm's) and the unfused head (a fused loss is one custom op, its multiplies unseen).
        pruned_recipe = step_of(
            ml1m_model_and_batches(family, scheme, length, batch_size, 0, fused=False, last_layer=True)[0]
        )
        pruned_recipe(batches[0])
        floors[PRUNED_FLOOR] = pruned = MatmulRecorder()
        with pruned:
            pruned_recipe(batches[1])
    times: dict[str, list[float]] = {name: [] for name in (*steps, *floors)}
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):  # read when a graph compiles
        for step in steps.values():
            for batch in batches[:2]:  # warm-up; the compiled ones compile here
                step(batch)
        for batch in batches[2:]:
            for name, step in steps.items():
                start = time.perf_counter()
                step(batch)
                times[name].append(time.perf_counter() - start)
            for name, calls in floors.items():
                times[name].append(matmuls_alone(calls.calls, 1))
    return {name: 1000 * statistics.median(seconds) for name, seconds in times.items()}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="steps per variant, taken in turns")
    parser.add_argument("--backend", default="inductor", help="torch.compile's backend ('none': eager only)")
    parser.add_argument("--length", type=int, default=200, help="items per sequence (the guard's 200)")
    parser.add_argument("--batch-size", type=int, default=64, help="sequences per batch (the guard's 64)")
    parser.add_argument("--models", default="gpt2-clm,bert-mlm", help="family-scheme pairs, comma-separated")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    results = {}
    columns = ("model", "scheme", "variant", "ms / step", "step / recipe's matmuls", "step / its own matmuls")
    print("| " + " | ".join((*columns, "eager recipe / variant")) + " |")
    print("|---|---|---|---|---|---|---|")
    for pair in args.models.split(","):
        family, scheme = pair.split("-")
        results[pair] = measured = levers_in_turns(
            family, scheme, args.rounds, args.backend, args.length, args.batch_size
        )
        floor, recipe = measured["matmuls alone"], measured["eager"]
        for name, ms in measured.items():
            own = measured[PRUNED_FLOOR] if LAST_LAYER in name else floor  # the pruned step's own multiplies
            ratios = f"{ms / floor:.2f}x | {ms / own:.2f}x | {recipe / ms:.2f}x"
            print(f"| {family} | {scheme} | {name} | {ms:.0f} | {ratios} |")
    return results


if __name__ == "__main__":
    main()
