"""Package a finished training run as the shipped model: generator file, evaluation, curves and a README.

Usage: python tools/pretrained.py [--train] [--run results/pretrained] [--base results/pretrained_base]
                                  [--windows 8] [--device cpu]
`make pretrained` trains in two stages, each resumable: the `cpu` preset into results/pretrained_base, then (this
script with --train) the `cpu_aug` preset into results/pretrained, forked from the base run's last checkpoint. It
then packages the run; it writes, into the run folder: model.pt (the generator and its config only,
`checkpoint.export_generator`), eval/ (the report of `evaluate.evaluate_run` on the run's validation clips:
metrics, per-eccentricity curves, strip, for the model and every baseline), loss_curves.png (from step 0, the base
run's log included), sample_last.png, summary.json (steps, hours, the bar) and README.md (numbers read from those
files, never typed).
"""
import argparse
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("cpu", "cpu_aug")   # the presets of the base run and of the fork that is shipped
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


def train_fork(run: Path, base: Path) -> None:
    "Stage 2: continue the fork in `run`, or start it from the newest checkpoint of the base run in `base`."
    from deepfovea_nb.checkpoint import list_checkpoints
    if list_checkpoints(run / "checkpoints"): resume = "auto"
    else:   # a clone holds the shipped run's record but not its checkpoints: it is rewritten from the start
        for f in ("run.json", "log.jsonl", "metrics.csv"): (run / f).unlink(missing_ok=True)
        resume = str(base / "checkpoints")
    cmd = [str(Path(sys.executable).parent / "deepfovea-train"), "--preset", STAGES[1], "--out", str(run),
           "--resume", resume]
    print("pretrained:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def _hours(folder: Path, info: dict) -> float:
    "Wall hours of a run folder: from its creation to its last log line."
    created = datetime.datetime.fromisoformat(info["created"])
    ended = datetime.datetime.fromtimestamp((folder / "log.jsonl").stat().st_mtime)
    return (ended - created).total_seconds() / 3600


def history(run: Path, info: dict, base: Path | None) -> tuple[list[dict], float, dict | None]:
    "Log rows from step 0 (the base run's up to the fork, then the run's), wall hours of both, the base's run.json."
    from deepfovea_nb.checkpoint import RunLog
    log, hours, parent = RunLog.read(run), _hours(run, info), info.get("parent")
    if not parent or base is None or not (base / "run.json").is_file(): return log, hours, None
    binfo = json.loads((base / "run.json").read_text())
    if binfo["run_id"] != parent["run_id"]:
        raise SystemExit(f"{run} was forked from run {parent['run_id']}, but {base} holds run {binfo['run_id']}")
    before = [r for r in RunLog.read(base) if r["step"] < parent["step"]]
    if val_windows(binfo) != val_windows(info):   # another validation measure: not one curve with this run's
        before = [{k: v for k, v in r.items() if not k.startswith("val_")} for r in before]
    return before + log, hours + _hours(base, binfo), binfo


def val_windows(info: dict) -> int:
    "How many windows a run's `val_psnr` scores (`train.val_windows`; runs before it had one)."
    return info["config"]["train"].get("val_windows", 1)


def readme(run: Path, model: Path, model_step: int, ev: dict, vs: dict, info: dict, rows: list,
           hist: tuple[list[dict], float, dict | None], base: Path | None = None) -> str:
    "The run folder's README.md, from the files this script and training wrote; `hist` is `history`'s answer."
    from deepfovea_nb.evaluate import ORDER
    log, hours, binfo = hist
    cfg, step = info["config"], log[-1]["step"] + 1 if log else 0
    train_s = sum(r.get("sec", 0.0) for r in log)
    summary = {"steps": step, "wall_hours": round(hours, 3), "train_step_hours": round(train_s / 3600, 3),
               "model_mb": round(model.stat().st_size / 1e6, 3), "frames_evaluated": ev["frames"],
               "vs_st_push_pull": vs, "bar": [{"criterion": c, "met": ok, "measured": m} for c, ok, m in rows]}
    (run / "summary.json").write_text(json.dumps(summary, indent=2))
    (h, w), s = cfg["degrade"]["hr_size"], cfg["degrade"]["scale"]
    keys = ("psnr", "psnr_fovea", "psnr_periphery", "ssim", "lpips", "warp_error", "tOF")
    rel = lambda p: p.relative_to(ROOT) if p.is_relative_to(ROOT) else p
    if binfo is None:
        title, command = f"`{STAGES[0]}` preset", (
            f"`deepfovea-train --preset {STAGES[0]} --out {rel(run)} --resume auto`; then `python tools/pretrained.py`")
        what = f"- Training: {step} steps of the `{STAGES[0]}` preset"
    else:
        k = info["parent"]["step"]
        title, command = f"`{STAGES[0]}` then `{STAGES[1]}` presets", (
            f"`deepfovea-train --preset {STAGES[0]} --out {rel(base)} --resume auto`; then `python "
            f"tools/pretrained.py --train`, which runs `deepfovea-train --preset {STAGES[1]} --out {rel(run)} "
            f"--resume {rel(base)}/checkpoints` and packages the run")
        what = (f"- Training: {step} steps in two runs: steps 0-{k} with the `{STAGES[0]}` preset (run "
                f"`{binfo['run_id']}`, its record in `{rel(base)}/`), then steps {k}-{step} with the `{STAGES[1]}` "
                "preset (the same with `data.augment`: each video seen through a random crop, mirrored half of the "
                f"time), forked from the first run's step-{k} checkpoint; in all,")
    out = [
        f"# The shipped model ({title})", "",
        f"Everything here is written by `make pretrained` (training: {command}). Nothing is typed by hand.", "",
        f"- `model.pt`: the generator and its full `RunConfig` ({model.stat().st_size / 1e6:.2f} MB; loads with "
        "`checkpoint.load_generator`, i.e. `torch.load(..., weights_only=True)`), step "
        f"{model_step}, run id `{info['run_id']}`.",
        f"{what} at {h // s}x{w // s} -> {h}x{w} on "
        f"{len(info['data'])} training clips ({info['windows']} windows of {cfg['generator']['frames']} frames), "
        f"loss terms (weights): " + ", ".join(f"{k} {v:g}" for k, v in info["loss_terms"].items()) + ". "
        f"Wall time {hours:.2f} h from {'each run' if binfo else 'the run'}'s creation to its last log line, "
        f"summed (started {(binfo or info)['created']}); {train_s / 3600:.2f} h inside training steps.",
        "- `run.json` (full config), `log.jsonl` / `metrics.csv` (every step), `loss_curves.png`, `sample_last.png` "
        "(input, prediction, label of the last validation sample)."
        + ("" if binfo is None or val_windows(binfo) == val_windows(info) else
           f" The curves start at step 0; `val_psnr` only at step {info['parent']['step']}: the first run scored "
           f"{val_windows(binfo)} validation window(s), this one {val_windows(info)}, so the two are not one curve."),
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
    ap.add_argument("--base", default=str(ROOT / "results" / "pretrained_base"),
                    help="the run the shipped one was forked from (its log and hours are counted too)")
    ap.add_argument("--train", action="store_true", help="first train (or continue) the fork, then package it")
    ap.add_argument("--windows", type=int, default=8, help="windows per validation shot (8 x 6 = 48 frames)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    from deepfovea_nb.checkpoint import export_generator
    from deepfovea_nb.evaluate import evaluate_run, versus
    from deepfovea_nb.train import plot_losses
    run, base = Path(a.run).resolve(), Path(a.base).resolve()
    if a.train: train_fork(run, base)
    info = json.loads((run / "run.json").read_text())
    model = export_generator(run, run / "model.pt")
    print(f"pretrained: {model} ({model.stat().st_size / 1e6:.2f} MB)", flush=True)
    hist = history(run, info, base)
    log = hist[0]
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
    (run / "README.md").write_text(readme(run, model, torch_step(model), ev, vs, info, rows, hist, base))
    for c, ok, m in rows: print(f"pretrained: {'met ' if ok else 'NOT met'}  {c}: {m}")
    print("pretrained: wrote", ", ".join(str(f) for f in [model, run / "README.md", *files]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
