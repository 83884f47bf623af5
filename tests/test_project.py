"""Project-level checks: package == notebooks, notebooks clean, imports follow the data-flow order, lint and line
length, pins mirrored, console scripts installed, CI wired."""
import ast
import configparser
import filecmp
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PKG = "deepfovea_nb"
MAX_LINE = 120          # ruff.toml's line-length; notebooks' code is held to it here (ruff does not read .ipynb)


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
    shutil.copytree(ROOT / PKG, tmp_path / PKG, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # the package's __init__.py may be written by hand: nbdev keeps it and only sets its `__version__` line
    shutil.copy(ROOT / PKG / "__init__.py", tmp_path / PKG / "__init__.py")
    r = subprocess.run([str(BIN / "nbdev_export")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want, have = _py_files(tmp_path / PKG), _py_files(ROOT / PKG)
    assert set(want) == set(have), (f"modules differ: only exported {set(want) - set(have)}, "
                                    f"only in package {set(have) - set(want)}; run nbdev_export")
    stale = [str(k) for k in want if not filecmp.cmp(want[k], have[k], shallow=False)]
    assert not stale, f"package out of date with notebooks: {stale}; run nbdev_export"


def test_notebooks_are_clean(tmp_path):
    _copy_sources(tmp_path)
    r = subprocess.run([str(BIN / "nbdev_clean")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    dirty = [p.name for p in (tmp_path / "nbs").glob("*.ipynb")
             if p.read_bytes() != (ROOT / "nbs" / p.name).read_bytes()]
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
    body = [l for l in (ROOT / ".ci/run").read_text().splitlines()
            if l.strip() and not l.startswith(("#", "set ", "cd "))]
    assert body == ["make test"]


# ---------------------------------------------------------------- imports follow the notebooks' data-flow order
def _notebooks() -> list[Path]:
    "nbs/*.ipynb sorted by file name: the data-flow order."
    return sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))


def _code_cells(nb: Path) -> list[str]:
    cells = json.loads(nb.read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


_DEFAULT_EXP = re.compile(r"^\s*#\s*\|\s*default_exp\s+([\w.]+)\s*$", re.M)


def module_ranks() -> dict[str, tuple[int, str]]:
    "module -> (position of its notebook in file-name order, notebook name), from the notebooks' `#| default_exp`."
    ranks = {}
    for i, nb in enumerate(_notebooks()):
        for src in _code_cells(nb):
            if m := _DEFAULT_EXP.search(src):
                assert m.group(1) not in ranks, f"{m.group(1)} is exported by {ranks[m.group(1)][1]} and {nb.name}"
                ranks[m.group(1)] = (i, nb.name)
    return ranks


def package_imports() -> dict[str, set[str]]:
    """module -> the package modules it imports (anywhere in the file, function bodies included; relative and absolute).
    `__init__` stands for the package itself; a name imported from the package is charged to the module defining it."""
    files = {p.stem: p for p in (ROOT / PKG).glob("*.py") if p.stem != "_modidx"}
    trees = {m: ast.parse(p.read_text(), str(p)) for m, p in files.items()}
    defined = {m: {n.id if isinstance(n, ast.Name) else n.name
                   for s in t.body for n in ([s] if not isinstance(s, ast.Assign) else s.targets)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Name))}
               for m, t in trees.items() if m != "__init__"}

    def from_package(name: str) -> str:        # `from deepfovea_nb import name` / `from . import name`
        if name in files: return name
        return next((m for m, names in defined.items() if name in names), "__init__")

    graph = {}
    for mod, tree in trees.items():
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    parts = a.name.split(".")
                    if parts[0] == PKG: deps.add(parts[1] if len(parts) > 1 else "__init__")
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1 or (node.level == 0 and node.module and node.module.split(".")[0] == PKG):
                    parts = (node.module or "").split(".")
                    sub = parts[0] if node.level == 1 else (parts[1] if len(parts) > 1 else None)
                    if sub: deps.add(sub)
                    else: deps.update(from_package(a.name) for a in node.names)
        deps.discard(mod)
        graph[mod] = deps
    return graph


def test_imports_follow_notebook_order():
    ranks, graph = module_ranks(), package_imports()
    orphans = sorted(m for m in graph if m != "__init__" and m not in ranks)
    assert not orphans, f"modules no notebook exports (`#| default_exp`): {orphans}"
    rank = lambda m: ranks[m][0] if m in ranks else -1     # the package's __init__ comes before every notebook
    where = lambda m: ranks[m][1] if m in ranks else f"{PKG}/__init__.py"
    unknown = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps if d not in graph)
    assert not unknown, f"imports of modules that do not exist: {unknown}"
    later = sorted(f"{m} ({where(m)}) imports {d} ({where(d)})"
                   for m, deps in graph.items() for d in deps if rank(d) >= rank(m))
    assert not later, ("a module may import only modules of notebooks that sort before its own "
                       f"(data-flow order): {later}")


def test_no_import_cycles():
    graph, state, stack = package_imports(), {}, []

    def visit(m: str):
        state[m] = "open"; stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open": return stack[stack.index(d):] + [d]
            if d not in state and (cyc := visit(d)): return cyc
        state[m] = "done"; stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (cyc := visit(m)):
            raise AssertionError(f"import cycle: {' -> '.join(cyc)}")


# ---------------------------------------------------------------- lint and line length
def test_ruff_passes():
    ruff = BIN / "ruff"
    assert ruff.exists(), f"ruff is not installed next to {sys.executable} (a dev requirement)"
    r = subprocess.run([str(ruff), "check", "--no-cache", "--config", str(ROOT / "ruff.toml"),
                        PKG, "tests", "tools", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"ruff check failed:\n{r.stdout[-6000:]}{r.stderr[-2000:]}"


def test_notebook_code_lines_fit():
    long = [f"{nb.name}:cell {i}:line {j} ({len(line)} chars)"
            for nb in _notebooks() for i, src in enumerate(_code_cells(nb))
            for j, line in enumerate(src.splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, f"notebook code lines longer than {MAX_LINE} characters (cell = n-th code cell, from 0): {long}"


# ---------------------------------------------------------------- console scripts
def test_console_scripts_installed():
    scripts = dict(s.split("=", 1) for s in _cfg().get("console_scripts", "").split())
    assert {"deepfovea-train", "deepfovea-evaluate"} <= set(scripts), f"settings.ini console_scripts: {scripts}"
    for name in ("deepfovea-train", "deepfovea-evaluate"):
        exe = BIN / name
        assert exe.exists(), f"{exe} is missing: reinstall the package (`.venv/bin/pip install -e .`)"
        r = subprocess.run([str(exe), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{name} --help exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        assert "usage" in r.stdout.lower(), f"{name} --help printed no usage:\n{r.stdout[-2000:]}"


def test_public_api_resolves():
    """Every name `from deepfovea_nb import *` promises exists in the module the package says it lives in."""
    import deepfovea_nb
    missing = [n for n in deepfovea_nb.__all__ if not hasattr(deepfovea_nb, n)]
    assert not missing, f"deepfovea_nb.__all__ names that do not resolve: {missing}"
