"""Rewrite GOLDEN in tests/_golden_data.py from the current collators and print what changed.

Run only for an intended change of behaviour, then check every printed difference by hand:
    python -m tests.collators.regenerate_golden
"""

import importlib.util
import pprint
from pathlib import Path

from hf_seqmask import SCHEMES

from .test_golden import flat

PATH = Path(__file__).with_name("_golden_data.py")


def _plain(key, tensor):
    if key in ("perm_mask", "target_mapping"):
        return [["".join(str(int(x)) for x in row) for row in matrix] for matrix in tensor.tolist()]
    return tensor.tolist()


def regenerate() -> None:
    spec = importlib.util.spec_from_file_location("golden", PATH)
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    fresh = {}
    for case, expected in golden.GOLDEN.items():
        scheme, extra, mode = case
        options = dict(vocab_size=20, mask_token_id=1, seed=0, mode=mode, side_feature_keys=("category",))
        batch = flat(SCHEMES[scheme](**(options | dict(extra)))(golden.FEATURES))
        fresh[case] = {k: (str(v.dtype).removeprefix("torch."), _plain(k, v)) for k, v in batch.items()}
        for key in sorted(set(fresh[case]) | set(expected)):
            if fresh[case].get(key) != expected.get(key):
                print(case, key, "\n  old", expected.get(key), "\n  new", fresh[case].get(key))
    source = PATH.read_text()
    head = source[: source.index("GOLDEN = {")]
    PATH.write_text(head + "GOLDEN = " + pprint.pformat(fresh, width=110, sort_dicts=False) + "\n")


if __name__ == "__main__":
    regenerate()
