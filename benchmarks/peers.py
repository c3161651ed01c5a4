"""RecBole 1.2.1's SASRec and BERT4Rec on our exact ML-1M split, metric and machine, beside our rows.

RecBole pins old numpy/pandas, so it runs in its own virtual environment; our side only exports the
split. Two steps:

    # 1. in our environment: our preprocessing, written as RecBole atomic files
    python benchmarks/peers.py export --output out/peers/data
    # 2. in RecBole's (python3.11 -m venv /tmp/recbole && /tmp/recbole/bin/pip install torch==2.13.0 &&
    #    /tmp/recbole/bin/pip install recbole==1.2.1 "setuptools<80" "numpy<2" "pandas<2.3" "scipy<1.14")
    /tmp/recbole/bin/python benchmarks/peers.py run --model SASRec --data out/peers/data --minutes 60

Same split: the export holds our interactions after our item filter (>= 5 ratings), one row per
interaction in our time order, with the position in the user's history as its timestamp, so RecBole's
leave-one-out by time (``LS: valid_and_test``, ``order: TO``) cuts exactly our train / validation /
test items. Same metric: full ranking over every item with the user's earlier items excluded
(RecBole's full-sort evaluation masks them), NDCG@10, Recall@10, MRR@10 on the test item, the model
chosen on validation NDCG@10. Same size: L=200 (``MAX_ITEM_LIST_LENGTH``), hidden 64, 2 layers,
2 heads, dropout 0.2, full cross-entropy. Reported: the test metrics of the best validation epoch and
the wall time to that epoch (training and validation), as JSON in ``out/peers/<model>.json``.
The committed runs keep their JSON in ``docs/peers/`` (the results table reads it) and their raw logs in
``results/peers/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DATASET = "ml1m-ours"


def export(output: Path, dataset: str = "ml-1m") -> Path:
    """Write ``<output>/<DATASET>/<DATASET>.inter`` from our preprocessing; returns the folder."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from hf_seqmask.data import load_data
    from hf_seqmask.job import parse_args

    splits = load_data(parse_args(["--dataset", dataset, "--quiet"]))[0]
    folder = output / DATASET
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{DATASET}.inter"
    rows = 0
    with path.open("w") as handle:
        handle.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user, items in zip(splits["test"]["user_id"], splits["test"]["input_ids"], strict=True):
            for position, item in enumerate(items):
                handle.write(f"{user}\t{item}\t{position}\n")
                rows += 1
    print(f"wrote {rows:,} interactions of {len(splits['test']):,} users to {path}")
    return folder


def _prepare_recbole_imports() -> None:
    """Lets RecBole 1.2.1 import where its venv's pins cannot be had (the GPU image: numpy 2, no ray).

    RecBole imports ray, plotly and thop at module level but uses them only for hyper-parameter search,
    charts and FLOP counts, none of which this script calls: where one is missing it is marked absent
    (an ``import`` of it inside RecBole then fails loudly, not silently). Its ``compatibility_settings``
    aliases ``np.float_``, ``np.complex_`` and ``np.unicode_``, which numpy 2 removed: given back as the
    types they named (float64, complex128, str_).
    """
    import importlib.util

    import numpy as np

    for name in ("ray", "plotly", "thop"):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]
    for old, new in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if not hasattr(np, old):
            setattr(np, old, new)


def epoch_line(model_name: str, epoch: float, score: float, seconds: float) -> str:
    """The line printed after each validation (``benchmarks/time_to_quality.py`` timestamps it); the
    epoch is fractional for a validation within an epoch.

    Example:
        >>> epoch_line("SASRec", 3, 0.12345, 90.0)
        'SASRec epoch 3: validation NDCG@10 0.1235 at 1.5 min'
        >>> epoch_line("SASRec", 40 / 480, 0.05, 180.0)
        'SASRec epoch 0.083: validation NDCG@10 0.0500 at 3.0 min'
    """
    return f"{model_name} epoch {round(epoch, 3):g}: validation NDCG@10 {score:.4f} at {seconds / 60:.1f} min"


class CheckedBatches:
    """RecBole's training batches as they come, calling ``after(fraction_of_epoch)`` after each one.

    Observation only: the batches, their order and the updates stay RecBole's own. The call comes after
    the batch's optimizer step (the trainer asks for the next batch only then), is skipped after the
    epoch's last batch (the epoch's own validation follows), and ends the epoch early by returning True.

    Example:
        >>> seen = []
        >>> list(CheckedBatches(range(4), lambda fraction: seen.append(fraction) or False)), seen
        ([0, 1, 2, 3], [0.25, 0.5, 0.75])
        >>> list(CheckedBatches(range(4), lambda fraction: fraction >= 0.5))
        [0, 1]
    """

    def __init__(self, batches, after) -> None:
        self.batches, self.after = batches, after

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        total = len(self.batches)
        for index, batch in enumerate(self.batches, start=1):
            yield batch
            if index < total and self.after(index / total):
                return


class Validations:
    """Every validation of one RecBole run: its history, the best model, patience and the time limit.

    ``check(epoch)`` validates (``epoch`` fractional within an epoch), keeps the best state and says
    whether to stop: ``patience`` epochs without a better validation, or past ``minutes``. ``due(epoch)``
    runs a check within an epoch once ``every_minutes`` have passed since the last one (0: never).
    """

    def __init__(self, model, trainer, valid, name: str, minutes: float, patience: int, every_minutes: float):
        self.model, self.trainer, self.valid, self.name = model, trainer, valid, name
        self.minutes, self.patience, self.every_minutes = minutes, patience, every_minutes
        self.history: list[dict] = []
        self.best: dict | None = None
        self.best_state: dict | None = None
        self.stopped_by: str | None = None
        self.start = self.last = time.time()

    def due(self, epoch: float) -> bool:
        if self.every_minutes and time.time() - self.last >= self.every_minutes * 60:
            return self.check(epoch)
        return False

    def check(self, epoch: float) -> bool:
        score, _ = self.trainer._valid_epoch(self.valid, show_progress=False)
        self.model.train()  # _valid_epoch leaves it in eval mode; within an epoch training goes on
        self.last = time.time()
        elapsed = self.last - self.start
        self.history.append({"epoch": round(epoch, 3), "ndcg@10": float(score), "seconds": round(elapsed, 1)})
        print(epoch_line(self.name, epoch, float(score), elapsed), flush=True)
        if self.best is None or score > self.best["ndcg@10"]:
            self.best = self.history[-1]
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if epoch - self.best["epoch"] >= self.patience:
            self.stopped_by = "early stopping"
        elif elapsed > self.minutes * 60:
            self.stopped_by = "time limit"
        return self.stopped_by is not None


def run(
    model_name: str,
    data: Path,
    minutes: float,
    epochs: int,
    max_length: int,
    patience: int,
    batch_size: int = 256,
    threads: int | None = None,
    validate_every_minutes: float = 0.0,
) -> dict:
    """Train ``model_name`` with RecBole on the exported split, validation every epoch (and within an
    epoch every ``validate_every_minutes``, 0: never), until its own early stopping (``patience``
    epochs without a better validation NDCG@10), ``epochs`` or at most ``minutes`` of training; returns
    the best validation's test metrics, its wall time and ``stopped_by``."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    _prepare_recbole_imports()
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    config = Config(
        model=model_name,
        dataset=DATASET,
        config_dict={
            "data_path": str(data.parent if data.name == DATASET else data),
            "USER_ID_FIELD": "user_id",
            "ITEM_ID_FIELD": "item_id",
            "TIME_FIELD": "timestamp",
            "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
            "MAX_ITEM_LIST_LENGTH": max_length,
            "hidden_size": 64,
            "inner_size": 256,
            "n_layers": 2,
            "n_heads": 2,
            "hidden_dropout_prob": 0.2,
            "attn_dropout_prob": 0.2,
            "loss_type": "CE",
            "train_neg_sample_args": None,
            "learning_rate": 1e-3,
            "train_batch_size": batch_size,
            "eval_batch_size": 1024,
            "epochs": epochs,
            "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
            "metrics": ["NDCG", "Recall", "MRR"],
            "topk": [10],
            "valid_metric": "NDCG@10",
            "seed": 0,
            "reproducibility": True,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "show_progress": False,
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    launched = time.time()
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    ready = (time.time() - launched) / 60
    print(f"{model_name}: data ready ({len(train.dataset):,} training sequences) in {ready:.1f} min", flush=True)
    model = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    record = Validations(model, trainer, valid, model_name, minutes, patience, validate_every_minutes)
    for epoch in range(epochs):
        trainer._train_epoch(CheckedBatches(train, lambda f, e=epoch: record.due(e + f)), epoch, show_progress=False)
        if record.stopped_by or record.check(epoch + 1):
            break
    best, history, stopped_by = record.best, record.history, record.stopped_by or "epochs"
    model.load_state_dict(record.best_state)
    result = trainer.evaluate(test, load_best_model=False, show_progress=False)
    summary = {
        "model": model_name,
        "max_length": max_length,
        "batch_size": batch_size,
        "learning_rate": config["learning_rate"],
        "hidden_size": config["hidden_size"],
        "layers": config["n_layers"],
        "heads": config["n_heads"],
        "dropout": config["hidden_dropout_prob"],
        "training_sequences": len(train.dataset),
        "minutes_limit": minutes,
        "epochs_run": history[-1]["epoch"],
        "validations": len(history),
        "stopped_by": stopped_by,
        "patience": patience,
        "validate_every_minutes": validate_every_minutes,
        "threads": torch.get_num_threads(),
        "best_epoch": best["epoch"],
        "minutes_to_best": round(best["seconds"] / 60, 1),
        "validation_ndcg@10": best["ndcg@10"],
        "test": {key.lower(): float(value) for key, value in result.items()},
        "history": history,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    }
    print(json.dumps(summary["test"]))
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The command line (``export`` and ``run``); tests parse the committed scripts' commands with it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="our split as RecBole atomic files (our environment)")
    exporting.add_argument("--output", type=Path, default=Path("out/peers/data"))
    exporting.add_argument("--dataset", default="ml-1m")
    running = commands.add_parser("run", help="train and test one RecBole model (RecBole's environment)")
    running.add_argument("--model", choices=["SASRec", "BERT4Rec"], required=True)
    running.add_argument("--data", type=Path, default=Path("out/peers/data"))
    running.add_argument("--minutes", type=float, default=60.0, help="stop after the epoch that passes this")
    running.add_argument("--epochs", type=int, default=200)
    running.add_argument("--max-length", type=int, default=200)
    running.add_argument("--patience", type=int, default=5)
    running.add_argument("--batch-size", type=int, default=256, help="training batch (RecBole's default: 2048)")
    running.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    running.add_argument(
        "--validate-every-minutes",
        type=float,
        default=0.0,
        help="also validate within an epoch this often (a curve on the clock; 0: at epoch ends only)",
    )
    running.add_argument("--output", type=Path, default=Path("out/peers"))
    return parser


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.output, args.dataset)
        return {}
    summary = run(
        args.model,
        args.data,
        args.minutes,
        args.epochs,
        args.max_length,
        args.patience,
        args.batch_size,
        args.threads,
        args.validate_every_minutes,
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{args.model}.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
