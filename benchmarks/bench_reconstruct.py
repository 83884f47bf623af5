"""Benchmark: deepfovea-reconstruct's whole streaming pipeline on the CPU, frames/s and where the time goes.

Decode -> degrade -> model -> encode (+ metrics, compose) on synthetic H.264 videos, at the shipped model's resolution
(128x256 labels from a 32x64 input) and at the seed's 192x256 -> 768x1024, with the shipped model
(results/pretrained/model.pt) or, without it, a randomly initialised generator of the same architecture (the `cpu`
preset: same cost), in both layouts (`recon`: the reconstruction alone; `side`: input | reconstruction | truth).
The overhead outside the model is reported per run as a fraction of the model's time: the streaming pipeline
(decode, cut detection, degrade, compose, encode), the fixed start-up (loading, opening; the rest of the wall
time) and the per-frame metrics (optional: `--no-metrics`). `encode_video` with the x264 presets `veryfast` (its
default) and `superfast` is timed on the same frames (time and bytes). Then the peak RSS of a 100-frame and a
1000-frame video of the same small size, each in a fresh process: streaming keeps it flat. Writes
results/bench_reconstruct.json.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from deepfovea_nb.checkpoint import FORMAT, atomic_save, build_generator
from deepfovea_nb.config import config_to_dict, make_config
from deepfovea_nb.reconstruct import PRETRAINED, encode_video, reconstruct

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("decode", "cuts", "degrade", "model", "encode", "metrics", "compose")
PIPELINE = ("decode", "cuts", "degrade", "compose", "encode")  # what a reconstruction cannot skip, besides the model
TARGET = 0.2                                           # issue 13: the pipeline's overhead <= 20% of the model's time
RSS = """
import sys, torch
torch.set_num_threads(int(sys.argv[4]))
from deepfovea_nb.reconstruct import reconstruct
reconstruct(sys.argv[1], sys.argv[2], sys.argv[3], frame_scale=1.0, progress=False)
# VmHWM, this process's own peak: ru_maxrss survives exec and would start at the parent's peak
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def synthetic(n: int, h: int, w: int):
    "`n` frames (3, h, w) of smooth colour patterns drifting across the frame."
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    for t in range(n):
        p = 0.2 * t
        yield torch.stack([0.5 + 0.4 * torch.sin(9 * xx + p), 0.5 + 0.4 * torch.cos(7 * yy - p),
                           0.5 + 0.3 * torch.sin(5 * (xx + yy) + 2 * p)]) * (0.8 + 0.2 * torch.sin(31 * xx * yy))


def make_clip(folder: Path, n: int, h: int, w: int) -> Path:
    "A synthetic H.264 clip of `n` frames of h x w (the video a run decodes)."
    path = folder / f"clip_{n}x{h}x{w}.mp4"
    if not path.exists(): encode_video(synthetic(n, h, w), path, 24)
    return path


def model_checkpoint(folder: Path, path: str | None) -> tuple[Path, str]:
    "The checkpoint to time: `path`, the shipped model, or a random `cpu`-preset generator (same architecture)."
    if path: return Path(path), "given"
    if PRETRAINED.is_file(): return PRETRAINED, "shipped model"
    cfg = make_config("cpu")
    torch.manual_seed(0)
    G = build_generator(cfg)
    ck = atomic_save({"config": config_to_dict(cfg), "G": G.state_dict(), "step": 0, "format": FORMAT},
                     folder / "random_cpu.pt")
    return ck, "random weights, cpu preset architecture (no results/pretrained/model.pt)"


def time_run(clip: Path, ckpt: Path, folder: Path, layout: str, warmup: int) -> dict:
    "One whole reconstruction of `clip` (after `warmup` frames' warm-up run): frames/s and seconds per stage."
    if warmup: reconstruct(clip, folder / "warm.mp4", ckpt, frame_scale=1.0, max_frames=warmup, progress=False)
    s = reconstruct(clip, folder / "out.mp4", ckpt, layout=layout, frame_scale=1.0, progress=False)
    sec, n = s["seconds"], s["frames"]
    other = sec["total"] - sum(sec.get(k, 0.0) for k in STAGES)
    pipe, model = sum(sec.get(k, 0.0) for k in PIPELINE), sec["model"]
    overhead = {"pipeline": pipe / model, "start_up": other / model, "metrics": sec.get("metrics", 0.0) / model}
    return dict(frames=n, source_size=s["source_size"], label_size=s["frame_size"], layout=layout,
                frames_per_second=s["frames_per_second"], seconds_total=sec["total"],
                seconds={k: sec.get(k, 0.0) for k in STAGES} | {"other": other},
                ms_per_frame={k: 1e3 * sec.get(k, 0.0) / n for k in STAGES},
                share={k: sec.get(k, 0.0) / sec["total"] for k in STAGES}, overhead_vs_model=overhead,
                pipeline_overhead_target=TARGET, pipeline_overhead_met=overhead["pipeline"] <= TARGET,
                codec=s["codec"], psnr=s.get("psnr"))


def x264_presets(h: int, w: int, n: int = 48, presets=("veryfast", "superfast")) -> dict:
    "ms/frame and bytes of `encode_video` (H.264, constant quality 18) per x264 preset, the same frames h x w."
    frames, out = list(synthetic(n, h, w)), {}
    with tempfile.TemporaryDirectory() as d:
        for preset in presets:
            path = Path(d) / f"{preset}.mp4"
            t0 = time.perf_counter()
            encode_video(frames, path, 24, "libx264", crf=18, x264_preset=preset)
            out[preset] = {"ms_per_frame": 1e3 * (time.perf_counter() - t0) / n, "bytes": path.stat().st_size}
    return {"size": [h, w], "frames": n, **out}


def peak_rss(clip: Path, ckpt: Path, folder: Path, threads: int) -> int:
    "Peak RSS (KiB) of a fresh process reconstructing `clip` with `ckpt`."
    r = subprocess.run([sys.executable, "-c", RSS, str(clip), str(folder / "rss.mp4"), str(ckpt), str(threads)],
                       capture_output=True, text=True, check=False)
    if r.returncode: raise RuntimeError(f"RSS run failed:\n{r.stderr[-3000:]}")
    return int(r.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="checkpoint to time (default: the shipped model, else random weights)")
    ap.add_argument("--frames", type=int, default=120, help="frames of the 128x256 video")
    ap.add_argument("--frames-large", type=int, default=24, help="frames of the 768x1024 video")
    ap.add_argument("--size", type=int, nargs=2, default=(128, 256), help="H W of the first video (the labels)")
    ap.add_argument("--large-size", type=int, nargs=2, default=(768, 1024), help="H W of the large video")
    ap.add_argument("--rss-frames", type=int, nargs=2, default=(100, 1000), help="the short and the long video")
    ap.add_argument("--rss-size", type=int, nargs=2, default=(64, 128), help="H W of the RSS videos")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", default=str(ROOT / "results" / "bench_reconstruct.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench-reconstruct-") as tmp:
        tmp = Path(tmp)
        ckpt, which = model_checkpoint(tmp, args.checkpoint)
        runs = {}
        (h0, w0), (h1, w1) = args.size, args.large_size
        sizes = {f"{h0}x{w0}": (args.frames, h0, w0), f"{h1}x{w1}": (args.frames_large, h1, w1)}
        for size, (n, h, w) in sizes.items():
            clip = make_clip(tmp, n, h, w)
            for layout in ("recon", "side"):
                name = f"{size} {layout}"
                runs[name] = r = time_run(clip, ckpt, tmp, layout, warmup=min(6, n))
                o = r["overhead_vs_model"]
                print(f"{name}: {r['frames']} frames at {r['frames_per_second']:.2f} frames/s; ms/frame "
                      + ", ".join(f"{k} {v:.1f}" for k, v in r["ms_per_frame"].items())
                      + f"; overhead / model: pipeline {o['pipeline']:.0%}, start-up {o['start_up']:.0%}, "
                      f"metrics {o['metrics']:.0%}", flush=True)
        encoders = {k: x264_presets(h0, k * w0) for k in (1, 3)}
        for k, e in encoders.items():
            print(f"x264 at {h0}x{k * w0}: " + ", ".join(f"{p} {e[p]['ms_per_frame']:.2f} ms/frame {e[p]['bytes']} B"
                                                          for p in ("veryfast", "superfast")), flush=True)
        short, long = args.rss_frames
        h, w = args.rss_size
        rss = {str(n): peak_rss(make_clip(tmp, n, h, w), ckpt, tmp, args.threads) for n in (short, long)}
        print(f"peak RSS {h}x{w}: {short} frames {rss[str(short)] / 1024:.0f} MiB, {long} frames "
              f"{rss[str(long)] / 1024:.0f} MiB", flush=True)

    res = dict(
        benchmark="deepfovea-reconstruct streaming pipeline (decode, degrade, model, encode) on the CPU",
        model=which, checkpoint=str(ckpt) if args.checkpoint or which == "shipped model" else None,
        runs=runs, x264_presets=list(encoders.values()), peak_rss_kib={"size": [h, w], **rss},
        peak_rss_ratio=rss[str(long)] / rss[str(short)],
        this_process_peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        torch_version=torch.__version__, torch_threads=args.threads, device="cpu", cpu_count=os.cpu_count(),
        load_average=list(os.getloadavg()), platform=platform.platform(), python=platform.python_version(),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"peak RSS ratio {long}/{short} frames: {res['peak_rss_ratio']:.3f}; load={res['load_average'][0]:.1f} "
          f"-> {args.out}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
