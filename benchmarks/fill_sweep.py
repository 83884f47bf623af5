"""Classical fills on real clips: the spatio-temporal push-pull's decay, with and without keeping the current sample.

Scores every (keep, decay) variant of `sampling.classical_fill` (and single-frame push-pull and unmasked bicubic, for
reference) on the first windows of every shot of the `cpu` preset's training clips and, separately, its validation
clips, degraded by `evaluate.clip_windows` as the evaluation degrades them (same seed, masks and gaze). PSNR over
valid pixels, also in the fovea band (< 20 label px from the gaze) and the periphery; per video (shots averaged), then
the mean over videos. This is where `FILLS["st_push_pull_keep"]`'s decay was chosen (on the training clips).
Writes results/fill_sweep.json and results/fill_sweep.md.
With --stream, the kept-sample fill is also carried from window to window (`sampling.stream_fill`, `stream_keep_<d>`)
over more windows per shot: where `FILLS["st_push_pull_keep_stream"]`'s decay was chosen; writes
results/fill_sweep_stream.json and .md instead.
With --reject, the streamed kept-sample fill with and without history rejection (`reject` sigma, `reject_px` p:
`stream_reject_<d>_<sigma>_<p>`) over the first 8 windows of every shot: where
`FILLS["st_push_pull_keep_stream_reject"]`'s settings were chosen (on the training clips); writes
results/fill_sweep_reject.json and .md.
Usage: python benchmarks/fill_sweep.py [--windows 2] [--decays 0.5 0.75 0.9]
       python benchmarks/fill_sweep.py --stream --windows 8 --decays 0.5 0.75 0.85 0.9 0.95
       python benchmarks/fill_sweep.py --reject
"""
import argparse
import datetime
import json
import math
import platform
from pathlib import Path

import torch

from deepfovea_nb.config import make_config
from deepfovea_nb.evaluate import FOVEA_PX, clip_windows, label_gaze
from deepfovea_nb.metrics import psnr, psnr_by_eccentricity
from deepfovea_nb.pipeline import open_videos
from deepfovea_nb.sampling import classical_fill, stream_fill, upsample

ROOT = Path(__file__).resolve().parents[1]


def variants(decays: list[float], stream: bool = False) -> dict[str, dict]:
    "name -> classical_fill arguments (with `stream`: 'stream': True for the kept-sample fill carried across windows)."
    out = {"push_pull": {}}
    for keep in (False, True):
        out.update({f"st{'_keep' if keep else ''}_{d:g}": {"temporal": True, "keep": keep, "decay": d} for d in decays})
    if stream: out.update({f"stream_keep_{d:g}": {"keep": True, "decay": d, "stream": True} for d in decays})
    return out


def reject_variants(decays: list[float], rejects: list[float], pxs: list[int]) -> dict[str, dict]:
    "name -> stream_fill arguments: the streamed kept-sample fill at each decay, without and with history rejection."
    out = {"push_pull": {}, **{f"stream_keep_{d:g}": {"keep": True, "decay": d, "stream": True} for d in decays}}
    out.update({f"stream_reject_{d:g}_{r:g}_{p}": {"keep": True, "decay": d, "stream": True, "reject": r,
                                                   "reject_px": p} for d in decays for r in rejects for p in pxs})
    return out


def score_shot(cfg, frames: list, name: str, fills: dict[str, dict], n_windows: int, seed: int = 0) -> dict:
    "name -> (psnr, fovea, periphery) of each fill over the first `n_windows` windows of one shot."
    windows, sums, carries, s = list(clip_windows(cfg, frames, name, n_windows, seed)), {}, {}, cfg.degrade.scale
    n = len(windows)
    for b in windows:
        lr, x, m, label = b["lr"][0], b["input"][0], b["mask"][0], b["label"][0]
        vt = b["valid"][0].expand(label.shape[0], -1, -1, -1)
        gaze_hr = label_gaze(b, s)
        recs = {k: classical_fill(x, m, s, **a) for k, a in fills.items() if not a.get("stream")}
        for k, a in fills.items():
            if a.get("stream"):
                kw = {n: v for n, v in a.items() if n != "stream"}
                recs[k], carries[k] = stream_fill(x, m, carries.get(k), s, **kw)
        recs["unmasked_bicubic"] = upsample(lr, "bicubic", s)
        for k, y in recs.items():
            fov, per = psnr_by_eccentricity(y, label, gaze_hr, (0, FOVEA_PX, math.inf), valid=vt).mean(0).tolist()
            row = (float(psnr(y, label, valid=vt).mean()), fov, per)
            sums[k] = [a + b / n for a, b in zip(sums.get(k, (0, 0, 0)), row)]
    return sums


def sweep(val: bool, fills: dict, n_windows: int) -> dict:
    "Per video (shots averaged) and the mean over videos, of the training (val=False) or validation clips."
    cfg = make_config("cpu")
    vids = {k: v for k, v in open_videos(cfg.data, val=val).items() if len(v) >= cfg.generator.frames}
    shots: dict[str, list] = {}
    for k, frames in vids.items():
        shots.setdefault(k.split("#")[0], []).append(score_shot(cfg, frames, k, fills, n_windows))
        print(f"fill_sweep: {'val' if val else 'train'} {k}", flush=True)
    mean = lambda rows: {m: [sum(r[m][j] for r in rows) / len(rows) for j in range(3)] for m in rows[0]}
    per_video = {v: mean(ss) for v, ss in shots.items()}
    return {"videos": per_video, "shots": {v: len(ss) for v, ss in shots.items()},
            "mean_over_videos": mean(list(per_video.values()))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2, help="windows per shot (of 6 frames)")
    ap.add_argument("--decays", type=float, nargs="+", default=[0.5, 0.75, 0.9])
    ap.add_argument("--stream", action="store_true", help="also the kept-sample fill carried across windows")
    ap.add_argument("--reject", action="store_true", help="the streamed fill with history rejection instead "
                    "(defaults: --windows 8 --decays 0.75 0.85 0.95)")
    ap.add_argument("--rejects", type=float, nargs="+", default=[0.1, 0.2, 0.25, 0.3], help="with --reject: sigmas")
    ap.add_argument("--reject-px", type=int, nargs="+", default=[5, 7, 11], help="with --reject: window sizes")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.reject:
        if a.windows == ap.get_default("windows"): a.windows = 8
        if a.decays == ap.get_default("decays"): a.decays = [0.75, 0.85, 0.95]
        fills, stem = reject_variants(a.decays, a.rejects, a.reject_px), "fill_sweep_reject"
    else: fills, stem = variants(a.decays, a.stream), "fill_sweep_stream" if a.stream else "fill_sweep"
    res = {"what": "PSNR (all, fovea < 20 label px, periphery) of classical fills, mean over videos",
           "windows_per_shot": a.windows, "made": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "machine": platform.platform(), "torch": torch.__version__,
           "train": sweep(False, fills, a.windows), "val": sweep(True, fills, a.windows)}
    (ROOT / "results" / f"{stem}.json").write_text(json.dumps(res, indent=2))
    nums = lambda xs: " ".join(f"{v:g}" for v in xs)
    cmd = (f"python benchmarks/fill_sweep.py {'--reject ' if a.reject else '--stream ' if a.stream else ''}"
           f"--windows {a.windows} --decays {nums(a.decays)}"
           + (f" --rejects {nums(a.rejects)} --reject-px {nums(a.reject_px)}" if a.reject else ""))
    legend = ("`stream_keep_<d>`: the kept-sample spatio-temporal push-pull with decay d carried from each window to "
              "the next; `stream_reject_<d>_<sigma>_<p>`: the same with its history scaled by exp(-(d/sigma)^2) "
              "before each frame, d the p x p mean disagreement of the history's and the frame's push-pull "
              "(`sampling.stream_fill`'s `reject`, `reject_px`)." if a.reject else
              "`st_<d>`: spatio-temporal push-pull, recency-weighted mean with decay d; `st_keep_<d>`: the same, "
              "each pixel's current sample kept" + ("; `stream_keep_<d>`: the same carried from each window to the "
                                                    "next, as a display streaming the video has it." if a.stream
                                                    else "."))
    title = "history rejection" if a.reject else "decay, and keeping the current sample"
    lines = [f"# Classical fills: {title}", "",
             f"`{cmd}`: PSNR in dB over valid pixels, the first {a.windows} windows of every shot, mean over "
             f"videos (shots averaged per video). {legend}", ""]
    for split in ("train", "val"):
        m = res[split]["mean_over_videos"]
        lines += [f"## {split} clips ({', '.join(res[split]['videos'])})", "",
                  "| fill | psnr | fovea | periphery |", "|---|---|---|---|"]
        lines += [f"| {k} | {v[0]:.3f} | {v[1]:.3f} | {v[2]:.3f} |" for k, v in m.items()] + [""]
    (ROOT / "results" / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
