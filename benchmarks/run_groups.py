"""Runs of one recipe over several seeds: mean, standard deviation and n of their test metrics.

Two runs belong to one recipe when every option of the main job but the seed, the output folder and
the time limit is equal (options a run predates count at the value the job used before the option
existed, :data:`PREDATED`, else at today's defaults), on the same device, with side features encoded
the same way (:func:`feature_encoding`).
``benchmarks/movielens.py`` renders the table from every run's metrics.json:

    python benchmarks/movielens.py --table-only
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from hf_seqmask.data.side_features import parse_side_features

# Options that do not change the model a run trains (the time limit is a budget, recorded per run; the
# fused loss computes the same loss and gradients, to float rounding as the thread count does).
NOT_RECIPE = ("seed", "output_dir", "max_minutes", "quiet", "threads", "cache_dir", "fused_loss")
# What a run that predates an option trained with: the job's behaviour before the option existed
# (the rtd detection weight was ELECTRA's 50 until the ablation made 1 the default; replacements came
# from the catalogue until the option existed, and it defaulted to the catalogue until session 33).
PREDATED = {"discriminator_loss_weight": 50.0, "replacements_from_batch": False}
# Options only replaced-token detection reads: no part of another scheme's recipe.
RTD_ONLY = ("discriminator_loss_weight", "generator_loss_weight", "generator_hidden_size", "replacements_from_batch")


@dataclass
class RecipeGroup:
    """The runs of one recipe: their names, seeds and summaries (metrics.json)."""

    key: str
    runs: dict[str, dict] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted(int(s["arguments"].get("seed", 0)) for s in self.runs.values())

    def values(self, metric: str, split: str = "test") -> list[float]:
        if split == "validation":
            return [s["validation"]["best"][metric] for s in self.runs.values() if s.get("validation")]
        return [_test(s)[metric] for s in self.runs.values()]

    def mean_std(self, metric: str, split: str = "test") -> tuple[float, float]:
        """Mean and sample standard deviation (0 for one run; NaN where no run has the metric)."""
        values = self.values(metric, split)
        if not values:
            return math.nan, math.nan
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return statistics.fmean(values), spread


def job_defaults() -> dict[str, Any]:
    """Today's main-job options, for runs recorded before an option existed."""
    from hf_seqmask.job.arguments import parse_args

    return parse_args([]).summary()


def recipe_key(summary: dict[str, Any], defaults: dict[str, Any] | None = None) -> str:
    """The recipe of a run as a canonical string: its options (at :data:`PREDATED` or today's defaults
    where it lacks them), without the seed, folder, time limit and, outside rtd, rtd's options; plus
    the device."""
    arguments = {**(defaults or {}), **PREDATED, **summary["arguments"]}
    if arguments.get("side_features"):  # "time_gap" is the former name of "gap": one recipe
        arguments["side_features"] = ",".join(parse_side_features(arguments["side_features"]))
    ignored = NOT_RECIPE + (RTD_ONLY if arguments.get("scheme") != "rtd" else ())
    recipe = {k: v for k, v in sorted(arguments.items()) if k not in ignored}
    return json.dumps(
        {"recipe": recipe, "device": summary.get("device", "cpu"), "features": feature_encoding(summary)},
        sort_keys=True,
    )


def feature_encoding(summary: dict[str, Any]) -> str | None:
    """How a run's side features were encoded: ``"general"`` (vocabularies fitted on the training split;
    the run's data line names its features, "side features: ..."), ``"movielens"`` (MovieLens' own
    fixed buckets, before ``--side-features`` became a preset of the general path) or None (no side
    features). The same command encodes differently on either side of that change: two recipes."""
    if "side features:" in summary.get("data", ""):
        return "general"
    return "movielens" if summary["arguments"].get("side_features") else None


def group_runs(summaries: dict[str, dict], defaults: dict[str, Any] | None = None) -> list[RecipeGroup]:
    """The runs grouped by recipe, most seeds first, then by mean test NDCG@10."""
    groups: dict[str, RecipeGroup] = {}
    for name, summary in summaries.items():
        key = recipe_key(summary, defaults)
        groups.setdefault(key, RecipeGroup(key)).runs[name] = summary
    return sorted(groups.values(), key=lambda g: (-len(g.runs), -g.mean_std("ndcg@10")[0]))


def seed_table(summaries: dict[str, dict], defaults: dict[str, Any] | None = None, minimum: int = 2) -> list[str]:
    """Markdown lines: one row per recipe with at least ``minimum`` runs (mean ± sd, n, the runs)."""
    groups = [g for g in group_runs(summaries, defaults) if len(g.runs) >= minimum]
    if not groups:
        return []
    lines = [
        "| runs (one recipe, seeds apart) | n | seeds | test NDCG@10 mean ± sd | test Recall@10 mean ± sd |"
        " validation NDCG@10 mean ± sd |",
        "|---|---|---|---|---|---|",
    ]
    for group in groups:
        cells = []
        for metric, split in (("ndcg@10", "test"), ("recall@10", "test"), ("ndcg@10", "validation")):
            mean, spread = group.mean_std(metric, split)
            cells.append("—" if math.isnan(mean) else f"{mean:.4f} ± {spread:.4f}")
        names = ", ".join(f"`{name}`" for name in sorted(group.runs))
        lines.append(f"| {names} | {len(group.runs)} | {', '.join(map(str, group.seeds))} | {' | '.join(cells)} |")
    return lines


def _test(summary: dict) -> dict:
    model = summary["arguments"]["model"]
    return next(r for r in summary["test"] if r["model"] == model and r["history"] == "excluded")
