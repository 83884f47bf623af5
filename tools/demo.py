"""Demo (the README's main job): sampling figures, a short CPU training run and its evaluation, on a real clip.

Usage: python tools/demo.py [--clip VIDEO_OR_FRAME_FOLDER] [--out results/demo] [--steps N] [--resume | --overwrite]
Runs nbs/00b_sampling, nbs/05_train (preset "demo") and nbs/06_evaluate through papermill (and 06_evaluate again on
the shipped model results/pretrained/model.pt, into OUT/pretrained); the executed
notebooks, figures, logs, checkpoints and metrics land under --out. Last, a short side-by-side reconstruction of
the clip with a moving gaze (deepfovea-reconstruct: the shipped model, else the st_push_pull classical fill) as
OUT/reconstruction.webm (VP9, at most 2 MB, for the docs' home page), its poster frame reconstruction.jpg and
reconstruction.json (method, checkpoint, gaze, frames, size, bytes, scores); README's results section is then
regenerated (tools/readme_results.py). --video-only renders just that video (no notebook, no training).

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
PRETRAINED = ROOT / "results" / "pretrained" / "model.pt"   # the shipped model (see results/pretrained/README.md)
MARKER = "demo.json"            # written in --out: a later demo may write there again
VIDEO = "reconstruction"        # OUT/reconstruction.webm, .jpg (poster), .json
VIDEO_FRAMES = 64               # the first frames of the clip, at its own rate (3.2 s of the 20 fps demo clip)
VIDEO_MAX_BYTES = 2_000_000     # the docs page embeds it: a short clip, not a download
VIDEO_CRFS = (32, 40, 48, 56)   # VP9 constant quality, tried in turn until the video fits VIDEO_MAX_BYTES


class Refused(Exception):
    "The demo would overwrite or delete something it did not write; nothing was changed."


def _papermill(nb: str, out: Path, name: str | None = None, **params) -> float:
    import papermill as pm
    t0 = time.time()
    print(f"demo: running {nb} ...", flush=True)
    # the notebook's printed output and progress bars reach the terminal as they are written
    pm.execute_notebook(str(ROOT / "nbs" / nb), str(out / (name or nb)), parameters=params, kernel_name="python3",
                        cwd=str(ROOT / "nbs"), progress_bar=False, stdout_file=sys.stdout, stderr_file=sys.stderr,
                        execution_timeout=1800)
    dt = time.time() - t0
    print(f"demo: {nb} done in {dt:.0f}s -> {out / (name or nb)}", flush=True)
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


def video_gaze(hw: tuple[int, int]) -> str:
    "Waypoints (source pixels) of a gaze that sweeps the frame: left, right, down and back, inside a 15% margin."
    H, W = hw
    pts = ((0.15, 0.3), (0.85, 0.3), (0.7, 0.8), (0.25, 0.7), (0.5, 0.45))
    return ":".join(f"{round(x * (W - 1))},{round(y * (H - 1))}" for x, y in pts)


def render_video(clip: Path, out: Path, frames: int = VIDEO_FRAMES, max_bytes: int = VIDEO_MAX_BYTES) -> dict:
    """A short side-by-side reconstruction (sampled input | reconstruction | ground truth) of `clip` with a moving
    gaze into OUT/reconstruction.webm, with its poster frame (.jpg) and a small JSON; the JSON's content."""
    from PIL import Image
    from deepfovea_nb.reconstruct import open_source, read_frames, reconstruct
    model = PRETRAINED.is_file()
    method, ckpt = ("model", PRETRAINED) if model else ("st_push_pull", None)
    src = open_source(clip)
    gaze = video_gaze(src.size)
    video, poster, meta = (out / f"{VIDEO}{ext}" for ext in (".webm", ".jpg", ".json"))
    t0 = time.time()
    for crf in VIDEO_CRFS:            # each try writes the video (and its metrics JSON) whole, or nothing
        s = reconstruct(clip, video, ckpt, method, gaze, layout="side", max_frames=frames, crf=crf, progress=False)
        size = video.stat().st_size
        if size <= max_bytes: break
        print(f"demo: {video.name} is {size / 1e6:.2f} MB at crf {crf}, over {max_bytes / 1e6:g} MB")
    assert size <= max_bytes, f"{video} is {size} bytes even at crf {crf}: lower VIDEO_FRAMES"
    k = s["frames"] // 2              # the poster: the middle frame, as the video shows it
    frame = list(read_frames(open_source(video), k + 1))[-1]
    Image.fromarray((frame * 255).round().byte().permute(1, 2, 0).numpy()).save(poster, quality=90)
    what = ("the shipped model (results/pretrained/model.pt)" if model else
            "the st_push_pull classical fill (no shipped model at results/pretrained/model.pt yet)")
    rel = lambda p: str(Path(p).resolve().relative_to(ROOT)) if Path(p).resolve().is_relative_to(ROOT) else str(p)
    info = json.loads(meta.read_text())
    info.pop("per_frame", None)       # the means stay; the per-frame rows are deepfovea-reconstruct's to keep
    info.update(video=rel(video), poster=rel(poster), metrics=rel(meta), source=rel(info["source"]),
                output=rel(video), checkpoint=ckpt and rel(ckpt), bytes=size, max_bytes=max_bytes,
                size=[int(v) for v in frame.shape[-2:]], seconds_total=round(time.time() - t0, 1),
                caption=f"Left to right: the sampled input, the reconstruction by {what}, the ground truth; the "
                        f"first {s['frames']} frames of {Path(clip).name} ({s['fps']:g} fps), the gaze sweeping "
                        "across the frame (green circle: the fovea, yellow: where the periphery starts).")
    meta.write_text(json.dumps(info, indent=1, allow_nan=False))
    return info


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
    ap.add_argument("--video-only", action="store_true",
                    help=f"only render OUT/{VIDEO}.webm (the reconstruction video of the docs' home page)")
    ap.add_argument("--video-frames", type=int, default=VIDEO_FRAMES, help="frames of that video")
    args = ap.parse_args(argv)

    from deepfovea_nb.frames import resolve_clip

    out = Path(args.out).resolve()
    try: train_dir = claim(out, args.resume or args.video_only, args.overwrite and not args.video_only)
    except Refused as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    clip = resolve_clip(args.clip or None).resolve()
    print(f"demo: clip {clip}")
    if args.video_only:
        v = render_video(clip, out, args.video_frames)
        print(f"demo: video {v['video']} ({v['bytes'] / 1e6:.2f} MB, {v['frames']} frames {v['size'][1]}x"
              f"{v['size'][0]}, {v['method']}), poster {v['poster']}")
        return 0
    times = {"00b_sampling": _papermill("00b_sampling.ipynb", out, clip=str(clip), out_dir=str(out))}
    times["05_train"] = _papermill("05_train.ipynb", out, preset="demo", data=str(clip), out_dir=str(train_dir),
                                   steps=args.steps, resume="auto" if args.resume else None, made_by=MADE_BY)
    times["06_evaluate"] = _papermill("06_evaluate.ipynb", out, run_dir=str(train_dir), out_dir=str(out),
                                      data=str(clip))
    if PRETRAINED.is_file():      # the shipped model on the same clip, next to the same baselines
        times["pretrained"] = _papermill("06_evaluate.ipynb", out, name="06_evaluate_pretrained.ipynb",
                                         run_dir=str(PRETRAINED.parent), checkpoint=str(PRETRAINED),
                                         out_dir=str(out / "pretrained"), data=str(clip))
    else: print(f"demo: no shipped model at {PRETRAINED}; its evaluation is skipped")
    t0 = time.time()
    print(f"demo: rendering the reconstruction video ({args.video_frames} frames, side by side, moving gaze) ...",
          flush=True)
    v = render_video(clip, out, args.video_frames)
    times["video"] = time.time() - t0
    print(f"demo: video {v['video']} ({v['bytes'] / 1e6:.2f} MB <= {v['max_bytes'] / 1e6:g} MB, {v['frames']} frames "
          f"{v['size'][1]}x{v['size'][0]}, {v['method']}{', crf ' + str(v['crf']) if v.get('crf') else ''}), "
          f"poster {v['poster']}")
    if out == DEFAULT_OUT.resolve():
        import runpy
        runpy.run_path(str(ROOT / "tools" / "readme_results.py"), run_name="__main__")
    print("demo: " + ", ".join(f"{k} {v:.0f}s" for k, v in times.items()))
    print(f"demo: metrics {out / 'metrics.md'}\n" + (out / "metrics.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
