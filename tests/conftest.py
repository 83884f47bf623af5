"""Shared pytest fixtures: repo paths and the real clips in ../shared when present."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_clip() -> Path:
    p = SHARED / "data" / "realshort.mp4"
    if not p.exists():
        pytest.skip(f"real clip not found at {p} (../shared is absent)")
    return p
