"""Demo (the README's main job): sampling figures, a short CPU training run and its evaluation, on a real clip.

Usage: python tools/demo.py [--clip VIDEO_OR_FRAME_FOLDER] [--out results/demo] [--steps N] [--resume | --overwrite]
Runs nbs/00b_sampling, nbs/05_train (preset "demo") and nbs/06_evaluate through papermill; the executed
notebooks, figures, logs, checkpoints and metrics land under --out, and README's results section is
regenerated from them (tools/readme_results.py).

What it may write and delete: it never deletes anything it did not write. Before writing anything it checks
- --out: a new or empty folder, one a previous demo wrote (it holds demo.json), or the repository's results/demo;
  any other folder is refused (a careless --out ~/thesis must not get its files overwritten);
- OUT/train, the training run: if it holds a run, --resume continues it, --overwrite replaces it but only if its
  run.json says tools/demo.py made it (a run of deepfovea-train or of the notebook is never deleted; a run being
  trained is never deleted either: its lock is taken first), and without either flag the demo stops and says so.
`make demo` passes --overwrite: rerunning the README's main job regenerates the demo's own results.
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "results" / "demo"
MADE_BY = "tools/demo.py"       # recorded in the training run's run.json (the notebook's `made_by` parameter)
MARKER = "demo.json"            # written in --out: a later demo may write there again


class Refused(Exception):
    "The demo would overwrite or delete something it did not write; nothing was changed."


def _papermill(nb: str, out: Path, **params) -> float:
    import papermill as pm
    t0 = time.time()
    print(f"demo: running {nb} ...", flush=True)
    pm.execute_notebook(str(ROOT / "nbs" / nb), str(out / nb), parameters=params, kernel_name="python3",
                        cwd=str(ROOT / "nbs"), progress_bar=False, log_output=False, execution_timeout=1800)
    dt = time.time() - t0
    print(f"demo: {nb} done in {dt:.0f}s -> {out / nb}", flush=True)
    return dt


def _made_by(run_dir: Path) -> str | None:
    "Who made the run in `run_dir`, according to its run.json (None if it does not say or cannot be read)."
    try: info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError): return None
    return info.get("made_by") if isinstance(info, dict) else None


def claim(out: Path, resume: bool = False, overwrite: bool = False) -> Path:
    "Check that the demo may write into `out` (see the docstring at the top); with `overwrite`, remove its old run."
    from deepfovea_nb.checkpoint import RunInUseError, RunLock
    train_dir = out / "train"
    if out.exists() and not out.is_dir(): raise Refused(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and out != DEFAULT_OUT.resolve() and not (out / MARKER).exists():
        raise Refused(f"--out {out} is not empty and was not written by tools/demo.py (it has no {MARKER}); "
                      "choose a new or empty folder (nothing was changed)")
    if train_dir.is_dir() and any(train_dir.iterdir()) and not resume:
        if not overwrite:
            raise Refused(f"{train_dir} holds a previous run: pass --resume to continue it, --overwrite to replace it "
                          "(only a run tools/demo.py made), or choose a new --out (nothing was changed)")
        who = _made_by(train_dir)
        if who != MADE_BY:
            raise Refused(f"{train_dir} holds a run that tools/demo.py did not make (its run.json says made_by="
                          f"{who!r}); --overwrite only replaces the demo's own runs: move it away or choose another "
                          "--out (nothing was changed)")
        try:
            with RunLock(train_dir): shutil.rmtree(train_dir)      # never under a run that is training
        except RunInUseError as e: raise Refused(str(e)) from None
        print(f"demo: removed the previous demo run {train_dir}")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).exists():
        (out / MARKER).write_text(json.dumps({"made_by": MADE_BY, "note": "a later tools/demo.py may write here"}))
    return train_dir


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=None,
                    help="video file, folder of frames or REDS root (default, or empty: the demo clip cockatoo.mp4)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="where notebooks, figures and metrics go")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the demo preset's)")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true", help="continue the run in OUT/train")
    how.add_argument("--overwrite", action="store_true",
                     help="replace the previous demo run in OUT/train (never a run tools/demo.py did not make)")
    args = ap.parse_args(argv)

    from deepfovea_nb.frames import resolve_clip

    out = Path(args.out).resolve()
    try: train_dir = claim(out, args.resume, args.overwrite)
    except Refused as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    clip = resolve_clip(args.clip or None).resolve()
    print(f"demo: clip {clip}")
    times = {"00b_sampling": _papermill("00b_sampling.ipynb", out, clip=str(clip), out_dir=str(out))}
    times["05_train"] = _papermill("05_train.ipynb", out, preset="demo", data=str(clip), out_dir=str(train_dir),
                                   steps=args.steps, resume="auto" if args.resume else None, made_by=MADE_BY)
    times["06_evaluate"] = _papermill("06_evaluate.ipynb", out, run_dir=str(train_dir), out_dir=str(out),
                                      data=str(clip))
    if out == DEFAULT_OUT.resolve():
        import runpy
        runpy.run_path(str(ROOT / "tools" / "readme_results.py"), run_name="__main__")
    print("demo: " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
    print(f"demo: metrics {out / 'metrics.md'}\n" + (out / "metrics.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
