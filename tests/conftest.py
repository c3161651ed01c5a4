"""Shared test set-up: the tiny models and data as fixtures, and the ``slow`` marker.

The plain helpers live in ``tests/_tiny.py`` (``from tests._tiny import ...`` in any test folder; the
test tree is a package); the fixtures below wrap them for tests that prefer fixtures.

Quick run (skips the multi-process, benchmark and fresh-interpreter tests, about a minute):
    python -m pytest -q -m "not slow"
"""

import pytest

from ._tiny import PAIRS, VOCAB, backbone_config, collator, sessions, tiny_model


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: multi-process, benchmark or fresh-interpreter tests (deselect with -m 'not slow')"
    )


@pytest.fixture
def vocab_size():
    """The tiny catalogue's size: ids 0 (pad) and 1 (mask) reserved, items 2..VOCAB-1."""
    return VOCAB


@pytest.fixture
def tiny_sessions():
    """A factory of Zipf-like sessions: ``tiny_sessions(count, max_length=16, seed=0, with_category=False)``."""
    return sessions


@pytest.fixture
def make_tiny_model():
    """A factory of tiny seeded models: ``make_tiny_model(family, scheme, **config)``."""
    return tiny_model


@pytest.fixture
def make_collator():
    """A factory of collators over the tiny catalogue: ``make_collator(scheme, mode="train", **options)``."""
    return collator


@pytest.fixture(params=PAIRS, ids=[f"{family}-{scheme}" for family, scheme, _ in PAIRS])
def pair(request):
    """Every (family, scheme, collator options) pair the wrapper supports, one test each."""
    return request.param


@pytest.fixture
def tiny_backbone_config():
    """``tiny_backbone_config(family)``: a 2-layer, width-32 HF config of that family."""
    return backbone_config
