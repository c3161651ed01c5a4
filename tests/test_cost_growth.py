"""benchmarks/cost_growth.py at a tiny size: one process per point, the report and its picture."""

import json

from tests._tiny import load_script

cost_growth = load_script("benchmarks/cost_growth.py")


def test_the_attention_share_grows_with_length_and_is_larger_where_the_head_is_cheaper():
    shares = [cost_growth.attention_share("clm", length) for length in (50, 200, 1000, 5000)]
    assert shares == sorted(shares) and 0 < shares[0] < 0.05 and shares[-1] > 0.5
    assert cost_growth.attention_share("mlm", 200) > cost_growth.attention_share("clm", 200)


def test_a_tiny_grid_writes_every_point_its_report_and_picture(tmp_path):
    output = tmp_path / "cost.json"
    argv = ["--lengths", "8,16", "--batches", "2,4", "--max-positions", "32", "--steps", "1", "--threads", "1"]
    points = cost_growth.main([*argv, "--output", str(output)])
    pairs = {(p["model"], p["length"], p["batch"]) for p in points}
    assert pairs == {(m, length, b) for m in ("gpt2", "bert") for length, b in ((8, 2), (8, 4), (16, 2))}
    assert all(p["step_ms"] > 0 and p["process_peak_mib"] > p["step_peak_mib"] >= 0 for p in points)
    report = json.loads(output.read_text())
    assert report["points"] == points and report["threads"] == 1
    assert report["command"].startswith("python benchmarks/cost_growth.py --lengths 8,16")
    assert output.with_suffix(".png").stat().st_size > 1000
