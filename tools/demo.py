"""Demo (the README's main job): sampling figures, a short CPU training run and its evaluation, on a real clip.

Usage: python tools/demo.py [--clip VIDEO_OR_FRAME_FOLDER] [--out results/demo] [--steps N] [--resume]
Runs nbs/00b_sampling, nbs/05_train (preset "demo") and nbs/06_evaluate through papermill; the executed
notebooks, figures, logs, checkpoints and metrics land under --out, and README's results section is
regenerated from them (tools/readme_results.py).
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _papermill(nb: str, out: Path, **params) -> float:
    import papermill as pm
    t0 = time.time()
    print(f"demo: running {nb} ...", flush=True)
    pm.execute_notebook(str(ROOT / "nbs" / nb), str(out / nb), parameters=params, kernel_name="python3",
                        cwd=str(ROOT / "nbs"), progress_bar=False, log_output=False, execution_timeout=1800)
    dt = time.time() - t0
    print(f"demo: {nb} done in {dt:.0f}s -> {out / nb}", flush=True)
    return dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=None,
                    help="video file, folder of frames or REDS root (default: the demo clip cockatoo.mp4)")
    ap.add_argument("--out", default=str(ROOT / "results" / "demo"), help="where notebooks, figures and metrics go")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the demo preset's)")
    ap.add_argument("--resume", action="store_true", help="continue the previous demo run instead of starting afresh")
    args = ap.parse_args(argv)

    from deepfovea_nb.frames import resolve_clip

    clip = resolve_clip(args.clip).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    train_dir = out / "train"
    if train_dir.exists() and not args.resume: shutil.rmtree(train_dir)   # the demo's own run: start afresh
    print(f"demo: clip {clip}")
    times = {"00b_sampling": _papermill("00b_sampling.ipynb", out, clip=str(clip), out_dir=str(out))}
    times["05_train"] = _papermill("05_train.ipynb", out, preset="demo", data=str(clip), out_dir=str(train_dir),
                                   steps=args.steps, resume="auto" if args.resume else None)
    times["06_evaluate"] = _papermill("06_evaluate.ipynb", out, run_dir=str(train_dir), out_dir=str(out),
                                      data=str(clip))
    if out == (ROOT / "results" / "demo").resolve():
        import runpy
        runpy.run_path(str(ROOT / "tools" / "readme_results.py"), run_name="__main__")
    print("demo: " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
    print(f"demo: metrics {out / 'metrics.md'}\n" + (out / "metrics.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
