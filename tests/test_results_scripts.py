"""The scripts that turn committed run JSONs into the results pages: seed means and the RTD ablation."""

import importlib.util
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "docs" / "ml1m_runs"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _summaries():
    return {path.stem: json.loads(path.read_text()) for path in RUNS.glob("*.json")}


def test_seed_groups_hold_one_command_apart_from_the_seed():
    run_groups = _load("run_groups")
    summaries = _summaries()
    defaults = _load("movielens")._job_defaults()  # what the table is built with
    groups = {frozenset(g.runs): g for g in run_groups.group_runs(summaries, defaults)}
    names = {"xlnet-clm-L50", "xlnet-clm-L50-seed1", "xlnet-clm-L50-seed2"}
    group = groups[frozenset(names)]
    values = [group.runs[name]["test"][0]["ndcg@10"] for name in sorted(group.runs)]
    assert group.seeds == [0, 1, 2]
    assert group.mean_std("ndcg@10") == (statistics.fmean(values), statistics.stdev(values))
    # the side-information runs share everything but the flag: never one group with these
    assert not any({"xlnet-clm-L50", "xlnet-clm-L50-side"} <= set(runs) for runs in groups)
    # a run from before the rtd weight option trained at the weight of then (50), not today's 1
    assert not any({"xlnet-rtd", "xlnet-rtd-w1"} <= set(runs) for runs in groups)
    lines = run_groups.seed_table(summaries, defaults)
    row = next(line for line in lines if "`xlnet-clm-L50`, `xlnet-clm-L50-seed1`, `xlnet-clm-L50-seed2`" in line)
    assert f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}" in row


def test_one_command_on_either_side_of_the_feature_path_change_is_two_recipes():
    run_groups = _load("run_groups")
    old = json.loads((RUNS / "gpt2-clm-L50-side.json").read_text())
    general = {**old, "data": old["data"] + "; side features: genre, year (item), age (user), hour, gap (time)"}
    seed1 = {**general, "arguments": {**general["arguments"], "seed": 1}}
    groups = run_groups.group_runs({"old": old, "general": general, "general-seed1": seed1})
    assert sorted(sorted(g.runs) for g in groups) == [["general", "general-seed1"], ["old"]]
    assert run_groups.feature_encoding(old) == "movielens" and run_groups.feature_encoding(general) == "general"
    renamed = {**general, "arguments": {**general["arguments"], "side_features": "genre,year,gap", "seed": 2}}
    named = {**general, "arguments": {**general["arguments"], "side_features": "genre,year,time_gap"}}
    assert run_groups.recipe_key(renamed) == run_groups.recipe_key(named)  # time_gap: gap's former name
    without = json.loads((RUNS / "gpt2-clm-L50.json").read_text())
    assert run_groups.feature_encoding(without) is None


def test_rtd_ablation_reads_the_runs_and_draws_the_curves(tmp_path):
    ablation = _load("rtd_ablation")
    lines = ablation.main(["--runs", str(RUNS), "--picture", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").stat().st_size > 1000
    weight_1 = next(line for line in lines if "`xlnet-rtd-w1`" in line)
    weight_50 = next(line for line in lines if "`xlnet-rtd` " in line)
    assert "detection weight 1 |" in weight_1 and "detection weight 50 |" in weight_50
    assert lines.index(weight_1) < lines.index(weight_50), "rows best first"
    # only the recipe's runs: the L=200 GPU run of XLNet + rtd is not part of the ablation
    assert not any("xlnet-rtd-L200-gpu" in line for line in lines)
    # seeds apart: each run names its seed, and a lever run over several seeds gets its mean ± sd
    assert any(line.startswith("| `xlnet-rtd-w1-seed1` | detection weight 1 | 1 |") for line in lines)
    means = next(line for line in lines if line.startswith("| `xlnet-rtd-w1`, `xlnet-rtd-w1-seed1`"))
    values = [json.loads((RUNS / f"{name}.json").read_text())["test"][0]["ndcg@10"]
              for name in ("xlnet-rtd-w1", "xlnet-rtd-w1-seed1", "xlnet-rtd-w1-seed2")]  # fmt: skip
    assert "| 3 | 0, 1, 2 |" in means and f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}" in means


def test_lever_curves_compare_two_seed_families_and_name_what_changed(tmp_path):
    curves = _load("lever_curves")
    picture = tmp_path / "levers.png"
    lines = curves.main(["--compare", "gpt2-clm-L50", "gpt2-clm-L50-keydrop", "--runs", str(RUNS),
                         "--picture", str(picture)])  # fmt: skip
    assert picture.stat().st_size > 1000
    row = next(line for line in lines if line.startswith("| `gpt2-clm-L50` -> `gpt2-clm-L50-keydrop`"))
    assert "| attention_dropout_unit: weight -> key | 3 / 3 |" in row  # the one option the two commands differ in
    means = {}
    for stem in ("gpt2-clm-L50", "gpt2-clm-L50-keydrop"):
        values = [json.loads((RUNS / f"{stem}{suffix}.json").read_text())["test"][0]["ndcg@10"]
                  for suffix in ("", "-seed1", "-seed2")]  # fmt: skip
        means[stem] = statistics.fmean(values)
        assert f"{means[stem]:.4f} ± {statistics.stdev(values):.4f}" in row
    assert f"{100 * (means['gpt2-clm-L50-keydrop'] / means['gpt2-clm-L50'] - 1):+.1f}%" in row
    # a family is its name and name-seedN only: the -keydrop runs are not part of gpt2-clm-L50
    base = curves.family(_summaries(), "gpt2-clm-L50", _load("movielens")._job_defaults())
    assert sorted(base.runs) == ["gpt2-clm-L50", "gpt2-clm-L50-seed1", "gpt2-clm-L50-seed2"]
    epochs, mean, low, high = curves.mean_curve(base)
    assert epochs[-1] == 20 and all(lo <= m <= hi for m, lo, hi in zip(mean, low, high, strict=True))


def test_lever_curves_refuse_a_missing_family_and_one_of_two_recipes(tmp_path):
    curves = _load("lever_curves")
    summaries = _summaries()
    defaults = _load("movielens")._job_defaults()
    try:
        curves.family(summaries, "no-such-run", defaults)
    except SystemExit as error:
        assert "'no-such-run'" in str(error)
    else:
        raise AssertionError("a missing family was accepted")
    mixed = {"a": summaries["gpt2-clm-L50"], "a-seed1": summaries["gpt2-clm-L50-attn0-seed1"]}
    try:
        curves.family(mixed, "a", defaults)
    except SystemExit as error:
        assert "not one recipe" in str(error) and "a-seed1" in str(error)
    else:
        raise AssertionError("two recipes were accepted as one family")
