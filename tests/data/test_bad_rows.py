"""Corrupt interaction rows (issue 26 item 5): --bad-rows error stops at the first, naming the file, the
row and the column; --bad-rows skip leaves them out and counts each kind, printed and in metrics.json."""

import json

import pyarrow as pa
import pytest

from hf_seqmask.cli import main
from hf_seqmask.data import read_interactions

COLUMNS = ["user_id", "item_id", "timestamp"]
TINY = ["--scheme", "clm", "--model", "gpt2", "--hidden-size", "16", "--max-length", "12", "--batch-size", "8",
        "--max-steps", "2", "--threads", "1", "--quiet"]  # fmt: skip
# line (1: the header) -> a corrupt line, with the kind the job reports
CORRUPT = {
    6: ("3,4,1005,99", "wrong number of fields"),
    8: ("3,4", "wrong number of fields"),
    13: (",5,1001", "empty 'user_id'"),
    21: ("3,,1002", "empty 'item_id'"),
    31: ("4,6,", "empty 'timestamp'"),
    41: ("5,7,noon", "'timestamp' not a time"),
    42: ("5,7,12:3O", "'timestamp' not a time"),
}


def _lines(users=30, per_user=8):
    return ["user_id,item_id,timestamp"] + [
        f"{user},{2 + (user * 7 + step * 3) % 19},{1000 + step}" for user in range(users) for step in range(per_user)
    ]


def _write(path, corrupt=CORRUPT):
    lines = _lines()
    for line, (text, _) in corrupt.items():
        lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("line", "expected"), [
    (6, "line 6: 4 fields, not 3: '3,4,1005,99': a bad row (wrong number of fields)"),
    (8, "line 8: 2 fields, not 3: '3,4': a bad row (wrong number of fields)"),
    (13, "row 11, column 'user_id': a bad row (empty 'user_id')"),
    (21, "row 19, column 'item_id': a bad row (empty 'item_id')"),
    (31, "row 29, column 'timestamp': a bad row (empty 'timestamp')"),
    (41, "row 39, column 'timestamp': 'noon': a bad row ('timestamp' not a time)"),
])  # fmt: skip
def test_by_default_the_first_bad_row_stops_the_read_naming_file_row_and_column(tmp_path, line, expected):
    path = _write(tmp_path / "clicks.csv", {line: CORRUPT[line]})
    with pytest.raises(ValueError) as raised:
        read_interactions(str(path), columns=COLUMNS, time_column="timestamp")
    assert f"interactions file '{path}', {expected}" in str(raised.value)
    assert "pass --bad-rows skip to leave them out" in str(raised.value)


def test_skip_leaves_every_bad_row_out_and_counts_each_kind(tmp_path):
    path = _write(tmp_path / "clicks.csv")
    rows, found = read_interactions(str(path), columns=COLUMNS, time_column="timestamp", bad_rows="skip")
    assert rows.num_rows == 240 - 7 and found.rows_read == 240 and found.skipped == 7
    assert found.counts == {"wrong number of fields": 2, "empty 'user_id'": 1, "empty 'item_id'": 1,
                            "empty 'timestamp'": 1, "'timestamp' not a time": 2}  # fmt: skip
    assert found.first["empty 'user_id'"] == f"file '{path}', row 11, column 'user_id'"  # rows of a wrong width count
    assert found.first["'timestamp' not a time"] == f"file '{path}', row 39, column 'timestamp': 'noon'"
    clean, none = read_interactions(str(_write(tmp_path / "clean.csv", {})), columns=COLUMNS, time_column="timestamp")
    assert none.counts == {} and rows.features == clean.features  # the types a clean file gets (int times)
    assert rows.with_format("arrow")[:].schema.field("timestamp").type == pa.int64()


def test_a_bad_row_in_the_second_shard_names_that_shard_and_its_row(tmp_path):
    lines = _lines()
    (tmp_path / "part-0.csv").write_text("\n".join(lines[:100]) + "\n")
    (tmp_path / "part-1.csv").write_text("\n".join([lines[0], *lines[100:104], "9,,1003", *lines[104:]]) + "\n")
    spec = str(tmp_path / "part-*.csv")
    with pytest.raises(ValueError, match=r"file '.*part-1\.csv', row 4, column 'item_id': a bad row"):
        read_interactions(spec, columns=COLUMNS, time_column="timestamp")
    rows, found = read_interactions(spec, columns=COLUMNS, time_column="timestamp", bad_rows="skip")
    assert found.first == {"empty 'item_id'": f"file '{tmp_path / 'part-1.csv'}', row 4, column 'item_id'"}
    assert rows.num_rows == 240


def test_the_job_stops_at_the_first_bad_row_by_default_and_trains_past_them_with_skip(tmp_path, capsys):
    path = _write(tmp_path / "clicks.csv")
    flags = ["--dataset", str(path), *TINY, "--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as raised:
        main(flags)
    assert str(raised.value).startswith(f"error: interactions file '{path}', line 6: 4 fields, not 3")
    assert not (tmp_path / "out" / "metrics.json").exists()
    summary = main([*flags, "--bad-rows", "skip"])
    out = capsys.readouterr().out
    assert "--bad-rows skip: left out 7 of 240 interaction rows: 2 wrong number of fields (first: file" in out
    assert "; 2 'timestamp' not a time (first: file" in out and ": 30 users, " in out
    recorded = json.loads((tmp_path / "out" / "metrics.json").read_text())["bad_rows"]
    assert recorded == summary["bad_rows"]
    assert recorded["policy"] == "skip" and recorded["rows_read"] == 240 and recorded["rows_skipped"] == 7
    assert recorded["by_kind"] == {kind: sum(k == kind for _, k in CORRUPT.values()) for _, kind in CORRUPT.values()}
    assert "233 interactions" in summary["data"]


def test_a_time_of_another_form_than_the_column_is_bad_and_iso_dates_are_read(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text("user_id,item_id,timestamp\n1,a,2024-01-02T10:00:00\n1,b,2024-01-03\n2,a,yesterday\n2,c,17\n")
    with pytest.raises(ValueError, match=r"row 2, column 'timestamp': 'yesterday': a bad row"):
        read_interactions(str(path), columns=COLUMNS, time_column="timestamp")
    rows, found = read_interactions(str(path), columns=COLUMNS, time_column="timestamp", bad_rows="skip")
    assert found.counts == {"'timestamp' not a time": 2} and rows["item_id"] == ["a", "b"]


def test_a_missing_column_is_named_under_both_policies(tmp_path):
    path = _write(tmp_path / "clicks.csv")
    for policy in ("error", "skip"):
        with pytest.raises(ValueError, match=r"clicks\.csv' has no column 'when'; its columns are \['user_id'"):
            read_interactions(str(path), columns=["user_id", "item_id", "when"], time_column="when", bad_rows=policy)
