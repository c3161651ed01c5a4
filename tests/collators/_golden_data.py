"""Golden batches: the expected output of each collator for FEATURES with a fixed seed.

Generated once, then checked by hand against the batch contract (see test_golden.py); a perm mask
is written one string per row ("1" = may not attend). Regenerate only for an intended change."""

FEATURES = [
    {"input_ids": [5, 6, 7], "category": [1, 2, 3], "user": 10},
    {"input_ids": [8, 9, 10, 11, 12], "category": [4, 5, 6, 7, 8], "user": 11},
    {"input_ids": [13], "category": [9], "user": 12},
    {"input_ids": [], "category": [], "user": 13},
]

# (scheme, extra options, mode) -> {key: (dtype, value)}
GOLDEN = {
    ("clm", (), "train"): {
        "input_ids": ("int64", [[5, 6, 7, 0, 0], [8, 9, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, 6, 7, -100, -100],
                [-100, 9, 10, 11, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("clm", (), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [1, 3, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("clm", (), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 0, 0], [8, 9, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, 0, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("clm", (("causal_perm_mask", True),), "train"): {
        "input_ids": ("int64", [[5, 6, 7, 0, 0], [8, 9, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, 6, 7, -100, -100],
                [-100, 9, 10, 11, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["01111", "01111", "00111", "01111", "01111"],
                ["01111", "01111", "00111", "00011", "00001"],
                ["01111", "01111", "01111", "01111", "01111"],
                ["11111", "11111", "11111", "11111", "11111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("clm", (("causal_perm_mask", True),), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["01111", "01111", "00111", "01111", "01111"],
                ["01111", "01111", "00111", "00011", "00001"],
                ["01111", "01111", "01111", "01111", "01111"],
                ["11111", "11111", "11111", "11111", "11111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("clm", (("causal_perm_mask", True),), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["011111", "011111", "001111", "000111", "011111", "011111"],
                ["011111", "011111", "001111", "000111", "000011", "000001"],
                ["011111", "011111", "011111", "011111", "011111", "011111"],
                ["111111", "111111", "111111", "111111", "111111", "111111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("mlm", (), "train"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 1, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, 9, -100, -100, -100],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, True, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 0, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("mlm", (), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("mlm", (), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    (
        "mlm",
        (("mask_replace_prob", 0.5), ("mlm_probability", 0.6), ("random_replace_prob", 0.3), ("seed", 5)),
        "train",
    ): {
        "input_ids": ("int64", [[1, 6, 1, 0, 0], [1, 8, 11, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [5, -100, 7, -100, -100],
                [8, 9, 10, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [True, False, True, False, False],
                [True, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[0, 2, 0, 0, 0], [0, 0, 0, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    (
        "mlm",
        (("mask_replace_prob", 0.5), ("mlm_probability", 0.6), ("random_replace_prob", 0.3), ("seed", 5)),
        "eval",
    ): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    (
        "mlm",
        (("mask_replace_prob", 0.5), ("mlm_probability", 0.6), ("random_replace_prob", 0.3), ("seed", 5)),
        "predict",
    ): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (), "train"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 1, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, 9, -100, -100, -100],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, True, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 0, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["00111", "00111", "00111", "00111", "00111"],
                ["01000", "01000", "01000", "01000", "01000"],
                ["01111", "01111", "01111", "01111", "01111"],
                ["11111", "11111", "11111", "11111", "11111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["00111", "00111", "00111", "00111", "00111"],
                ["00001", "00001", "00001", "00001", "00001"],
                ["01111", "01111", "01111", "01111", "01111"],
                ["11111", "11111", "11111", "11111", "11111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
                ["10000", "01000", "00100", "00010", "00001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "perm_mask": (
            "float32",
            [
                ["000111", "000111", "000111", "000111", "000111", "000111"],
                ["000001", "000001", "000001", "000001", "000001", "000001"],
                ["011111", "011111", "011111", "011111", "011111", "011111"],
                ["111111", "111111", "111111", "111111", "111111", "111111"],
            ],
        ),
        "target_mapping": (
            "float32",
            [
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
                ["100000", "010000", "001000", "000100", "000010", "000001"],
            ],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (("perm_format", "compact"),), "train"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 1, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, 9, -100, -100, -100],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, True, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 0, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "perm_order": ("int64", [[-1, -1, 0, -1, -1], [-1, 0, -1, -1, -1], [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (("perm_format", "compact"),), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "perm_order": ("int64", [[-1, -1, 0, -1, -1], [-1, -1, -1, -1, 0], [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("plm", (("perm_format", "compact"),), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "perm_order": (
            "int64",
            [[-1, -1, -1, 0, -1, -1], [-1, -1, -1, -1, -1, 0], [-1, 0, -1, -1, -1, -1], [-1, -1, -1, -1, -1, -1]],
        ),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("rtd", (("sample_from_batch", True),), "train"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 1, 10, 11, 12], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, 9, -100, -100, -100],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, True, False, False, False],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 0, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "unmasked_side_features.category": (
            "int64",
            [[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
        ),
        "replacement_candidates": ("int64", [7, 9]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("rtd", (("sample_from_batch", True),), "eval"): {
        "input_ids": ("int64", [[5, 6, 1, 0, 0], [8, 9, 10, 11, 1], [13, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "labels": (
            "int64",
            [
                [-100, -100, 7, -100, -100],
                [-100, -100, -100, -100, 12],
                [-100, -100, -100, -100, -100],
                [-100, -100, -100, -100, -100],
            ],
        ),
        "mask_positions": (
            "bool",
            [
                [False, False, True, False, False],
                [False, False, False, False, True],
                [False, False, False, False, False],
                [False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [2, 4, -1, -1]),
        "category": ("int64", [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
        "seen_ids": ("int64", [[5, 6, 0, 0], [8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
    ("rtd", (("sample_from_batch", True),), "predict"): {
        "input_ids": ("int64", [[5, 6, 7, 1, 0, 0], [8, 9, 10, 11, 12, 1], [13, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "attention_mask": ("int64", [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "mask_positions": (
            "bool",
            [
                [False, False, False, True, False, False],
                [False, False, False, False, False, True],
                [False, True, False, False, False, False],
                [False, False, False, False, False, False],
            ],
        ),
        "prediction_positions": ("int64", [3, 5, 1, -1]),
        "category": ("int64", [[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 0], [9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
        "user": ("int64", [10, 11, 12, 13]),
    },
}
