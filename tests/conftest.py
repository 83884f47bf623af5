"""Shared pytest fixtures: the repo root and the real short clip from ../shared when present."""
from pathlib import Path

import pytest

from deepfovea_nb.frames import resolve_clip, shared_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_clip() -> Path:
    "`resolve_clip(name='realshort.mp4')` without its download: skipped when ../shared (or $DEEPFOVEA_SHARED) lacks it."
    if shared_path("data", "realshort.mp4") is None:
        pytest.skip("real clip realshort.mp4 not found in ../shared/data or $DEEPFOVEA_SHARED/data")
    return resolve_clip(name="realshort.mp4")
