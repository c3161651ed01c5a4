"""benchmarks/stability.py at a tiny size: collator batches through persistent spawn and fork DataLoader
workers, with the memory and descriptor numbers it reports (200,000 batches: docs/reliability.md)."""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _stability():
    # Imported by name from a folder on sys.path: spawned DataLoader workers (given the parent's sys.path)
    # import it again to unpickle its dataset; a module loaded from a file location alone they cannot.
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("stability")


def test_the_stability_benchmark_runs_both_contexts_through_persistent_workers_and_reports_memory(capsys):
    argv = ["--batches", "40", "--batch-size", "16", "--workers", "1", "--epochs", "2", "--every", "10"]
    results = _stability().main([*argv, "--warmup", "0.25", "--contexts", "spawn", "fork"])
    assert [r["context"] for r in results] == ["spawn", "fork"]
    for result in results:
        assert result["batches"] == 40 and result["warmup_batches"] == 10 and result["samples"] == 5
        assert result["worker_pids_unchanged"], "persistent workers serve every epoch"
        assert len(result["workers_rss_mib"][0]) == len(result["workers_fds"][1]) == 1
        assert all(value > 0 for value in [*result["main_rss_mib"], *result["main_fds"], result["workers_max_fds"]])
        assert abs(result["main_rss_growth_pct"]) < 100  # a sanity bound: the numbers are measured, not judged
    assert results[0]["checksum"] == results[1]["checksum"], "the same seeded batches in either context"
    assert capsys.readouterr().out.count('"context"') == 2
