"""benchmarks/input_scale.py at a tiny size: a generated CSV with 1% corrupt rows through the main job
under both --bad-rows policies, the counts checked, time and peak memory reported (10M rows:
docs/reliability.md)."""

import json

from tests._tiny import load_script


def test_the_input_scale_benchmark_stops_under_error_and_counts_every_kind_under_skip(tmp_path):
    output = tmp_path / "input_scale.json"
    argv = ["--rows", "20000", "--users", "400", "--items", "200", "--max-steps", "2", "--workdir", str(tmp_path)]
    summary = load_script("benchmarks/input_scale.py").main([*argv, "--output", str(output)])
    assert json.loads(output.read_text()) == summary
    assert summary["corrupt_rows_by_kind"] == dict.fromkeys(
        ["extra field", "missing field", "empty user", "empty item", "time not a time"], 40
    )
    assert summary["counts_match"] and summary["error_stopped_at_a_bad_row"]
    error, skip = summary["runs"]["error"], summary["runs"]["skip"]
    assert error["exit_status"] == 1 and "a bad row (wrong number of fields)" in error["output"][-1]
    assert (
        skip["exit_status"] == 0 and skip["bad_rows"]["rows_skipped"] == 200 and skip["bad_rows"]["rows_read"] == 20000
    )
    assert set(skip["seconds_by_phase"]) == {"data", "first update", "training", "test", "saved"}
    assert skip["peak_rss_mib"] > 0 and error["peak_rss_mib"] > 0
