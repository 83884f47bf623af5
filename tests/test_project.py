"""Project-level checks: package == notebooks, notebooks clean, pins mirrored, CI wired."""
import configparser
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _cfg() -> configparser.SectionProxy:
    c = configparser.ConfigParser(delimiters=["="])
    c.read(ROOT / "settings.ini")
    return c["DEFAULT"]


def _copy_sources(dst: Path) -> None:
    shutil.copy(ROOT / "settings.ini", dst)
    shutil.copytree(ROOT / "nbs", dst / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_proc"))


def _py_files(d: Path) -> dict:
    return {p.relative_to(d): p for p in d.rglob("*.py") if "__pycache__" not in p.parts}


def test_export_leaves_package_unchanged(tmp_path):
    _copy_sources(tmp_path)
    shutil.copytree(ROOT / "deepfovea_nb", tmp_path / "deepfovea_nb", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    r = subprocess.run([str(BIN / "nbdev_export")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want, have = _py_files(tmp_path / "deepfovea_nb"), _py_files(ROOT / "deepfovea_nb")
    assert set(want) == set(have), f"modules differ: only exported {set(want) - set(have)}, only in package {set(have) - set(want)}; run nbdev_export"
    stale = [str(k) for k in want if not filecmp.cmp(want[k], have[k], shallow=False)]
    assert not stale, f"package out of date with notebooks: {stale}; run nbdev_export"


def test_notebooks_are_clean(tmp_path):
    _copy_sources(tmp_path)
    r = subprocess.run([str(BIN / "nbdev_clean")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    dirty = [p.name for p in (tmp_path / "nbs").glob("*.ipynb") if p.read_bytes() != (ROOT / "nbs" / p.name).read_bytes()]
    assert not dirty, f"notebooks not clean: {dirty}; run nbdev_clean"


def _norm(req: str) -> str:
    return req.strip().lower().replace("_", "-")


def test_environment_yml_mirrors_settings():
    cfg = _cfg()
    pinned = {_norm(r) for r in (cfg["requirements"] + " " + cfg["dev_requirements"]).split()}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert {_norm(r) for r in pip} == pinned
    assert all("==" in r for r in pinned), "every dependency is pinned with =="
    py = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert py, "environment.yml names a python version"


def test_workflows_run_the_commands():
    cpu = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    gpu = yaml.safe_load((ROOT / ".github/workflows/gpu.yml").read_text())
    def runs(wf: dict) -> str:
        return "\n".join(s.get("run", "") for j in wf["jobs"].values() for s in j["steps"])
    assert {"lint", "test"} <= set(cpu["jobs"])
    assert "make test" in runs(cpu) and "ruff" in runs(cpu)
    assert any("self-hosted" in str(j.get("runs-on")) for j in gpu["jobs"].values())
    g = runs(gpu)
    assert "papermill nbs/05_train.ipynb" in g and "papermill nbs/06_evaluate.ipynb" in g
    uploads = [s for j in gpu["jobs"].values() for s in j["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and "results" in str(uploads[0]["with"]["path"])


def test_ci_run_calls_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    cmds = [l.split("#")[0].strip() for l in readme[:40] if l.strip().startswith("make ")]
    assert cmds[:2] == ["make demo", "make test"], cmds
    body = [l for l in (ROOT / ".ci/run").read_text().splitlines() if l.strip() and not l.startswith(("#", "set ", "cd "))]
    assert body == ["make test"]
