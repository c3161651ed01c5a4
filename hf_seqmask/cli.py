"""The main job: train a next-item recommender on MovieLens with one scheme, evaluate, recommend.

Run (also as ``hf-seqmask-train``):
    python examples/train.py                                   # BERT + mlm on ML-100K, a few minutes on 2 cores
    python examples/train.py --scheme clm --model gpt2 --dataset ml-1m
    python examples/train.py --dataset path/to/ml-1m/ratings.dat --scheme plm --model xlnet

Protocol: leave-one-out (last item = test, second-to-last = validation), every item ranked (pad and
mask excluded), Recall@10 / NDCG@10 / MRR@10 with the items already in the user's history excluded
(the headline; MovieLens has at most one rating per user and movie) and with all items, next to a
popularity baseline computed the same way. Writes ``metrics.json`` and the saved model (with its
item vocabulary) into ``--output-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import (
    BertConfig,
    ElectraConfig,
    GPT2Config,
    PretrainedConfig,
    TrainingArguments,
    XLNetConfig,
)

from . import SCHEMES, SeqRecConfig, SeqRecModel, SeqRecTrainer
from .data import (
    ML_1M_MIN_ITEM_RATINGS,
    ItemVocabulary,
    encode_sequences,
    group_into_sequences,
    keep_known_items,
    leave_one_out,
    load_movielens,
)
from .early_stopping import RankingEarlyStopping
from .metrics import evaluate_ranking, popularity_scorer
from .spec import SUPPORTED_PAIRS

FAMILIES = tuple(SUPPORTED_PAIRS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", choices=sorted(SCHEMES), default="mlm")
    parser.add_argument("--model", choices=FAMILIES, default="bert")
    parser.add_argument("--dataset", default="ml-100k", help="ml-100k, ml-1m, or a path to u.data / ratings.dat")
    parser.add_argument("--min-item-ratings", type=int, default=None, help="default: 5 on ML-1M, 1 on ML-100K")
    parser.add_argument("--max-length", type=int, default=100, help="most recent items kept per user")
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--epochs", type=float, default=60)
    parser.add_argument("--max-steps", type=int, default=-1, help="overrides --epochs when > 0")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--mlm-probability", type=float, default=0.2)
    parser.add_argument(
        "--mask-last-item-prob",
        type=float,
        default=0.0,
        help="mlm/rtd: chance of a row to have only its last item masked",
    )
    parser.add_argument("--loss", choices=("full", "sampled_softmax", "bce", "gbce"), default="full")
    parser.add_argument("--num-negatives", type=int, default=0, help="negatives per target for the sampled losses")
    parser.add_argument("--gbce-t", type=float, default=0.75, help="gBCE calibration t")
    parser.add_argument(
        "--validate-every", type=int, default=0,
        help="evaluate NDCG@10 on the validation split every N epochs, keep the best weights (0: never)",
    )  # fmt: skip
    parser.add_argument("--patience", type=int, default=3, help="validations without improvement before stopping")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="out/train")
    parser.add_argument("--cache-dir", default=None, help="where the MovieLens wheel is kept")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.loss != "full" and args.num_negatives < 1:
        parser.error(f"--loss {args.loss} needs --num-negatives >= 1, got {args.num_negatives}")
    if args.mask_last_item_prob and args.scheme not in ("mlm", "rtd"):
        parser.error(f"--mask-last-item-prob is for --scheme mlm|rtd, not {args.scheme}")
    if args.scheme not in SUPPORTED_PAIRS[args.model]:
        supported = "|".join(SUPPORTED_PAIRS[args.model])
        parser.error(f"--model {args.model} supports --scheme {supported}, not {args.scheme}")
    return args


def load_data(args: argparse.Namespace) -> tuple[datasets.DatasetDict, ItemVocabulary, dict, str]:
    """MovieLens -> vocabulary (min ratings per item) -> user sequences -> leave-one-out splits."""
    name, path = args.dataset, None
    if name not in ("ml-100k", "ml-1m"):
        path = Path(name)
        name = "ml-1m" if path.name == "ratings.dat" or (path / "ratings.dat").exists() else "ml-100k"
    movielens = load_movielens(name, path=path, cache_dir=args.cache_dir)
    min_ratings = args.min_item_ratings or (ML_1M_MIN_ITEM_RATINGS if name == "ml-1m" else 1)
    vocabulary = ItemVocabulary.from_interactions(movielens.interactions, min_frequency=min_ratings)
    interactions = keep_known_items(movielens.interactions, vocabulary)
    sequences = encode_sequences(group_into_sequences(interactions), vocabulary)
    description = (
        f"{name}: {len(sequences):,} users, {len(vocabulary):,} items, {len(interactions):,} interactions "
        f"(items with >= {min_ratings} ratings; {vocabulary.num_dropped_items:,} items dropped)"
    )
    return (
        leave_one_out(sequences.select_columns(["user_id", "input_ids"])),
        vocabulary,
        movielens.item_names,
        description,
    )


def backbone_config(args: argparse.Namespace, vocab_size: int) -> PretrainedConfig:
    positions = args.max_length  # predict keeps max_length - 1 items + the slot: no position goes untrained
    common = dict(vocab_size=vocab_size, pad_token_id=ItemVocabulary.pad_token_id)
    if args.model == "gpt2":
        return GPT2Config(
            n_positions=positions, n_embd=args.hidden_size, n_layer=args.layers, n_head=args.heads,
            resid_pdrop=args.dropout, embd_pdrop=args.dropout, attn_pdrop=args.dropout,
            bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    if args.model == "xlnet":
        return XLNetConfig(
            d_model=args.hidden_size, n_layer=args.layers, n_head=args.heads, d_inner=4 * args.hidden_size,
            dropout=args.dropout, bos_token_id=None, eos_token_id=None, **common,
        )  # fmt: skip
    config_class = BertConfig if args.model == "bert" else ElectraConfig
    extra = {"embedding_size": args.hidden_size} if args.model == "electra" else {}
    return config_class(
        hidden_size=args.hidden_size, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden_size, max_position_embeddings=positions,
        hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout, **extra, **common,
    )  # fmt: skip


def model_config(args: argparse.Namespace, vocab_size: int) -> SeqRecConfig:
    """The model and its masking spec (the collators are built from it: ``model.data_collator``)."""
    masking: dict[str, Any] = {}
    if args.scheme in ("mlm", "rtd"):
        masking.update(mlm_probability=args.mlm_probability, mask_last_item_prob=args.mask_last_item_prob)
    if args.num_negatives:
        masking["num_negatives"] = args.num_negatives
    return SeqRecConfig(
        backbone_config=backbone_config(args, vocab_size),
        scheme=args.scheme,
        pad_token_id=ItemVocabulary.pad_token_id,
        mask_token_id=ItemVocabulary.mask_token_id,
        max_seq_length=args.max_length,
        masking=masking,
        seed=args.seed,
        loss=args.loss,
        gbce_t=args.gbce_t,
    )


def format_table(rows: list[dict[str, Any]], ks: tuple[int, ...] = (10,)) -> str:
    columns = ["scheme", "model", "history", *[f"{m}@{k}" for k in ks for m in ("ndcg", "recall", "mrr")]]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row[c]) if isinstance(row[c], str) else f"{row[c]:.4f}" for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.time()
    if args.quiet:
        datasets.disable_progress_bars()
    # A process of a multi-process launch prints only on rank 0 (the Trainer reads the same variable).
    quiet_rank = int(os.environ.get("RANK", "0")) != 0
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    splits, vocabulary, item_names, description = load_data(args)
    if not quiet_rank:
        print(description)
    vocab_size = vocabulary.vocab_size
    model = SeqRecModel(model_config(args, vocab_size))
    model.set_vocabulary(vocabulary)
    collator = model.data_collator("train")
    output_dir = Path(args.output_dir)
    steps_per_epoch = -(-len(splits["train"]) // args.batch_size)
    total_steps = args.max_steps if args.max_steps > 0 else int(steps_per_epoch * args.epochs)
    training_args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=0.05,
        lr_scheduler_type="linear",
        logging_steps=max(total_steps // 10, 1),
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=args.quiet,
        log_level="warning",
    )
    callbacks = []
    if args.validate_every:
        report = None if quiet_rank else lambda r: print(f"validation, epoch {r['epoch']}: ndcg@10 {r['ndcg@10']:.4f}")
        callbacks.append(
            RankingEarlyStopping(
                splits["validation"].select_columns(["input_ids"]),
                model.data_collator("eval"),
                patience=args.patience,
                every_epochs=args.validate_every,
                report=report,
            )
        )
    trainer = SeqRecTrainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        data_collator=collator,
        callbacks=callbacks,
    )
    trainer.train()
    train_seconds = time.time() - started
    if not trainer.is_world_process_zero():
        return {}  # under accelerate / torchrun, rank 0 alone evaluates every test user once and saves

    rows = evaluate_test(model, splits)
    print(format_table(rows))

    model.save_pretrained(output_dir / "model")  # with its masking spec and item vocabulary
    summary = {
        "data": description,
        "arguments": vars(args),
        "train_seconds": round(train_seconds, 1),
        "world_size": trainer.args.world_size,
        "epochs_trained": round(trainer.state.epoch or 0, 2),
        "validation": {"history": callbacks[0].history, "best": callbacks[0].best} if callbacks else None,
        "test": rows,
    }
    (output_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"saved the model to {output_dir / 'model'} and the metrics to {output_dir / 'metrics.json'}")
    print_recommendations(model, splits["test"][0], item_names)
    return summary


@torch.no_grad()
def evaluate_test(model: SeqRecModel, splits: datasets.DatasetDict) -> list[dict[str, Any]]:
    """The test rows of the table: the model and the popularity baseline, history excluded and included.

    The model scores each test row through its own eval-mode collator, on its device.
    """
    evaluation = model.data_collator("eval")
    vocab_size = model.config.backbone_config.vocab_size
    exclude_ids = model.reserved_ids.tolist()
    popularity = popularity_scorer(splits["train"]["input_ids"], vocab_size)
    test = splits["test"].select_columns(["input_ids"])
    rows = []
    for history, exclude in (("excluded", True), ("included", False)):
        for scheme, family, scorer in (
            (model.config.scheme, model.config.backbone_config.model_type, model.score_batch),
            ("-", "popularity", popularity),
        ):
            metrics = evaluate_ranking(scorer, test, evaluation, exclude_ids=exclude_ids, exclude_history=exclude)
            rows.append({"scheme": scheme, "model": family, "history": history, **metrics})
    return rows


def print_recommendations(model: SeqRecModel, example: dict[str, Any], item_names: dict) -> None:
    """Top-10 next items for one user, through ``model.recommend`` (the whole history as input; the
    model reads its ``max_seq_length - 1`` most recent items; every seen item excluded)."""
    history = model.vocabulary.decode(example["input_ids"])
    recommendations = model.recommend([history], k=10)[0]
    print(f"user {example['user_id']}: last watched {', '.join(str(item_names.get(i, i)) for i in history[-3:])}")
    for rank, (item, _) in enumerate(recommendations, start=1):
        print(f"{rank:>3}. {item_names.get(item, item)}")


if __name__ == "__main__":
    main()
