"""A saved model is complete wherever it is loaded from: the item vocabulary is found where the
weights are (a folder, or a Hub repo in the HF cache, offline), the folder holds a model card, and
loading without ``import hf_seqmask`` stops with an error that names the model type."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hf_seqmask import SeqRecModel
from hf_seqmask.data import ItemVocabulary
from hf_seqmask.hub import resolve_file
from hf_seqmask.modeling.model_card import CARD_FILE, MARKER, model_card

from .._tiny import VOCAB, tiny_model

ROOT = Path(__file__).resolve().parents[2]
VOCABULARY = ItemVocabulary([f"song-{i}" for i in range(VOCAB - 2)], list(range(VOCAB - 2, 0, -1)))


def _saved(folder, vocabulary=VOCABULARY, **save_options):
    model = tiny_model("gpt2", "clm")
    model.set_vocabulary(vocabulary)
    model.save_pretrained(folder, **save_options)
    return model


def _hub_cache(cache, saved, repo="owner/name", revision="0123456789abcdef0123456789abcdef01234567"):
    """``saved``'s files as the HF cache holds a downloaded repo: models--owner--name/snapshots/<rev>/,
    refs/main -> <rev>."""
    root = Path(cache) / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for path in Path(saved).iterdir():
        (snapshot / path.name).write_bytes(path.read_bytes())
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(revision)
    return root


def test_vocabulary_is_found_in_a_hub_repo_of_the_cache(tmp_path):
    model = _saved(tmp_path / "saved")
    _hub_cache(tmp_path / "hub", tmp_path / "saved")
    where = {"cache_dir": str(tmp_path / "hub"), "local_files_only": True}
    loaded = SeqRecModel.from_pretrained("owner/name", **where)
    assert loaded.vocabulary == VOCABULARY
    assert ItemVocabulary.from_pretrained("owner/name", **where) == VOCABULARY
    histories = [["song-3", "song-4"], ["song-9"]]
    assert loaded.eval().recommend(histories, k=3) == model.eval().recommend(histories, k=3)  # raw ids out


def test_a_repo_without_vocabulary_loads_without_one(tmp_path):
    tiny_model("gpt2", "clm").save_pretrained(tmp_path / "saved")
    _hub_cache(tmp_path / "hub", tmp_path / "saved", repo="owner/plain")
    where = {"cache_dir": str(tmp_path / "hub"), "local_files_only": True}
    assert SeqRecModel.from_pretrained("owner/plain", **where).vocabulary is None
    assert resolve_file("owner/plain", "item_vocabulary.json", **where) is None
    with pytest.raises(FileNotFoundError, match=r"'owner/plain' holds no item_vocabulary\.json"):
        ItemVocabulary.from_pretrained("owner/plain", **where)
    with pytest.raises(TypeError, match="Invalid option 'dtype'"):
        resolve_file("owner/plain", "config.json", dtype="float32")


def test_vocabulary_follows_the_subfolder_of_the_weights(tmp_path):
    _saved(tmp_path / "repo" / "variant")
    assert SeqRecModel.from_pretrained(tmp_path / "repo", subfolder="variant").vocabulary == VOCABULARY


# ---------------------------------------------------------------------------------- the model card
def test_save_pretrained_writes_a_model_card_with_spec_data_and_metrics(tmp_path):
    card_info = {"data": "ML-1M, leave-one-out", "metrics": {"test_ndcg@10": 0.18234, "test_rows": 6040}}
    _saved(tmp_path, model_card={**card_info, "license": "apache-2.0", "tags": ["movies"]})
    card = (tmp_path / CARD_FILE).read_text()
    front = card.split("---\n")[1]
    assert "library_name: hf_seqmask\nlicense: apache-2.0\ntags:\n- hf_seqmask\n" in front and "- movies\n" in front
    for section in ("## How to load", "## Masking spec", "## Data", "## Metrics", "## Intended use", "## Limitations"):
        assert section in card
    assert "import hf_seqmask" in card and "| scheme | `clm` |" in card
    assert f"| items in the vocabulary | {VOCAB - 2} |" in card
    assert "ML-1M, leave-one-out" in card and "| test_ndcg@10 | 0.1823 |" in card and "| test_rows | 6040 |" in card


def test_model_card_takes_the_main_jobs_table_and_says_what_was_not_recorded():
    config = tiny_model("bert", "mlm").config
    rows = [{"scheme": "mlm", "model": "bert", "history": "excluded", "ndcg@10": 0.08214}]
    table = "| scheme | model | history | ndcg@10 |\n|---|---|---|---|\n| mlm | bert | excluded | 0.0821 |"
    assert table in model_card(config, metrics=rows)
    card = model_card(config)
    assert "## Data\n\nNot recorded" in card and "## Metrics\n\nNot recorded" in card and "license" not in card


def test_a_readme_hf_seqmask_did_not_write_is_kept(tmp_path):
    _saved(tmp_path)
    assert MARKER in (tmp_path / CARD_FILE).read_text()
    _saved(tmp_path, model_card={"data": "again"})  # its own card is rewritten
    assert "again" in (tmp_path / CARD_FILE).read_text()
    (tmp_path / CARD_FILE).write_text("# my notes\n")
    _saved(tmp_path)
    assert (tmp_path / CARD_FILE).read_text() == "# my notes\n"
    _saved(tmp_path / "none", model_card=False)
    assert not (tmp_path / "none" / CARD_FILE).exists()
    with pytest.raises(TypeError, match="Invalid model_card field 'metric'"):
        _saved(tmp_path / "typo", model_card={"metric": 1.0})


# ------------------------------------------------------------------------- a fresh interpreter
FRESH = textwrap.dedent(
    """
    import json, torch
    torch.set_num_threads(1)
    from transformers import AutoModel
    try:
        AutoModel.from_pretrained("owner/name")
        error = None
    except ValueError as caught:
        error = str(caught)
    import hf_seqmask
    model = AutoModel.from_pretrained("owner/name")
    plain = hf_seqmask.SeqRecModel.from_pretrained("owner/plain")
    print(json.dumps({
        "error": error,
        "type": type(model).__name__,
        "vocabulary": model.vocabulary.items[:3],
        "recommended": [item for item, _ in model.recommend([["song-3", "song-4"]], k=2)[0]],
        "plain": plain.vocabulary,
    }))
    """
)


@pytest.mark.slow
def test_hub_repo_offline_in_a_fresh_interpreter(tmp_path):
    _saved(tmp_path / "saved")
    tiny_model("gpt2", "clm").save_pretrained(tmp_path / "plain")
    _hub_cache(tmp_path / "hub", tmp_path / "saved")
    _hub_cache(tmp_path / "hub", tmp_path / "plain", repo="owner/plain")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HF_HOME", None)
    result = subprocess.run(
        [sys.executable, "-c", FRESH], cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=600
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # Without `import hf_seqmask` transformers does not know the model type, and its error names it.
    assert "model type `hf_seqmask`" in out["error"]
    assert out["type"] == "SeqRecModel" and out["vocabulary"] == ["song-0", "song-1", "song-2"]
    assert len(out["recommended"]) == 2 and all(item.startswith("song-") for item in out["recommended"])
    assert out["plain"] is None
