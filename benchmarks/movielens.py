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
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import charts
import run_groups

PAIRS = {
    "gpt2-clm": ["--model", "gpt2", "--scheme", "clm"],
    "bert-mlm": ["--model", "bert", "--scheme", "mlm"],
    "xlnet-plm": ["--model", "xlnet", "--scheme", "plm"],
    "xlnet-clm": ["--model", "xlnet", "--scheme", "clm"],
    "xlnet-mlm": ["--model", "xlnet", "--scheme", "mlm"],
    "electra-rtd": ["--model", "electra", "--scheme", "rtd"],
    "xlnet-rtd": ["--model", "xlnet", "--scheme", "rtd"],
    "bert-rtd": ["--model", "bert", "--scheme", "rtd"],
}
PUBLISHED = [
    ("BERT4Rec (Petrov & Macdonald 2022)", 0.1516, 0.2821),
    ("SASRec (gSASRec-pytorch README)", 0.1259, 0.2392),
    ("gSASRec (gSASRec-pytorch README)", 0.1726, 0.3003),
    ("SASRec+ full cross-entropy (Klenitskiy & Vasilev 2023)", None, 0.3152),
    ("eSASRec (RecSys 2025, 3,706 items)", 0.1772, 0.3133),
    ("FuXi-alpha (recomputed there)", 0.1813, 0.3164),
    ("HSTU-large (Zhai et al. 2024)", 0.1893, 0.3294),
    ("popularity (DESIGN.md)", 0.0180, 0.0369),
]
# Published figures are the authors' own runs (not rerun here, so no metrics.json of ours backs them).
PUBLISHED_NOTE = (
    "Published (NDCG@10 / Recall@10; each trained by its authors to their own early stopping, epochs as they"
    " report them: BERT4Rec until 200 epochs without a better validation loss, several hundred in all; the"
    " others' epoch counts are not quoted here; not rerun here, so no metrics.json of ours backs them):"
)
RUNS = Path("out/ml1m")


DISCUSSION = "## Discussion"


def setup_of(args: dict, summary: dict) -> str:
    """The hyper-parameters of a run in one cell."""
    loss = args.get("loss", "full")
    loss = "full CE" if loss == "full" else f"{loss} ({args['num_negatives']} neg.)"
    loss += " (fused)" if args.get("fused_loss") else ""
    parts = [
        f"L={args['max_length']}",
        f"d={args['hidden_size']}x{args['layers']} layers x{args['heads']} heads",
        f"lr {args['learning_rate']:g}",
        f"dropout {args['dropout']:g}"
        + ("" if args.get("attention_dropout") is None else f" (attention {args['attention_dropout']:g})")
        + (" (attention per key)" if args.get("attention_dropout_unit") == "key" else ""),
        f"batch {args['batch_size']}",
        loss,
    ]
    if args.get("train_window") == "random":
        parts.append("random training windows")
    if args["scheme"] in ("mlm", "rtd"):
        parts.append(f"mask p {args['mlm_probability']:g}, last-item rows {args.get('mask_last_item_prob', 0):g}")
    if args["scheme"] == "rtd":
        generator = (
            f"separate generator d={args['generator_hidden_size']}"
            if args.get("generator_hidden_size")
            else "shared generator"
        )
        source = "batch" if args.get("replacements_from_batch") else "catalogue"
        parts.append(
            f"rtd weights {args.get('generator_loss_weight', 1.0):g}/{args.get('discriminator_loss_weight', 50.0):g}, "
            f"{generator}, replacements from the {source}"
        )
    if args.get("side_features"):
        encoding = "general path" if run_groups.feature_encoding(summary) == "general" else "MovieLens' own encoding"
        parts.append(f"side features {args['side_features']} ({encoding})")
    if args.get("seed"):
        parts.append(f"seed {args['seed']}")
    if summary.get("device", "cpu") != "cpu":
        parts.append(f"on {summary['device']}")
    epochs = summary.get("epochs_trained", args["epochs"])
    validation = summary.get("validation")
    if validation and validation["best"]:
        parts.append(f"{epochs:g} epochs, best validation epoch {validation['best']['epoch']}")
    else:
        parts.append(f"{epochs:g} epochs, no early stopping")
    return ", ".join(parts)


def write_table(path: Path = Path("docs/results.md"), runs: Path = RUNS) -> str:
    """Rebuilds the table part of ``path`` from every run (each run's metrics.json is also kept under
    ``docs/ml1m_runs/``, so the table can be rebuilt on another machine); a ``## Discussion`` section
    already there is kept. Redraws the charts beside it (``benchmarks/charts.py``)."""
    previous = path.read_text() if path.exists() else ""
    discussion = previous[previous.index(DISCUSSION) :] if DISCUSSION in previous else ""
    kept = path.parent / "ml1m_runs"
    for run in runs.glob("*/metrics.json"):
        kept.mkdir(parents=True, exist_ok=True)
        (kept / f"{run.parent.name}.json").write_text(run.read_text())
    lines = [
        "# MovieLens-1M results",
        "",
        "Protocol: items with >= 5 ratings (6,040 users, 3,416 items, 999,611 interactions), leave-one-out,"
        " every item ranked; history excluded is the headline (ML-1M has one rating per user and movie)."
        " Early stopping (where used) watches NDCG@10 on the validation split (second-to-last item) and"
        " restores the best weights; the test item is never seen in training or model selection.",
        f"Machine (unless a row names a GPU): {platform.machine()}, 2 CPU cores; runs with `--threads 1` ran two"
        " at a time, the others alone on both cores. `train min` counts data loading, training and validation;"
        " a run resumed from a checkpoint (its command ends in `--resume_from_checkpoint true`) counts its last"
        " process only.",
        "",
        "| run | NDCG@10 | Recall@10 | MRR@10 | NDCG@10 / Recall@10 (history included) | popularity NDCG@10 |"
        " validation NDCG@10 | train min | hyper-parameters | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summaries = {f.stem: json.loads(f.read_text()) for f in kept.glob("*.json")}
    summaries.update({f.parent.name: json.loads(f.read_text()) for f in runs.glob("*/metrics.json")})
    summaries = list(summaries.items())
    rows: list[tuple[float, str]] = []
    for name, summary in summaries:
        args = summary["arguments"]
        ours_ex, ours_in = _test_row(summary, "excluded"), _test_row(summary, "included")
        popularity = _test_row(summary, "excluded", model="popularity")
        validation = summary.get("validation")
        best = f"{validation['best']['ndcg@10']:.4f}" if validation and validation["best"] else "—"
        if summary.get("reevaluated"):
            name += " †"
        rows.append((ours_ex["ndcg@10"], (
            f"| {name} | {ours_ex['ndcg@10']:.4f} | {ours_ex['recall@10']:.4f} | {ours_ex['mrr@10']:.4f} | "
            f"{ours_in['ndcg@10']:.4f} / {ours_in['recall@10']:.4f} | {popularity['ndcg@10']:.4f} | {best} | "
            f"{summary['train_seconds'] / 60:.0f} | {setup_of(args, summary)} | `{summary.get('command', '')}` |"
        )))  # fmt: skip
    # Every row comes from a committed metrics.json (docs/ml1m_runs/): a number without one is not shown.
    lines += [line for _, line in sorted(rows, key=lambda row: -row[0])]
    means = run_groups.seed_table(dict(summaries), defaults=_job_defaults())
    if means:
        lines += ["", "Means over seeds (runs of one command apart from `--seed`; sd: sample standard deviation):", ""]
        lines += means
    lines += peer_rows(path.parent / "peers")
    lines += ["", PUBLISHED_NOTE, "", "| model | NDCG@10 | Recall@10 |", "|---|---|---|"]
    for name, ndcg, recall in PUBLISHED:
        lines.append(f"| {name} | {'—' if ndcg is None else f'{ndcg:.4f}'} | {recall:.4f} |")
    lines += ["", "![NDCG@10 per run and published](results_ndcg.png)", "",
              "![validation curves](results_validation.png)"]  # fmt: skip
    text = "\n".join(lines) + "\n"
    if discussion:
        text += "\n" + discussion
    path.write_text(text)
    _draw_charts(path)
    return text


_job_defaults = run_groups.job_defaults


def peer_rows(folder: Path) -> list[str]:
    """The table of RecBole's runs on our split (``benchmarks/peers.py``'s JSON files in ``folder``)."""
    peers = sorted((json.loads(f.read_text()) for f in folder.glob("*.json")), key=lambda p: -p["test"]["ndcg@10"])
    if not peers:
        return []
    lines = [
        "",
        "Peers on the same split, metric and machine (RecBole 1.2.1, `benchmarks/peers.py`; the model of the best"
        " validation epoch tested; minutes count training and validation, not RecBole's data preparation):",
        "",
        "| peer | NDCG@10 | Recall@10 | MRR@10 | validation NDCG@10 | epochs run | best epoch | min to best |"
        " min limit | hyper-parameters | device |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for peer in peers:
        test = peer["test"]
        setup = (
            f"L={peer['max_length']}, d={peer['hidden_size']}x{peer['layers']} layers x{peer['heads']} heads, "
            f"lr {peer['learning_rate']:g}, dropout {peer['dropout']:g}, full CE, batch {peer['batch_size']}"
        )
        lines.append(
            f"| RecBole {peer['model']} | {test['ndcg@10']:.4f} | {test['recall@10']:.4f} | {test['mrr@10']:.4f} | "
            f"{peer['validation_ndcg@10']:.4f} | {peer['epochs_run']} | {peer['best_epoch']} | "
            f"{peer['minutes_to_best']:g} | {peer['minutes_limit']:g} | {setup} | {_peer_device(peer)} |"
        )
    return lines


def _peer_device(peer: dict) -> str:
    """The device, with the threads on a CPU (RecBole's CPU time depends on them)."""
    threads = peer.get("threads")
    return f"{peer['device']}, {threads} threads" if peer["device"] == "cpu" and threads else peer["device"]


def _draw_charts(results: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: charts not redrawn (pip install -e '.[plots]')")
        return
    charts.results_chart(results, results.with_name("results_ndcg.png"))
    # The committed results page draws from the committed logs; another results file (a grid's) from its own.
    committed = results.resolve() == (charts.DOCS / "results.md").resolve()
    logs = charts.LOGS if committed else results.with_name("ml1m_logs")
    if logs.is_dir():
        charts.validation_chart(logs, results.with_name("results_validation.png"))


def _test_row(summary: dict, history: str, model: str | None = None) -> dict:
    """A run's test metrics for ``model`` (default: the run's own) with the history excluded or included."""
    model = model or summary["arguments"]["model"]
    return next(r for r in summary["test"] if r["model"] == model and r["history"] == history)


def refuse_old_feature_encoding(summary: dict, model: Any, out: Path) -> None:
    """A run of MovieLens' own side-feature encoding (no saved feature spec) cannot be evaluated on
    splits the general path encodes: its ids mean other values."""
    if summary["arguments"].get("side_features") and getattr(model, "feature_spec", None) is None:
        raise SystemExit(
            f"error: {out} was trained with MovieLens' own side-feature encoding (before --side-features became a "
            "preset of the general path, commit 30fde7b); evaluate it with the hf_seqmask it was trained with"
        )


def reevaluate(out: Path) -> None:
    """Recomputes the test rows of a finished run from its saved model with the current evaluation code
    (the training is not repeated); the summary records that it was re-evaluated."""
    from hf_seqmask import SeqRecModel
    from hf_seqmask.data import load_data
    from hf_seqmask.evaluation import evaluate_test
    from hf_seqmask.job import Job

    summary = json.loads((out / "metrics.json").read_text())
    # Defaults first: a run from an older main job lacks the flags added since.
    args = Job.from_summary(summary["arguments"])
    model = SeqRecModel.from_pretrained(out / "model")
    refuse_old_feature_encoding(summary, model, out)
    splits = load_data(args)[0]
    if model.config.max_seq_length is None:  # saved before the config carried the masking spec
        model.config.max_seq_length = args.max_length
    summary["test"] = evaluate_test(model, splits)
    summary["reevaluated"] = True
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", choices=sorted(PAIRS))
    parser.add_argument(
        "--name", help="the run's folder under --runs (default: the pair), to keep several runs of a pair"
    )
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--reevaluate", nargs="+", default=(), metavar="RUN", help="recompute the test rows of these finished runs"
    )
    parser.add_argument("--runs", type=Path, default=RUNS, help="where each run writes its metrics.json")
    parser.add_argument("--results", type=Path, default=Path("docs/results.md"))
    parser.add_argument("extra", nargs="*", help="more flags for the main job, after --")
    args = parser.parse_args(argv)
    for name in args.reevaluate:
        reevaluate(args.runs / name)
    if not args.table_only and not args.reevaluate:
        from hf_seqmask.cli import main as train

        if not args.pair:
            parser.error("--pair is required unless --table-only")
        out = args.runs / (args.name or args.pair)
        flags = ["--dataset", "ml-1m", *PAIRS[args.pair], "--output-dir", str(out), *args.extra]
        train(flags)
        summary = json.loads((out / "metrics.json").read_text())
        name = ["--name", args.name] if args.name else []
        summary["command"] = " ".join(["python benchmarks/movielens.py --pair", args.pair, *name, "--", *args.extra])
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(write_table(args.results, args.runs))


if __name__ == "__main__":
    main()
