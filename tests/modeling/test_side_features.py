"""MovieLens' side features (a preset of the general path): their values, the multi-hot genres,
leak-freedom, the main job."""

import numpy as np
import pandas as pd
import pytest
import torch
from datasets import Dataset

from hf_seqmask import SeqRecModel
from hf_seqmask.cli import main
from hf_seqmask.data import movielens_feature_sources, parse_side_features
from hf_seqmask.data.job_data import DataArguments, load_data
from hf_seqmask.modeling import MultiHotEmbedding

from .._tiny import PAIRS, VOCAB, collator, needs_index, sessions, tiny_model

ITEMS = pd.DataFrame(
    {
        "item_id": [1, 2, 3],
        "genres": [["Drama"], ["Comedy", "Drama"], []],
        "year": [1919.0, 2003.0, float("nan")],
    }
)
USERS = pd.DataFrame({"user_id": [7, 8], "age": [1.0, 56.0], "gender": ["F", None], "occupation": ["10", "0"]})
ALL = "genre,year,release_year,age,gender,occupation,hour,weekday,time_gap"


def test_the_preset_writes_movielens_files_as_the_general_paths_tables():
    sources = movielens_feature_sources(parse_side_features(ALL), items=ITEMS, users=USERS, dataset="ml-1m")
    items = sources.item_table.to_dict("list")
    assert items["genre"] == [["Drama"], ["Comedy", "Drama"], []]
    assert items["year"][:2] == ["before 1920", "2000 on"] and pd.isna(items["year"][2])  # missing stays missing
    assert items["release_year"][:2] == [1919.0, 2003.0] and np.isnan(items["release_year"][2])
    users = sources.user_table.to_dict("list")
    assert users["age"] == ["under 18", "56+"] and users["occupation"] == ["10", "0"]
    assert users["gender"][0] == "F" and pd.isna(users["gender"][1])  # missing, not a category "nan"
    assert sources.time == ("hour", "weekday", "gap")  # time_gap: the former name of the general gap
    assert sources.kinds == {"genre": "multi", "year": "categorical", "release_year": "continuous",
                             "age": "categorical", "gender": "categorical", "occupation": "categorical"}  # fmt: skip
    assert sources.item_table.attrs["name"] == "ml-1m items"


def _grouplens_ml1m(folder):
    """A tiny ML-1M in GroupLens' own format (ratings.dat, movies.dat, users.dat)."""
    folder.mkdir()
    ratings = [(7, 1, 0), (7, 2, 59), (7, 3, 3 * 86400 + 7200), (7, 1, 4 * 86400), (8, 3, 13 * 3600), (8, 2, 14 * 3600),
               (8, 1, 15 * 3600)]  # fmt: skip
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::5::{t}\n" for u, i, t in ratings))
    (folder / "movies.dat").write_text("1::One (1919)::Drama\n2::Two (2003)::Comedy|Drama\n3::Three::Horror\n")
    (folder / "users.dat").write_text("7::F::1::10::00000\n8::M::56::0::11111\n")
    return folder / "ratings.dat"


def test_movielens_features_go_through_the_general_path_fitted_on_training_and_saved(tmp_path):
    ratings = _grouplens_ml1m(tmp_path / "ml-1m")
    splits, _, _, description, spec = load_data(DataArguments(dataset=str(ratings), side_features=ALL,
                                                               min_item_ratings=1))  # fmt: skip
    assert "side features: genre, year, release_year (item), age, gender, occupation (user)" in description
    features = spec.features
    assert spec.context == ("age", "gender", "occupation")  # user attributes: visible everywhere
    assert spec.multi_hot == ("genre",) and spec.cardinalities["release_year"] == 0
    # Leave-one-out keeps users 7's first two items (1, 2) and user 8's first (3) for training; that split
    # alone fits the vocabularies (ids by frequency, ties by name) and the statistics.
    values = {c.name: c.values for c in features.columns}
    assert values["genre"] == ["Drama", "Comedy", "Horror"] and values["year"] == ["2000 on", "before 1920"]
    assert values["age"] == ["under 18", "56+"] and values["hour"] == [str(h) for h in range(24)]
    train = {row["user_id"]: row for row in splits["train"]}
    assert train[7]["genre"] == [0b10, 0b110] and train[8]["genre"] == [0b1000]  # bit 0: unknown
    assert train[7]["year"] == [3, 2] and train[8]["year"] == [1]  # no year in the title -> the unknown id
    assert train[7]["age"] == [2, 2] and train[8]["age"] == [3] and train[8]["hour"] == [2 + 13]
    gap = next(c for c in features.columns if c.name == "gap")
    np.testing.assert_allclose(train[7]["gap"], (np.log1p([0, 59]) - gap.mean) / gap.std)
    assert features.counts["train"]["year"] == {"missing": 1, "unknown": 0}
    # The test split's later items are encoded with the training vocabularies.
    test = {row["user_id"]: row for row in splits["test"]}
    assert test[7]["year"] == [3, 2, 1, 3] and test[7]["hour"][-1] == 2


def test_bad_names_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"Invalid side feature\(s\) \['genres'\]"):
        parse_side_features("genres")
    with pytest.raises(ValueError, match="a name repeats"):
        parse_side_features("gap,time_gap")
    with pytest.raises(ValueError, match=r"side features \['age'\] need ml-1m's user file"):
        movielens_feature_sources(["age"], items=ITEMS, users=None, dataset="ml-1m")
    ratings = _grouplens_ml1m(tmp_path / "ml-1m")
    (ratings.parent / "movies.dat").write_text("1::One (1919)::Drama\n2::Two (2003)::Comedy|Drama\n")
    with pytest.raises(ValueError, match=r"--feature-kinds are for your own interaction files; for ml-1m use --side-"):
        load_data(DataArguments(dataset=str(ratings), side_features="year", feature_kinds="year=continuous"))
    clicks = tmp_path / "clicks.csv"
    clicks.write_text("user_id,item_id,timestamp\n1,2,3\n")
    with pytest.raises(ValueError, match=r"--feature-kinds names \['price'\], but no feature was asked for"):
        load_data(DataArguments(dataset=str(clicks), feature_kinds="price=continuous"))
    missing = r"item '3' \(column 'item_id', row 2\) is not in the item table 'ml-1m items'"
    with pytest.raises(ValueError, match=missing):
        load_data(DataArguments(dataset=str(ratings), side_features="genre", min_item_ratings=1))


def test_multi_hot_is_the_mean_of_the_set_and_survives_save_and_load(tmp_path):
    layer = MultiHotEmbedding(4, 3)
    values = torch.tensor([[0b0101, 0, 0b1000]])
    out = layer(values)
    torch.testing.assert_close(out[0, 0], (layer.weight[0] + layer.weight[2]) / 2)
    assert torch.equal(out[0, 1], torch.zeros(3)) and torch.equal(out[0, 2], layer.weight[3])
    model = tiny_model("gpt2", "clm", side_features={"genre": 6}, multi_hot_side_features=["genre"])
    batch = collator("clm", "eval", side_feature_keys=("genre",))(_with_genres(sessions(8, seed=1)))
    model.eval()
    before = model(**batch).logits
    model.save_pretrained(tmp_path)
    loaded = SeqRecModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded(**batch).logits, before, rtol=0, atol=0)
    with pytest.raises(ValueError, match="Invalid multi_hot_side_features entry 'year'"):
        tiny_model("gpt2", "clm", side_features={"year": 0}, multi_hot_side_features=["year"])


def _with_genres(rows, seed=0):
    rng = np.random.default_rng(seed)
    return [{**row, "genre": rng.integers(1, 64, len(row["input_ids"])).tolist()} for row in rows]


@pytest.mark.parametrize(("family", "scheme", "options"), PAIRS, ids=[f"{f}-{s}" for f, s, _ in PAIRS])
def test_the_targets_genres_are_hidden_with_it_and_the_others_are_used(family, scheme, options):
    """Leak test through the real model: changing the target's genres changes nothing; changing an
    earlier item's genres changes the prediction (the feature is read, so the test can fail)."""
    model = tiny_model(family, scheme, side_features={"genre": 6}, multi_hot_side_features=["genre"]).eval()
    evaluation = collator(scheme, "eval", side_feature_keys=("genre",), **options)
    rows = [row for row in _with_genres(sessions(16, seed=2)) if len(row["input_ids"]) >= 3]
    target_changed = [{**row, "genre": [*row["genre"][:-1], 63 - row["genre"][-1]]} for row in rows]
    history_changed = [{**row, "genre": [63 - row["genre"][0], *row["genre"][1:]]} for row in rows]
    with torch.no_grad():
        before = model(**evaluation(rows)).logits
        torch.testing.assert_close(model(**evaluation(target_changed)).logits, before, rtol=0, atol=0)
        assert not torch.allclose(model(**evaluation(history_changed)).logits, before)
    assert before.shape == (len(rows), VOCAB)


@needs_index
def test_main_job_with_side_features_trains_and_recommends(tmp_path, capsys):
    flags = ["--max-steps", "3", "--hidden-size", "16", "--max-length", "20", "--batch-size", "32", "--quiet"]
    summary = main(["--scheme", "clm", "--model", "gpt2", "--output-dir", str(tmp_path), *flags,
                    "--side-features", "genre,year,age,gender,occupation,hour,time_gap"])  # fmt: skip
    out = capsys.readouterr().out
    assert "  1. " in out and " 10. " in out
    assert all(row["rows"] == 943 for row in summary["test"])
    loaded = SeqRecModel.from_pretrained(tmp_path / "model")
    assert loaded.config.side_features["genre"] == 20 and loaded.config.multi_hot_side_features == ["genre"]
    assert loaded.config.context_side_features == ["age", "gender", "occupation"]
    # Saved with the model: a raw history's features are looked up by item and user id, as in evaluation.
    spec = loaded.feature_spec
    example = spec.encode_example({"input_ids": [50, 172, 133], "user_id": 1, "timestamp": [0, 60, 7200]})
    assert example["genre"][0] > 1 and example["age"][0] >= 2 and example["hour"] == [2, 2, 4]
    assert len(loaded.recommend([example], k=5)[0]) == 5
    with pytest.raises(SystemExit, match="is not MovieLens"):
        path = tmp_path / "mine.csv"
        pd.DataFrame({"user_id": [1, 1], "item_id": [2, 3], "timestamp": [1, 2]}).to_csv(path, index=False)
        main(["--dataset", str(path), "--side-features", "genre", "--output-dir", str(tmp_path / "x"), *flags])


@pytest.mark.parametrize("family", ["gpt2", "bert", "xlnet", "electra"])
def test_side_embeddings_start_at_the_item_tables_scale(family):
    """torch's default N(0, 1) tables drowned the items' N(0, 0.02) (ML-1M with side features fell from
    0.156 to 0.086 validation NDCG@10 at epoch 14): every side table starts at the backbone's scale."""
    scheme = {"gpt2": "clm", "bert": "mlm", "xlnet": "plm", "electra": "rtd"}[family]
    model = tiny_model(family, scheme, side_features={"year": 20, "genre": 18, "price": 0},
                       multi_hot_side_features=["genre"])  # fmt: skip
    items = model.get_input_embeddings().weight.std().item()
    for name, layer in model.side_embeddings.items():
        assert 0.5 * items < layer.weight.std().item() < 2 * items, name


def test_string_ids_as_in_the_ml1m_wheel_find_their_features(monkeypatch):
    """The ML-1M wheel's items are titles and its users text ("1m_7"): the tables are keyed as text."""
    from hf_seqmask.data import job_data
    from hf_seqmask.data.movielens import MovieLens

    titles = {1: "One (1919)", 2: "Two (2003)", 3: "Three"}
    interactions = Dataset.from_dict(
        {"user_id": ["1m_7"] * 4 + ["1m_8"] * 3, "item_id": [titles[i] for i in (1, 2, 3, 1, 3, 2, 1)],
         "rating": [5] * 7, "timestamp": [0, 59, 266400, 345600, 46800, 50400, 54000]}
    )  # fmt: skip
    items = ITEMS.assign(item_id=[titles[i] for i in ITEMS["item_id"]])
    users = USERS.assign(user_id=["1m_7", "1m_8"])
    wheel = MovieLens("ml-1m", interactions, {t: t for t in titles.values()}, items, users)
    monkeypatch.setattr(job_data, "load_movielens", lambda *args, **kwargs: wheel)
    splits, _, _, _, spec = load_data(DataArguments(dataset="ml-1m", side_features="genre,gender", min_item_ratings=1))
    train = {row["user_id"]: row for row in splits["train"]}
    assert train["1m_7"]["genre"] == [0b10, 0b110] and train["1m_7"]["gender"] == [2, 2]
    assert train["1m_8"]["gender"] == [1]  # the missing gender: the unknown id, counted as missing
    assert spec.features.counts["train"]["gender"] == {"missing": 1, "unknown": 0}
    assert spec.features.user_table["1m_7"] == {"gender": "F"}
