"""Run every notebook in nbs/ as a test, each in its own process (nbdev's test runner)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("_"))
TIMEOUT_S = int(os.environ.get("NB_TIMEOUT_S", "1500"))


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook(nb: Path):
    flags = "cuda" if torch.cuda.is_available() else ""
    code = "from nbdev.test import nbdev_test; nbdev_test()"
    cmd = [sys.executable, "-c", code, "--path", str(nb), "--n_workers", "0"] + (["--flags", flags] if flags else [])
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
