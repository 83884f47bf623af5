"""Generator ablation: classical-fill skip on/off, mask channel on/off, F=6 windows vs F=1 recurrence.

Equal steps and data, one run: every variant starts from the same seed and trains the same number of steps on the
same stream of windows and masks (the `cpu` preset's objective and small critics, demo size), on the training clips
of ../shared/data/clips; then `evaluate.evaluate_videos` scores it on the two validation clips next to the baselines.
The F=1 variant is the same generator with `frames=1`: it runs over each 6-frame window one frame at a time, carrying
its recurrent state, so the critics, the flow term and the data are exactly those of the F=6 variants.
Writes results/ablation.json and results/ablation.md.
Usage: python benchmarks/ablation.py [--steps 60] [--train-frames 32] [--val-frames 48] [--dcn grid_sample]
                                    [--threads N] [--variants NAME ...]
"""
import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
TRAIN = ("01_dog.mp4", "02_cups.mp4", "03_blocks.mp4", "04_coffee.mp4", "flower.mp4", "bigbuckbunny.mp4",
         "clip_03_sintel.mp4")                                        # the README's training split
VAL = ("tears-of-steel-battle-clip-medium.webm", "one-by-one-person-detection.mp4")
VARIANTS = {                                                          # name -> generator overrides
    "base": {"skip": "none", "mask_channel": False},
    "+skip": {"skip": "st_push_pull", "mask_channel": False},
    "+mask": {"skip": "none", "mask_channel": True},
    "+skip +mask": {"skip": "st_push_pull", "mask_channel": True},
    "F=1 +skip +mask": {"skip": "st_push_pull", "mask_channel": True, "frames": 1},
}
EDGES = (0, 20, 10_000)            # label px from the gaze: the fovea band (< 20) and the periphery (>= 20)
BASELINE = "st_push_pull_bicubic"
SHOW = ("st_push_pull_bicubic", "push_pull_bicubic", "masked_bicubic")


def train_variant(cfg, gen_over: dict, steps: int) -> tuple:
    "(generator, training record) of `steps` joint steps from `cfg.train.seed` with the generator overrides."
    import torch
    from deepfovea_nb.generator import RecurrentUNet
    from deepfovea_nb.pipeline import make_batch, open_windows, stream_step
    from deepfovea_nb.train import build_run, train_step
    run_cfg = replace(cfg, generator=replace(cfg.generator, **{k: v for k, v in gen_over.items() if k != "frames"}))
    run = build_run(run_cfg)
    if gen_over.get("frames", run_cfg.generator.frames) != run_cfg.generator.frames:
        torch.manual_seed(run_cfg.train.seed)            # same seeded init as build_run gives the F=6 generator
        run.G = RecurrentUNet(replace(run_cfg.generator, frames=gen_over["frames"]))
        o = run_cfg.optim
        run.opt_g = torch.optim.Adam(list(run.G.parameters()) + list(run.objective.parameters()), lr=o.lr_g,
                                     betas=o.betas)
    ds = open_windows(run_cfg.data, run_cfg.generator.frames)
    rows, t0 = [], time.perf_counter()
    for step in range(steps):
        idx, new = stream_step(ds.index, run_cfg.data.batch_size, run_cfg.train.seed, step)
        batch = make_batch(ds, idx, new, run.gaze, run_cfg.data, run_cfg.degrade, run.gens["mask"])
        run.gaze = batch["gaze"]
        rows.append(train_step(run, batch))
        run.step = step + 1
        if step % 10 == 0 or step == steps - 1:
            print(f"  step {step + 1}/{steps}: g_total {rows[-1]['g_total']:.4g}, "
                  f"{(time.perf_counter() - t0) / (step + 1):.2f} s/step", flush=True)
    sec = time.perf_counter() - t0
    mean = lambda rs: {k: sum(r[k] for r in rs) / len(rs) for k in rs[0] if all(k in r for r in rs)}
    n = max(1, steps // 10)
    rec = {"train_s": sec, "s_per_step": sec / steps, "windows": len(ds), "skipped_steps": run.guard.skipped,
           f"losses_first_{n}": mean(rows[:n]), f"losses_last_{n}": mean(rows[-n:]),
           "params_G": sum(p.numel() for p in run.G.parameters())}
    return run.G, rec


def summary(ev: dict, method: str) -> dict:
    "PSNR, SSIM, LPIPS (mean over the validation shots) and PSNR in the fovea band and the periphery."
    m, b = ev["metrics"][method], ev["by_eccentricity"][method]
    return {"psnr": m["psnr"], "ssim": m["ssim"], "lpips": m.get("lpips", math.nan),
            "psnr_fovea": b["psnr"][0], "psnr_periphery": b["psnr"][1]}


def table(res: dict) -> str:
    cols = ("psnr", "ssim", "lpips", "psnr_fovea", "psnr_periphery")
    base = res["baselines"][BASELINE]
    lines = ["| variant | PSNR | SSIM | LPIPS | PSNR fovea (<20 px) | PSNR periphery | ΔPSNR vs st_push_pull_bicubic "
             "| Δ fovea | Δ periphery | s/step |", "|---" * 10 + "|"]
    for name, v in res["variants"].items():
        s = v["metrics"]
        lines.append(f"| {name} | " + " | ".join(f"{s[c]:.4f}" if c in ("ssim", "lpips") else f"{s[c]:.2f}"
                                                   for c in cols)
                     + f" | {s['psnr'] - base['psnr']:+.2f} | {s['psnr_fovea'] - base['psnr_fovea']:+.2f} "
                       f"| {s['psnr_periphery'] - base['psnr_periphery']:+.2f} | {v['train']['s_per_step']:.2f} |")
    for name in SHOW:
        s = res["baselines"][name]
        lines.append(f"| *{name}* (baseline) | " + " | ".join(
            f"{s[c]:.4f}" if c in ("ssim", "lpips") else f"{s[c]:.2f}" for c in cols)
            + f" | {s['psnr'] - base['psnr']:+.2f} | {s['psnr_fovea'] - base['psnr_fovea']:+.2f} "
              f"| {s['psnr_periphery'] - base['psnr_periphery']:+.2f} | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60, help="training steps per variant")
    ap.add_argument("--train-frames", type=int, default=32, help="frames decoded per training clip")
    ap.add_argument("--val-frames", type=int, default=48, help="frames per validation clip")
    ap.add_argument("--dcn", default="grid_sample", choices=("torchvision", "grid_sample"),
                    help="deformable-conv implementation (same operation; grid_sample is faster on CPU)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), help="subset of the variants (default: all)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's); 1 is faster on a CPU shared with "
                                                "other busy processes")
    args = ap.parse_args()
    os.environ["DEEPFOVEA_NB_DCN_BACKEND"] = args.dcn
    import torch
    if args.threads: torch.set_num_threads(args.threads)
    from deepfovea_nb.config import config_to_dict, make_config
    from deepfovea_nb.evaluate import evaluate_videos

    src = [str(CLIPS / c) for c in TRAIN]
    cfg = make_config("cpu", {"data": {"source": src, "val_source": [str(CLIPS / c) for c in VAL],
                                       "max_frames": args.train_frames}, "train": {"steps": args.steps},
                             "optim": {"warmup": max(1, args.steps // 10)}})   # the preset's 200 over a short run
    ecfg = replace(cfg, data=replace(cfg.data, max_frames=args.val_frames))
    n_windows = args.val_frames // cfg.generator.frames
    t_start = time.perf_counter()
    res = {"what": "generator ablation: equal steps, data, masks, objective and seed; one run",
           "command": "python benchmarks/ablation.py " + " ".join(sys.argv[1:]),
           "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
           "loadavg_start": os.getloadavg(), "dcn_backend": args.dcn, "steps": args.steps,
           "train_clips": list(TRAIN), "train_frames_per_clip": args.train_frames, "val_clips": list(VAL),
           "val_frames_per_clip": args.val_frames, "eval_windows_per_shot": n_windows,
           "bands_label_px": {"fovea": [EDGES[0], EDGES[1]], "periphery": [EDGES[1], None]},
           "config": config_to_dict(cfg), "variant_overrides": {k: VARIANTS[k] for k in args.variants},
           "variants": {}, "baselines": {}}
    ref = None
    for name in args.variants:
        print(f"{name}: training {args.steps} steps", flush=True)
        G, rec = train_variant(cfg, VARIANTS[name], args.steps)
        G.eval()
        t = time.perf_counter()
        ev = evaluate_videos(G, ecfg, n_windows=n_windows, edges=EDGES)
        rec["eval_s"] = time.perf_counter() - t
        res["variants"][name] = {"train": rec, "metrics": summary(ev, "model")}
        base = {m: summary(ev, m) for m in ev["metrics"] if m not in ("model", "label")}
        if ref is None:
            ref, res["baselines"] = base, base
            res["val_shots"] = [{"video": s["video"], "frames": s["frames"]} for s in ev["sequences"]]
            res["lpips_note"] = ev["lpips_note"]
        else:                                          # the same masks for every variant: identical baselines
            res["variants"][name]["baseline_max_abs_diff"] = max(
                abs(base[m][k] - ref[m][k]) for m in ref for k in ref[m] if not math.isnan(ref[m][k]))
        print(f"  {name}: {json.dumps(res['variants'][name]['metrics'])}", flush=True)
        res["wall_s"], res["loadavg_end"] = time.perf_counter() - t_start, os.getloadavg()
        res["complete"] = name == args.variants[-1]
        write(res, cfg, args, n_windows)              # after every variant: an interrupted run keeps what it did
    print(table(res))
    print(f"wrote results/ablation.json and results/ablation.md in {res['wall_s'] / 60:.1f} min")


def write(res: dict, cfg, args, n_windows: int) -> None:
    "results/ablation.json and results/ablation.md (the table, how it was made, the command)."
    out = ROOT / "results"
    (out / "ablation.json").write_text(json.dumps(res, indent=2))
    shots = ", ".join(f"{s['video']} ({s['frames']} frames)" for s in res["val_shots"])
    md = [
        "# Generator ablation (equal steps and data, one run)", "",
        f"Each variant trains {args.steps} joint steps from seed {cfg.train.seed} on the same stream of windows and "
        f"masks from the {len(TRAIN)} training clips of `../shared/data/clips` (first {args.train_frames} frames "
        f"of each, frames scaled by {cfg.data.frame_scale}, {cfg.degrade.hr_size[0]}x{cfg.degrade.hr_size[1]} "
        "labels, windows of 6 frames), with the `cpu` preset's objective (robust + LPIPS AlexNet + flow + "
        f"adversarial + FFT adversarial), its small critics and its Adam (lr {cfg.optim.lr_g:g}, betas "
        f"{tuple(cfg.optim.betas)}, linear warm-up over the first {cfg.optim.warmup} steps; padded pixels add no "
        "loss). It is then evaluated by `evaluate.evaluate_videos` "
        f"on the first {args.val_frames} frames of the 2 validation clips (each shot between scene cuts "
        f"separately, {n_windows} windows of 6 frames from a fresh state; metrics over valid pixels, mean over "
        "shots). The fovea band is within 20 label px of the gaze, the periphery everything further out. "
        "`F=1` is the same generator run one frame at a time over each 6-frame window (recurrent state carried), "
        "so its critics, flow term and data are those of the F=6 variants; its skip, though, fills from its "
        "window alone, the current frame: single-frame push-pull + bicubic, not the spatio-temporal fill. "
        f"Deformable convolutions: `{args.dcn}` implementation.", "",
        table(res), "",
        f"Validation shots: {shots}. "
        f"Wall time {res['wall_s'] / 60:.1f} min on {res['threads']} torch thread(s) (load average "
        f"{res['loadavg_start'][0]:.1f} at the start, {res['loadavg_end'][0]:.1f} at the end: a shared CPU, so "
        "the s/step column is only indicative).", "",
        f"This is a short run ({args.steps} steps): it measures where each variant stands after that many steps "
        "from the same start, not what it converges to. A zero-initialised skip starts *at* the classical fill, "
        "so the skip variants begin at the baseline and the others far below it.", "",
        "Command (from the repository root):", "", "```", res["command"], "```", ""]
    if not res["complete"]: md.insert(2, "**Incomplete: the run stopped early; these are the variants it finished.**\n")
    (out / "ablation.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
