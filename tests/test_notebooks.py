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
NBDEV_TEST = Path(sys.executable).parent / "nbdev_test"


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook(nb: Path, tmp_path: Path):
    flags = ["--flags", "cuda"] if torch.cuda.is_available() else []
    cmd = [str(NBDEV_TEST), "--path", str(nb), "--n_workers", "0", "--do_print"] + flags
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the notebooks' scratch runs go where pytest cleans up
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    ran = f"Completed {nb}" in r.stdout or f"Completed {nb.resolve()}" in r.stdout
    assert r.returncode == 0 and ran, f"{nb.name} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
