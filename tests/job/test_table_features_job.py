"""The main job on the synthetic shop with item, user, interaction and time features (issue 25):
trains end to end at a tiny size for every scheme, saves the feature spec beside the weights, and
``recommend`` on a raw history scores what evaluation scored."""

import pandas as pd
import pytest
import torch

from hf_seqmask import SeqRecModel
from hf_seqmask.cli import main
from hf_seqmask.data import DataArguments, load_data
from hf_seqmask.data.feature_tables import FEATURE_SPEC_FILE

from .._shop import write_shop

TINY = ["--max-steps", "3", "--hidden-size", "16", "--max-length", "12", "--batch-size", "16", "--quiet"]
FEATURES = {
    "item_column": "product_id", "session_column": "session_id", "interaction_features": "paid,device",
    "time_features": "hour,weekday,gap", "feature_kinds": "tags=multi",
}  # fmt: skip


def _flags(clicks, products, users):
    flags = ["--dataset", str(clicks), "--item-features", str(products), "--user-features", str(users)]
    for name, value in FEATURES.items():
        flags += [f"--{name.replace('_', '-')}", value]
    return flags


@pytest.mark.parametrize(("scheme", "model"), [("clm", "gpt2"), ("mlm", "bert"), ("plm", "xlnet"), ("rtd", "electra")])
def test_main_job_trains_on_the_shop_with_every_feature_source(tmp_path, capsys, scheme, model):
    paths = write_shop(tmp_path / "data")
    summary = main([*_flags(*paths), "--scheme", scheme, "--model", model, "--output-dir", str(tmp_path), *TINY])
    out = capsys.readouterr().out
    assert "clicks.csv: 120 sessions, 30 items, 540 interactions" in out and " 10. " in out
    assert all(row["rows"] == 12 for row in summary["test"])
    loaded = SeqRecModel.from_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / FEATURE_SPEC_FILE).is_file()
    assert loaded.feature_spec is not None and loaded.feature_spec.cardinalities == loaded.config.side_features
    assert loaded.config.multi_hot_side_features == ["tags"] and loaded.config.side_features["price"] == 0
    # the user table's columns describe the user: context features, never hidden
    assert loaded.config.context_side_features == ["country", "age"]
    assert loaded.data_collator("eval").context_feature_keys == ("country", "age")


def test_recommend_on_a_raw_history_scores_what_evaluation_scored(tmp_path, capsys):
    clicks, products, users = write_shop(tmp_path / "data")
    main([*_flags(clicks, products, users), "--scheme", "mlm", "--model", "bert", "--output-dir", str(tmp_path), *TINY])
    capsys.readouterr()
    model = SeqRecModel.from_pretrained(tmp_path / "model").eval()
    args = DataArguments(dataset=str(clicks), item_features=str(products), user_features=str(users), **FEATURES)
    splits, vocabulary, _, _, side = load_data(args)
    raw = pd.read_csv(clicks).sort_values("timestamp", kind="stable")
    names = list(side.cardinalities)
    for example in splits["test"].select(range(4)):
        rows = raw[raw["session_id"] == example["user_id"]]
        session = {"input_ids": rows["product_id"].tolist(), "user_id": rows["user_id"].iloc[0],
                   "timestamp": rows["timestamp"].tolist(), "paid": rows["paid"].tolist(),
                   "device": rows["device"].tolist()}  # fmt: skip
        assert vocabulary.encode(session["input_ids"]) == example["input_ids"]
        # item and user features from the saved tables, time and interaction features from the raw values
        encoded = model.feature_spec.encode_example(session)
        assert {n: encoded[n] for n in names} == {n: example[n] for n in names}
        evaluated = model.score_batch(model.data_collator("eval")([{k: example[k] for k in ["input_ids", *names]}]))
        history = {key: value[:-1] if isinstance(value, list) else value for key, value in session.items()}
        top = model.recommend([model.feature_spec.encode_example(history)], k=5, exclude_seen=False)[0]
        assert len(top) == 5
        for item, score in top:
            torch.testing.assert_close(score, evaluated[0, vocabulary.encode([item])[0]].item(), rtol=1e-5, atol=1e-6)


def test_bad_feature_files_stop_the_job_naming_file_column_and_row(tmp_path):
    clicks, products, users = write_shop(tmp_path / "data")
    table = pd.read_csv(products)
    table.iloc[1:].to_csv(products, index=False)  # p000 is gone
    with pytest.raises(
        SystemExit,
        match=r"error: interactions .*clicks.csv: item 'p000' \(column 'product_id', row "
        r"\d+\) is not in the item table '.*products.csv' \(key column 'product_id'\)",
    ):
        main([*_flags(clicks, products, users), "--output-dir", str(tmp_path / "out"), *TINY])
    table.assign(price=table["price"].astype(str).where(table.index != 3, "cheap")).to_csv(products, index=False)
    with pytest.raises(SystemExit, match=r"item table file '.*products.csv': column 'price' is continuous but row 3 "
                                         r"holds 'cheap' \(not a number\)"):  # fmt: skip
        main([*_flags(clicks, products, users), "--feature-kinds", "tags=multi,price=continuous",
              "--output-dir", str(tmp_path / "out"), *TINY])  # fmt: skip


def test_the_side_feature_combiner_flag_reaches_the_model(tmp_path, capsys):
    paths = write_shop(tmp_path / "data")
    main([*_flags(*paths), "--side-feature-combiner", "concat", "--output-dir", str(tmp_path), *TINY])
    capsys.readouterr()
    loaded = SeqRecModel.from_pretrained(tmp_path / "model")
    assert loaded.config.side_feature_combiner == "concat" and loaded.side_projection is not None


def test_a_checkpoint_that_read_its_side_features_otherwise_is_not_resumed(tmp_path):
    from types import SimpleNamespace

    from hf_seqmask.data.feature_tables import FeatureColumn, FeatureSpec
    from hf_seqmask.job.resuming import check_same_side_features

    def model(context=(), side=None, spec=None):
        config = SimpleNamespace(side_features=side or {}, multi_hot_side_features=[], context_side_features=context)
        return SimpleNamespace(config=config, feature_spec=spec)

    checkpoint = tmp_path / "checkpoint-40"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text('{"model_type": "seqrec"}')  # saved before context features
    with pytest.raises(
        SystemExit, match=r"checkpoint-40 was trained with context_side_features=\[\].* this run has .*\['country'\]"
    ):
        check_same_side_features(model(["country"]), str(checkpoint))
    check_same_side_features(model(), str(checkpoint))
    (checkpoint / "config.json").write_text('{"context_side_features": ["country"], "side_features": {"country": 5}}')
    check_same_side_features(model(["country"], {"country": 5}), str(checkpoint))
    other = r"side_features=\{'country': 5\}, this run has side_features=\{'country': 6\}"
    with pytest.raises(SystemExit, match=other):
        check_same_side_features(model(["country"], {"country": 6}), str(checkpoint))
    # A checkpoint of MovieLens' own encoding (no feature_spec.json) or of other vocabularies: refused.
    spec = FeatureSpec([FeatureColumn("country", "user", "categorical", values=["fr", "de", "it"])])
    with pytest.raises(SystemExit, match=r"trained with side features encoded without a feature_spec.json"):
        check_same_side_features(model(["country"], {"country": 5}, spec), str(checkpoint))
    reordered = FeatureSpec([FeatureColumn("country", "user", "categorical", values=["de", "fr", "it"])])
    reordered.save_pretrained(checkpoint)
    with pytest.raises(SystemExit, match=r"other feature vocabularies or statistics \(\['country'\]\)"):
        check_same_side_features(model(["country"], {"country": 5}, spec), str(checkpoint))
    spec.save_pretrained(checkpoint)
    check_same_side_features(model(["country"], {"country": 5}, spec), str(checkpoint))
