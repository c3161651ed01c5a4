"""Where BERT + mlm's step goes beyond its matmuls, with both step levers on (session 39, issue 24).

The guard's BERT (benchmarks/train_step.py: batch 64 x 200, hidden 64, 2 layers, 3,418 items) with the
fused item head + loss and attention dropout per key: on session 39's AVX2 host its step is 1.79x its own
matmuls, 1.49x without any dropout (results/idle/step_levers_s38.txt). This prints the costliest ops of
five steps (self CPU time, 2 threads), with dropout and without, so the rest of the gap has names.

Run (the machine otherwise idle): python results/explore/bert_step_profile.py > results/explore/bert_step_profile.txt
Session 41: ``--last-layer`` profiles the step with the last layer at the scored positions (issue 24's
strict reading: what is left between that step and its own matmuls),
``python results/explore/bert_step_profile.py --last-layer > results/explore/bert_step_profile_last_layer.txt``.
"""

import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from train_step import ml1m_model_and_batches, step_of


def main() -> None:
    last_layer = "--last-layer" in sys.argv[1:]
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, cpu capability {torch.backends.cpu.get_cpu_capability()}, 2 threads")
    for dropout in ("key", "none"):
        model, batches = ml1m_model_and_batches(
            "bert", "mlm", 200, 64, 7, dropout=dropout, fused=True, last_layer=last_layer
        )
        step = step_of(model)
        for batch in batches[:2]:  # warm-up
            step(batch)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[2:]:
                step(batch)
        pruned = ", last layer at the scored positions" if last_layer else ""
        print(f"\nbert + mlm, fused, dropout {dropout!r}{pruned}: five steps, self CPU time")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22, max_name_column_width=48))


if __name__ == "__main__":
    main()
