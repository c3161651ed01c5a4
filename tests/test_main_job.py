"""The main job (examples/train.py, the hf-seqmask-train command) at a tiny size, every scheme."""

import json

import pytest

from hf_seqmask import SeqRecModel
from hf_seqmask.cli import main
from hf_seqmask.data import ItemVocabulary

from .test_data import needs_index

TINY = ["--max-steps", "3", "--hidden-size", "16", "--max-length", "20", "--batch-size", "32", "--quiet"]


@needs_index
@pytest.mark.parametrize(
    ("scheme", "model"), [("mlm", "bert"), ("clm", "gpt2"), ("plm", "xlnet"), ("clm", "xlnet"), ("rtd", "electra")]
)
def test_main_job_trains_evaluates_saves_and_recommends(tmp_path, capsys, scheme, model):
    summary = main(["--scheme", scheme, "--model", model, "--output-dir", str(tmp_path), *TINY])
    out = capsys.readouterr().out
    assert "ml-100k: 943 users, 1,682 items, 100,000 interactions" in out
    assert "| scheme | model | history | ndcg@10 | recall@10 | mrr@10 |" in out
    assert f"| {scheme} | {model} | excluded |" in out and "| - | popularity | excluded |" in out
    assert "  1. " in out and " 10. " in out  # ten recommendations with names
    rows = json.loads((tmp_path / "metrics.json").read_text())["test"]
    assert rows == summary["test"] and len(rows) == 4
    assert all(row["rows"] == 943 and 0 <= row["ndcg@10"] <= row["recall@10"] <= 1 for row in rows)
    popularity = next(r for r in rows if r["model"] == "popularity" and r["history"] == "included")
    assert popularity["ndcg@10"] > 0.01  # the baseline is computed, not a placeholder
    loaded = SeqRecModel.from_pretrained(tmp_path / "model")
    assert loaded.config.scheme == scheme
    assert ItemVocabulary.from_pretrained(tmp_path / "model").vocab_size == 1684


def test_unsupported_pair_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--scheme", "plm", "--model", "bert"])
    assert "--model bert supports --scheme mlm|rtd, not plm" in capsys.readouterr().err
