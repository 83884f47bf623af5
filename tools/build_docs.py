"""Build the rendered notebook docs into _docs/ (Sphinx + MyST-NB; see docs/README.md).

Steps: (1) get an executed copy of every notebook in nbs/: the build cache (.cache/docs/, keyed on the
notebook and package sources), else an executed copy under results/ whose code matches the notebook
exactly (e.g. results/demo/00b_sampling.ipynb from `make demo`), else execute it here (nbclient, one
process per notebook, a time budget per notebook; `#| slow`, `#| cuda` without CUDA and `#| eval: false`
cells are skipped as nbdev_test does); (2) turn nbdev's `#|` directives into MyST-NB cell tags in a
staging copy (build/docs_src/); (3) pre-render the sampling sliders (tools/render_sliders.py);
(4) sphinx-build into _docs/. The notebooks in nbs/ stay the only source and are never modified. Files a page
links rather than embeds (the demo's reconstruction video and its poster, results/demo/reconstruction.webm and .jpg)
are copied into the site's _static/demo/, where the index page's <video> finds them.

Usage: python tools/build_docs.py [--execute all|none|NAME,NAME] [--timeout 600] [--if-stale] [--strict]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
OUT = ROOT / "_docs"
STAGE = ROOT / "build" / "docs_src"
DOCTREES = ROOT / "build" / "docs_doctrees"
CACHE = ROOT / ".cache" / "docs"
RESULTS = ROOT / "results"
INFO = OUT / ".build-info.json"
SKIP_FLAGS = ("slow", "cuda")          # settings.ini tst_flags: cells run only when the flag is given
SLIDERS_PAGE = "00b_sampling"          # the notebook whose slider cell (`interactive(`) gets the pre-rendered sliders
DEMO_MEDIA = ("reconstruction.webm", "reconstruction.jpg")   # results/demo/ -> _static/demo/ (nbs/index.ipynb)
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+):?\s*(.*?)\s*$")


def log(msg: str) -> None:
    print(f"build_docs: {msg}", flush=True)


# ---------------------------------------------------------------- notebooks and their directives
def notebooks() -> list[Path]:
    "nbs/*.ipynb in docs order: index first, then the numbered notebooks by file name (the data-flow order)."
    nbs = sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))
    return sorted(nbs, key=lambda p: (p.stem != "index", p.name))


def split_directives(src: str) -> tuple[dict, str]:
    "Leading nbdev `#| name value` lines of a code cell as a dict, and the rest of the source."
    lines, dirs = src.splitlines(), {}
    while lines and (m := _DIRECTIVE.match(lines[0])):
        dirs[m.group(1)] = m.group(2)
        lines.pop(0)
    return dirs, "\n".join(lines).strip("\n")


def run_flags() -> set[str]:
    "The tst_flags this build runs: `cuda` where CUDA is present (as tests/test_notebooks.py)."
    try:
        import torch
        return {"cuda"} if torch.cuda.is_available() else set()
    except Exception:
        return set()


def load(p: Path) -> dict:
    return json.loads(p.read_text())


def code_signature(nb: dict) -> list[str]:
    "The code a notebook runs, for matching an executed copy to its source (papermill's injected cell left out)."
    return [("".join(c["source"]) if isinstance(c["source"], list) else c["source"]).strip()
            for c in nb["cells"]
            if c["cell_type"] == "code" and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


def has_errors(nb: dict) -> bool:
    return any(o.get("output_type") == "error"
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


def executed(nb: dict) -> bool:
    return any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


# ---------------------------------------------------------------- hashing and the cache
def _hash_files(paths, h=None):
    h = h or hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT)).encode()); h.update(p.read_bytes())
    return h


def package_hash() -> str:
    "What an executed notebook depends on besides itself: the package and the pins."
    files = list((ROOT / "deepfovea_nb").glob("*.py")) + [ROOT / "settings.ini"]
    return _hash_files(files).hexdigest()[:16]


def results_hash() -> str:
    "Names, sizes and times of results/ (screenshots under results/docs/ left out): the index page reads them."
    h = hashlib.sha256()
    for p in sorted(RESULTS.rglob("*")) if RESULTS.is_dir() else []:
        if p.is_file() and "docs" not in p.relative_to(RESULTS).parts[:1]:
            st = p.stat(); h.update(f"{p.relative_to(ROOT)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cache_key(nb_path: Path, flags: set[str]) -> str:
    h = _hash_files([nb_path])
    h.update(package_hash().encode()); h.update(",".join(sorted(flags)).encode())
    if nb_path.stem == "index": h.update(results_hash().encode())
    return h.hexdigest()[:20]


def input_hash(args) -> str:
    "Everything the site depends on: a build with the same hash is fresh (`--if-stale`)."
    files = notebooks() + [ROOT / "docs" / "conf.py", ROOT / "docs" / "favicon.svg", Path(__file__).resolve(),
                           ROOT / "tools" / "render_sliders.py"]
    h = _hash_files(files)
    h.update(package_hash().encode()); h.update(results_hash().encode())
    h.update(f"{args.clip}|{sorted(run_flags())}".encode())
    return h.hexdigest()[:20]


def reusable_copy(nb_path: Path) -> Path | None:
    "An executed copy under results/ (not results/docs/) whose code equals the notebook's, newest first."
    want = code_signature(load(nb_path))
    cands = ([p for p in RESULTS.rglob(nb_path.name) if "docs" not in p.relative_to(RESULTS).parts[:1]]
             if RESULTS.is_dir() else [])
    for p in sorted(cands, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            nb = load(p)
        except (OSError, ValueError):
            continue
        if code_signature(nb) == want and executed(nb) and not has_errors(nb):
            return p
    return None


# ---------------------------------------------------------------- execution (one child process per notebook)
def _exec_child(src: str, dst: str, seconds: float, flags: list[str]) -> int:
    "Child process: execute `src` into `dst` with nbclient within `seconds` (the whole notebook)."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    nb = nbformat.read(src, as_version=4)
    for c in nb.cells:
        if c.cell_type != "code": continue
        dirs, _ = split_directives(c.source)
        skip = dirs.get("eval", "").lower() == "false" or any(f in dirs and f not in flags for f in SKIP_FLAGS)
        if skip: c.metadata.setdefault("tags", []).append("skip-execution")
    deadline = time.time() + seconds
    client = NotebookClient(nb, kernel_name="python3", timeout_func=lambda cell: max(5, int(deadline - time.time())),
                            allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(NBS)}})
    rc = 0
    try:
        client.execute()
    except CellTimeoutError:
        rc = 3; print(f"timed out: the notebook ran past its {seconds:.0f}s budget", file=sys.stderr)
    except CellExecutionError as e:
        rc = 2
        print(f"cell failed: {getattr(e, 'ename', '')}: {str(getattr(e, 'evalue', e))[:300]}", file=sys.stderr)
    for c in nb.cells:  # leave no execution tags behind
        if "skip-execution" in c.metadata.get("tags", []): c.metadata.tags.remove("skip-execution")
    nbformat.write(nb, dst)
    return rc


def execute(nb_path: Path, dst: Path, seconds: float, flags: set[str]) -> tuple[bool, str]:
    "Execute one notebook in a child process; (ok, message). A backstop kill follows the child's own deadline."
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_exec", str(nb_path), str(dst), str(seconds),
           ",".join(sorted(flags))]
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=NBS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL); p.communicate()
        return False, f"killed after {time.time() - t0:.0f}s (budget {seconds:.0f}s)"
    if p.returncode == 0: return True, f"executed in {time.time() - t0:.0f}s"
    lines = [l for l in err.strip().splitlines() if l.strip()]
    return False, (lines[-1] if lines else f"exit code {p.returncode}")[:300]


# ---------------------------------------------------------------- nbdev notebook -> MyST-NB page
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SLIDERS_HTML = """```{raw} html
<div class="sliders-embed">
<p><strong>Pre-rendered sliders</strong> (no kernel needed; open <a href="_static/sliders/index.html">full page</a>):
drag the density parameters and the gaze to swap masks drawn beforehand with the functions above.</p>
<iframe src="_static/sliders/index.html" title="pre-rendered sampling sliders"
 style="width:100%;height:440px;border:1px solid #ccc" loading="lazy"></iframe>
</div>
```"""


def _md(src: str) -> dict:
    return {"cell_type": "markdown", "id": "docs-" + hashlib.sha256(src.encode()).hexdigest()[:10], "metadata": {},
            "source": src}


def _strip_widgets(outputs: list) -> list:
    "Widget views need a kernel (or CDN scripts): drop them, and the bare text repr of a widget."
    kept = []
    for o in outputs:
        data = o.get("data")
        if data and WIDGET_MIME in data:
            data = {k: v for k, v in data.items() if k != WIDGET_MIME}
            txt = "".join(data.get("text/plain", ""))
            if set(data) <= {"text/plain"} and re.match(r"^(interactive|[A-Z]\w*)\(", txt): continue
            o = dict(o, data=data)
        kept.append(o)
    return kept


def to_page(nb: dict, name: str, note: str | None, all_names: list[str]) -> dict:
    "The staged page: nbdev directives as MyST-NB tags, no widget views, a status note, the index's toctree."
    cells = []
    for c in nb["cells"]:
        c = dict(c, metadata=dict(c.get("metadata", {})))
        c["source"] = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] != "code":
            cells.append(c); continue
        if "injected-parameters" in c["metadata"].get("tags", []): continue   # papermill's copy of the parameters
        dirs, body = split_directives(c["source"])
        tags = [t for t in c["metadata"].get("tags", []) if t != "parameters"]
        if "hide" in dirs or "default_exp" in dirs or "exporti" in dirs or not (body or c.get("outputs")): continue
        if dirs.get("echo", "").lower() == "false": tags.append("remove-input")
        if dirs.get("output", "").lower() == "false": tags.append("remove-output")
        c["source"], c["outputs"] = body, _strip_widgets(c.get("outputs", []))
        c["metadata"] = {"tags": tags} if tags else {}
        cells.append(c)
        if name == SLIDERS_PAGE and "interactive(" in body: cells.append(_md(SLIDERS_HTML))
    if note:
        first = next((i for i, c in enumerate(cells)
                      if c["cell_type"] == "markdown" and c["source"].lstrip().startswith("# ")), -1)
        cells.insert(first + 1, _md(f":::{{note}}\n{note}\n:::"))
    if name == "index":
        pages = "\n".join(n for n in all_names if n != "index")       # file-name order: the data-flow order
        cells.append(_md("```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + pages + "\n```"))
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("widgets", "papermill")}
    meta["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    meta.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


# ---------------------------------------------------------------- the build
def wanted(args, name: str) -> bool:
    "Whether this build may execute `name` (else: cache, results/ copy, or rendered without outputs)."
    if args.execute == "all": return True
    if args.execute == "none": return False
    return name in {s.strip() for s in args.execute.split(",")}


def get_executed(nb_path: Path, args, flags: set[str]) -> tuple[dict, str, str | None]:
    "(notebook, how it was obtained, note for the page or None)."
    name = nb_path.stem
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{name}-{cache_key(nb_path, flags)}.ipynb"
    if cached.exists() and not args.force: return load(cached), "cache", None
    if name != "index" and not args.force and (copy := reusable_copy(nb_path)):
        return load(copy), f"reused {copy.relative_to(ROOT)}", None
    if not wanted(args, name):
        return load(nb_path), "not executed", ("This page is rendered without outputs: this docs build did not "
                                                "execute it (`make docs` executes every notebook).")
    tmp = cached.with_suffix(".ipynb.tmp")
    ok, msg = execute(nb_path, tmp, args.timeout, flags)
    nb = load(tmp) if tmp.exists() else load(nb_path)
    if ok:
        for old in CACHE.glob(f"{name}-*.ipynb"): old.unlink()
        tmp.replace(cached)
        return nb, msg, None
    tmp.unlink(missing_ok=True)
    return nb, f"FAILED: {msg}", (f"The docs build could not execute this notebook ({msg.splitlines()[0][:200]}); "
                                  "outputs are shown up to where it stopped. Run it in JupyterLab or with "
                                  f"`pytest tests/test_notebooks.py -k {name}` to see why.")


def stage_static(args) -> None:
    import jupyter_server_mathjax
    static = STAGE / "_static"
    static.mkdir(parents=True, exist_ok=True)
    mj = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(mj, static / "mathjax")
    media = [RESULTS / "demo" / f for f in DEMO_MEDIA if (RESULTS / "demo" / f).is_file()]
    if media: (static / "demo").mkdir()
    for f in media: shutil.copyfile(f, static / "demo" / f.name)     # the file, not its mode (outputs are 0600)
    sys.path.insert(0, str(ROOT / "tools"))
    import render_sliders
    render_sliders.render(static / "sliders", args.clip)


def build(args) -> int:
    t0 = time.time()
    ih = input_hash(args)
    if args.if_stale and INFO.exists():
        info = json.loads(INFO.read_text())
        unexecuted = [n for n, how in info.get("pages", {}).items()
                      if how.startswith("not executed") and wanted(args, n)]
        if info.get("input_hash") == ih and not info.get("failed") and not unexecuted:
            log(f"_docs/ is fresh (inputs {ih}); nothing to do"); return 0
    flags = run_flags()
    nbs = notebooks()
    names = [p.stem for p in nbs]
    if STAGE.exists(): shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    pages, failed = {}, []
    for p in nbs:
        t = time.time()
        nb, how, note = get_executed(p, args, flags)
        if how.startswith("FAILED"): failed.append(p.stem)
        pages[p.stem] = how
        (STAGE / p.name).write_text(json.dumps(to_page(nb, p.stem, note, names), indent=1))
        log(f"{p.name}: {how} ({time.time() - t:.0f}s)")
    for f in ("conf.py", "favicon.svg"): shutil.copy(ROOT / "docs" / f, STAGE / f)
    stage_static(args)
    # MyST-NB writes beside the output folder (../jupyter_execute): build under build/, then move the site to _docs/
    html = ROOT / "build" / "docs_html"
    if html.exists(): shutil.rmtree(html)
    warn = ROOT / "build" / "docs_warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", "-E", "-d", str(DOCTREES), "-w", str(warn),
           str(STAGE), str(html)]
    r = subprocess.run(cmd, cwd=ROOT)
    if r.returncode != 0:
        log(f"sphinx-build failed (exit {r.returncode}); warnings in {warn}"); return r.returncode
    if OUT.exists(): shutil.rmtree(OUT)
    shutil.move(str(html), str(OUT))
    OUT.joinpath(".nojekyll").touch()
    info = dict(input_hash=ih, pages=pages, failed=failed, seconds=round(time.time() - t0, 1), execute=args.execute)
    INFO.write_text(json.dumps(info, indent=1))
    nwarn = len([l for l in warn.read_text().splitlines() if "WARNING" in l]) if warn.exists() else 0
    log(f"site in {OUT.relative_to(ROOT)}/index.html ({time.time() - t0:.0f}s, {nwarn} Sphinx warnings in "
        f"{warn.relative_to(ROOT)})")
    if failed:
        log(f"not executed because of errors: {', '.join(failed)}")
        return 1 if args.strict else 0
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_exec"]:
        return _exec_child(argv[1], argv[2], float(argv[3]), [f for f in argv[4].split(",") if f])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--execute", default="all",
                    help="which notebooks this build may execute: all, none, or names like index,00b_sampling "
                         "(others come from the cache or results/, else render without outputs)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("DOCS_NB_TIMEOUT_S", 600)),
                    help="seconds per notebook")
    ap.add_argument("--force", action="store_true", help="execute again, ignoring the cache and results/ copies")
    ap.add_argument("--if-stale", action="store_true", help="do nothing when _docs/ was built from the same inputs")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a notebook fails to execute")
    ap.add_argument("--clip", default=None, help="clip for the pre-rendered sliders (default: the demo clip)")
    return build(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
