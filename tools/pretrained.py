"""Package a finished training run as the shipped model: generator file, evaluation, curves and a README.

Usage: python tools/pretrained.py [--run results/pretrained] [--windows 8] [--device cpu]
`make pretrained` trains the `cpu` preset into results/pretrained (resumable) and then runs this. It writes, into
the run folder: model.pt (the generator and its config only, `checkpoint.export_generator`), eval/ (the report of
`evaluate.evaluate_run` on the run's validation clips: metrics, per-eccentricity curves, strip, for the model and
every baseline), loss_curves.png, sample_last.png, summary.json (steps, hours, the bar) and README.md (numbers read
from those files, never typed).
"""
import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = {"psnr": 1.0}   # the model must beat the spatio-temporal push-pull fill by this many dB (mean over videos)


def bar_check(vs: dict) -> list[tuple[str, bool, str]]:
    "(criterion, met, measured) rows: ΔPSNR >= 1 dB, lower LPIPS, better fovea and periphery PSNR."
    d = vs["mean_over_videos"]
    rows = [(f"PSNR at least {BAR['psnr']:.1f} dB above {vs['baseline']}", d["psnr"] >= BAR["psnr"],
             f"{d['psnr']:+.2f} dB")]
    if "lpips" in d: rows.append(("lower LPIPS", d["lpips"] < 0, f"{d['lpips']:+.4f}"))
    else: rows.append(("lower LPIPS", False, "LPIPS not computed"))
    rows += [("higher PSNR in the fovea band (< 20 label px)", d["psnr_fovea"] > 0, f"{d['psnr_fovea']:+.2f} dB"),
             ("higher PSNR in the periphery", d["psnr_periphery"] > 0, f"{d['psnr_periphery']:+.2f} dB")]
    return rows


def _fmt(m: dict, keys: tuple) -> str:
    return " | ".join(f"{m[k]:.4f}" if k in m else "" for k in keys)


def readme(run: Path, model: Path, model_step: int, ev: dict, vs: dict, info: dict, rows: list) -> str:
    "The run folder's README.md, from the files this script and training wrote."
    from deepfovea_nb.checkpoint import RunLog
    from deepfovea_nb.evaluate import ORDER
    log = RunLog.read(run)
    cfg, step = info["config"], log[-1]["step"] + 1 if log else 0
    created = datetime.datetime.fromisoformat(info["created"])
    ended = datetime.datetime.fromtimestamp((run / "log.jsonl").stat().st_mtime)
    hours = (ended - created).total_seconds() / 3600
    train_s = sum(r.get("sec", 0.0) for r in log)
    summary = {"steps": step, "wall_hours": round(hours, 3), "train_step_hours": round(train_s / 3600, 3),
               "model_mb": round(model.stat().st_size / 1e6, 3), "frames_evaluated": ev["frames"],
               "vs_st_push_pull": vs, "bar": [{"criterion": c, "met": ok, "measured": m} for c, ok, m in rows]}
    (run / "summary.json").write_text(json.dumps(summary, indent=2))
    (h, w), s = cfg["degrade"]["hr_size"], cfg["degrade"]["scale"]
    keys = ("psnr", "psnr_fovea", "psnr_periphery", "ssim", "lpips", "warp_error", "tOF")
    out = [
        "# The shipped model (`cpu` preset)", "",
        "Everything here is written by `make pretrained` (training: `deepfovea-train --preset cpu --out "
        "results/pretrained --resume auto`; then `python tools/pretrained.py`). Nothing is typed by hand.", "",
        f"- `model.pt`: the generator and its full `RunConfig` ({model.stat().st_size / 1e6:.2f} MB; loads with "
        "`checkpoint.load_generator`, i.e. `torch.load(..., weights_only=True)`), step "
        f"{model_step}, run id `{info['run_id']}`.",
        f"- Training: {step} steps of the `cpu` preset at {h // s}x{w // s} -> {h}x{w} on "
        f"{len(info['data'])} training clips ({info['windows']} windows of {cfg['generator']['frames']} frames), "
        f"loss terms (weights): " + ", ".join(f"{k} {v:g}" for k, v in info["loss_terms"].items()) + ". "
        f"Wall time {hours:.2f} h from the run's creation to its last log line (started {info['created']}); "
        f"{train_s / 3600:.2f} h inside training steps.",
        "- `run.json` (full config), `log.jsonl` / `metrics.csv` (every step), `loss_curves.png`, `sample_last.png` "
        "(input, prediction, label of the last validation sample).",
        f"- `eval/`: `evaluate.evaluate_run` on the validation clips, {ev['frames']} frames in all "
        "(each shot between scene cuts from a fresh state, up to "
        f"{ev['sequences'][0]['windows']} windows of {cfg['generator']['frames']} frames): metrics over valid "
        "pixels for the model and every baseline, per-eccentricity curves, a strip.", "",
        "## Validation clips (mean over videos)", "",
        "| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    vm = ev["video_mean"]
    out += [f"| {m} | {_fmt(vm[m], keys)} |" for m in ORDER if m in vm]
    for v, r in ev["by_video"].items():
        out += ["", f"### {v} ({r['frames']} frames, {r['shots']} shot(s))", "",
                "| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        out += [f"| {m} | {_fmt(r['metrics'][m], keys)} |" for m in ORDER if m in r["metrics"]]
    out += ["", f"## The bar: the model against `{vs['baseline']}`", "",
            "| criterion | met | measured (mean over videos) |", "|---|---|---|"]
    out += [f"| {c} | {'yes' if ok else '**no**'} | {m} |" for c, ok, m in rows]
    out += ["", "Per video: " + "; ".join(
        f"{v}: ΔPSNR {d['psnr']:+.2f} dB (fovea {d['psnr_fovea']:+.2f}, periphery {d['psnr_periphery']:+.2f})"
        + (f", ΔLPIPS {d['lpips']:+.4f}" if "lpips" in d else "") for v, d in vs["by_video"].items()) + ".", "",
        "![loss curves](loss_curves.png)", "", "![strip](eval/strip.png)", "", "![eccentricity](eval/eccentricity.png)"]
    return "\n".join(out) + "\n"


def torch_step(model: Path) -> int:
    "The training step a generator file was exported at."
    import torch
    return int(torch.load(model, map_location="cpu", weights_only=True).get("step", -1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(ROOT / "results" / "pretrained"), help="the training run folder")
    ap.add_argument("--windows", type=int, default=8, help="windows per validation shot (8 x 6 = 48 frames)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    from deepfovea_nb.checkpoint import RunLog, export_generator
    from deepfovea_nb.evaluate import evaluate_run, versus
    from deepfovea_nb.train import plot_losses
    run = Path(a.run)
    info = json.loads((run / "run.json").read_text())
    model = export_generator(run, run / "model.pt")
    print(f"pretrained: {model} ({model.stat().st_size / 1e6:.2f} MB)", flush=True)
    log = RunLog.read(run)
    keys = [k for k in ("g_total", "supervised", "perceptual", "flow", "adversarial", "fft_adversarial", "critic",
                        "val_psnr") if any(k in r for r in log)]
    fig = plot_losses(log, keys)
    fig.savefig(run / "loss_curves.png", dpi=100)
    samples = sorted((run / "samples").glob("step_*.png"))
    if samples: shutil.copyfile(samples[-1], run / "sample_last.png")
    ev, files = evaluate_run(model, out_dir=run / "eval", device=a.device, n_windows=a.windows)
    if ev["lpips_note"]: print(ev["lpips_note"])
    vs = versus(ev)
    rows = bar_check(vs)
    (run / "README.md").write_text(readme(run, model, torch_step(model), ev, vs, info, rows))
    for c, ok, m in rows: print(f"pretrained: {'met ' if ok else 'NOT met'}  {c}: {m}")
    print("pretrained: wrote", ", ".join(str(f) for f in [model, run / "README.md", *files]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
