"""ML-1M next-item quality of a scheme/model pair, next to published results.

Run one pair (minutes to an hour on 2 CPU cores), then rebuild the table from every finished run:
    python benchmarks/movielens.py --pair gpt2-clm -- --epochs 10 --max-length 200
    python benchmarks/movielens.py --table-only

Protocol (the main job's): items with >= 5 ratings (6,040 users, 3,416 items), leave-one-out, every
item ranked, NDCG/Recall/MRR@10 with the user's history excluded (headline) and included. Each run
writes ``out/ml1m/<pair>/metrics.json``; the table in ``docs/results.md`` lists every finished run
with its command, hyper-parameters and wall time.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

PAIRS = {
    "gpt2-clm": ["--model", "gpt2", "--scheme", "clm"],
    "bert-mlm": ["--model", "bert", "--scheme", "mlm"],
    "xlnet-plm": ["--model", "xlnet", "--scheme", "plm"],
    "xlnet-clm": ["--model", "xlnet", "--scheme", "clm"],
    "xlnet-mlm": ["--model", "xlnet", "--scheme", "mlm"],
    "electra-rtd": ["--model", "electra", "--scheme", "rtd"],
}
PUBLISHED = [
    ("BERT4Rec (Petrov & Macdonald 2022)", 0.1516, 0.2821),
    ("SASRec (gSASRec-pytorch README)", 0.1259, 0.2392),
    ("gSASRec (gSASRec-pytorch README)", 0.1726, 0.3003),
    ("SASRec+ full cross-entropy (Klenitskiy & Vasilev 2023)", None, 0.3152),
    ("eSASRec (RecSys 2025, 3,706 items)", 0.1772, 0.3133),
    ("FuXi-alpha (recomputed there)", 0.1813, 0.3164),
    ("popularity (DESIGN.md)", 0.0180, 0.0369),
]
RUNS = Path("out/ml1m")


def write_table(path: Path = Path("docs/results.md"), runs: Path = RUNS) -> str:
    lines = [
        "# MovieLens-1M results",
        "",
        "Protocol: items with >= 5 ratings (6,040 users, 3,416 items, 999,611 interactions), leave-one-out,"
        " every item ranked; history excluded is the headline (ML-1M has one rating per user and movie).",
        f"Machine: {platform.machine()}, 2 CPU cores, no GPU.",
        "",
        "| pair | NDCG@10 | Recall@10 | MRR@10 | NDCG@10 (history included) | popularity NDCG@10 | train s | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for metrics_file in sorted(runs.glob("*/metrics.json")):
        summary = json.loads(metrics_file.read_text())
        rows = {(r["model"], r["history"]): r for r in summary["test"]}
        args = summary["arguments"]
        ours_ex, ours_in = rows[(args["model"], "excluded")], rows[(args["model"], "included")]
        popularity = rows[("popularity", "excluded")]
        lines.append(
            f"| {metrics_file.parent.name} | {ours_ex['ndcg@10']:.4f} | {ours_ex['recall@10']:.4f} | "
            f"{ours_ex['mrr@10']:.4f} | {ours_in['ndcg@10']:.4f} | {popularity['ndcg@10']:.4f} | "
            f"{summary['train_seconds']:.0f} | `{summary.get('command', '')}` |"
        )
    lines += ["", "Published (NDCG@10 / Recall@10):", "", "| model | NDCG@10 | Recall@10 |", "|---|---|---|"]
    for name, ndcg, recall in PUBLISHED:
        lines.append(f"| {name} | {'—' if ndcg is None else f'{ndcg:.4f}'} | {recall:.4f} |")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", choices=sorted(PAIRS))
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--runs", type=Path, default=RUNS, help="where each run writes its metrics.json")
    parser.add_argument("--results", type=Path, default=Path("docs/results.md"))
    parser.add_argument("extra", nargs="*", help="more flags for the main job, after --")
    args = parser.parse_args(argv)
    if not args.table_only:
        from hf_seqmask.cli import main as train

        out = args.runs / args.pair
        flags = ["--dataset", "ml-1m", *PAIRS[args.pair], "--output-dir", str(out), *args.extra]
        train(flags)
        summary = json.loads((out / "metrics.json").read_text())
        summary["command"] = " ".join(["python benchmarks/movielens.py --pair", args.pair, "--", *args.extra])
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(write_table(args.results, args.runs))


if __name__ == "__main__":
    main()
