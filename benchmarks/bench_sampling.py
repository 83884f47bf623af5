"""Benchmark: fovea masks for one 6-frame 192x256 window, torch (deepfovea_nb.sampling) vs a seed-style NumPy loop.

Writes results/bench_sampling.json. Both are timed in the same run, on the same machine; the ratio is what to compare.
"""
import argparse
import json
import math
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from deepfovea_nb.sampling import SEED_FOVEA, DegradeConfig, fixed_gaze, fovea_mask, sample_gaze

ROOT = Path(__file__).resolve().parents[1]
T, H, W = 6, 192, 256
F, MARGIN = SEED_FOVEA, int(DegradeConfig().gaze_margin)   # the seed's density and gaze margin, defined once


def numpy_loop_masks(n_frames: int, h: int, w: int, rng: np.random.Generator, r_in=F.r_inner, r_out=F.r_outer,
                     r_cut=F.r_cut, p_in=F.p_inner, p_out=F.p_outer, margin=MARGIN) -> np.ndarray:
    "Reference in the seed's style: gaze fixed for the window, then every pixel of every frame in Python."
    gx, gy = rng.integers(margin, w - margin), rng.integers(margin, h - margin)
    slope = (p_out - p_in) / (r_out - r_in)
    masks = np.zeros((n_frames, h, w), np.float32)
    for t in range(n_frames):
        for y in range(h):
            for x in range(w):
                d = math.sqrt((x - gx) ** 2 + (y - gy) ** 2)
                if d <= r_in: p = p_in
                elif d <= r_cut: p = p_in + slope * (d - r_in)
                else: p = p_out
                masks[t, y, x] = 1.0 if rng.random() < p else 0.0
    return masks


def numpy_vectorised_masks(n_frames: int, h: int, w: int, rng: np.random.Generator, margin=MARGIN) -> np.ndarray:
    "A vectorised NumPy version, for context (same density as the seed)."
    gx, gy = rng.integers(margin, w - margin), rng.integers(margin, h - margin)
    d = np.hypot(np.arange(w)[None] - gx, np.arange(h)[:, None] - gy)
    slope = (F.p_outer - F.p_inner) / (F.r_outer - F.r_inner)
    p = np.where(d <= F.r_inner, F.p_inner, np.where(d <= F.r_cut, F.p_inner + slope * (d - F.r_inner), F.p_outer))
    return (rng.random((n_frames, h, w)) < p).astype(np.float32)


def torch_masks(gen: torch.Generator) -> torch.Tensor:
    "The package: gaze fixed per window, one vectorised draw for all frames."
    g = sample_gaze((H, W), MARGIN, gen)
    return fovea_mask(fixed_gaze(g, T), (H, W), SEED_FOVEA, gen)


def timeit(fn, repeats: int, warmup: int = 1) -> list:
    for _ in range(warmup): fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50, help="timed runs of the torch and vectorised versions")
    ap.add_argument("--loop-repeats", type=int, default=3, help="timed runs of the per-pixel loop")
    ap.add_argument("--out", default=str(ROOT / "results" / "bench_sampling.json"))
    args = ap.parse_args()

    gen, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    threads = torch.get_num_threads()
    t_torch = timeit(lambda: torch_masks(gen), args.repeats, warmup=3)
    torch.set_num_threads(1)   # on a loaded, shared machine a single thread is often faster: report both
    t_torch1 = timeit(lambda: torch_masks(gen), args.repeats, warmup=3)
    torch.set_num_threads(threads)
    t_vec = timeit(lambda: numpy_vectorised_masks(T, H, W, rng), args.repeats)
    t_loop = timeit(lambda: numpy_loop_masks(T, H, W, rng), args.loop_repeats, warmup=0)
    # sanity: the three produce masks with the same statistics
    frac = dict(torch=float(torch.stack([torch_masks(gen).mean() for _ in range(20)]).mean()),
                numpy_loop=float(numpy_loop_masks(T, H, W, rng).mean()),
                numpy_vectorised=float(np.mean([numpy_vectorised_masks(T, H, W, rng).mean() for _ in range(20)])))

    med = lambda ts: statistics.median(ts) * 1e3
    res = dict(
        benchmark="fovea masks for one window", shape=dict(frames=T, height=H, width=W),
        density=f"seed ({F.p_inner} / line / {F.p_outer}, jump at {F.r_cut:g} px)",
        torch_ms=dict(median=med(t_torch), min=min(t_torch) * 1e3, repeats=args.repeats, threads=threads),
        torch_1thread_ms=dict(median=med(t_torch1), min=min(t_torch1) * 1e3, repeats=args.repeats, threads=1),
        numpy_loop_ms=dict(median=med(t_loop), min=min(t_loop) * 1e3, repeats=args.loop_repeats),
        numpy_vectorised_ms=dict(median=med(t_vec), min=min(t_vec) * 1e3, repeats=args.repeats),
        speedup_torch_vs_numpy_loop=med(t_loop) / med(t_torch),
        speedup_torch_1thread_vs_numpy_loop=med(t_loop) / med(t_torch1),
        speedup_torch_vs_numpy_vectorised=med(t_vec) / med(t_torch),
        kept_fraction=frac,
        torch_version=torch.__version__, numpy_version=np.__version__, torch_threads=threads,
        device="cpu", cpu_count=os.cpu_count(), load_average=list(os.getloadavg()), platform=platform.platform(),
        python=platform.python_version(), timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"masks {T}x{H}x{W}: torch {res['torch_ms']['median']:.2f} ms ({threads} threads), "
          f"{res['torch_1thread_ms']['median']:.2f} ms (1 thread); "
          f"numpy per-pixel loop {res['numpy_loop_ms']['median']:.0f} ms ({res['speedup_torch_vs_numpy_loop']:.0f}x / "
          f"{res['speedup_torch_1thread_vs_numpy_loop']:.0f}x); "
          f"numpy vectorised {res['numpy_vectorised_ms']['median']:.2f} ms; "
          f"load={res['load_average'][0]:.1f} → {args.out}")


if __name__ == "__main__":
    main()
