"""Demo: run the sampling notebook on a real clip with papermill and write its figures to results/demo/.

Usage: python tools/demo.py [--clip VIDEO_OR_FRAME_FOLDER] [--out results/demo]
Later issues extend this with training and evaluation.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=None, help="video file, folder of frames or REDS root (default: the demo clip cockatoo.mp4)")
    ap.add_argument("--out", default=str(ROOT / "results" / "demo"), help="where the executed notebook and figures go")
    args = ap.parse_args(argv)

    import papermill as pm
    from deepfovea_nb.frames import resolve_clip

    clip = resolve_clip(args.clip).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    print(f"demo: clip {clip}")
    pm.execute_notebook(str(ROOT / "nbs" / "00_sampling.ipynb"), str(out / "00_sampling.ipynb"),
                        parameters=dict(clip=str(clip), out_dir=str(out)), kernel_name="python3",
                        cwd=str(ROOT / "nbs"), progress_bar=False, execution_timeout=600)
    figs = sorted(out.glob("sampling_*.png"))
    print(f"demo: sampling notebook ran in {time.time() - t0:.0f}s; executed notebook {out / '00_sampling.ipynb'}")
    for f in figs: print(f"demo: figure {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
