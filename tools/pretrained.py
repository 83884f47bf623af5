"""Package a finished training run as the shipped model: generator file, evaluation, curves and a README.

Usage: python tools/pretrained.py [--train] [--run results/pretrained] [--preset cpu_stream_all] [--windows 8]
                                  [--device cpu] [--reuse-eval] [--soup]
`make pretrained` (this script with --train) trains the shipped model in five runs, each resumable, each forked
from the previous one's last checkpoint (`STAGES`): the `cpu` preset into results/pretrained_base, `cpu_aug` into
results/pretrained_aug, `cpu_keep` into results/pretrained_keep, `cpu_stream` into results/pretrained_stream, then
`cpu_stream_all` (from that run's exported model.pt, `FROM_MODEL`) into results/pretrained. It then
packages the last run (or, with --run and --preset, an earlier stage or a run forked from one, e.g. `cpu_wide` in
results/pretrained_wide); it writes, into that folder: model.pt (the generator and its config only,
`checkpoint.export_generator`), eval/ (the report of `evaluate.evaluate_run` on the run's validation clips: metrics,
per-eccentricity curves, strip, for the model and every baseline), loss_curves.png (from step 0, the earlier runs'
logs included), sample_last.png, summary.json (steps, hours, the bar) and README.md (numbers read from those files,
never typed); for a run that averages its generator's weights (`optim.ema`: model.pt holds the average), also
eval_raw/, the same evaluation of the trained weights of the same step, to show what the average itself did.
--soup averages the generators of the runs in `SOUP` (`checkpoint.average_generators`) into results/pretrained_soup
and evaluates that file the same way.
"""
import argparse
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMA_RECIPE = (  # the fine-tuning recipe of cpu_ema, cpu_stream_ema and cpu_stream_all
    "started from the previous run's generator (`model.pt`) with fresh critics and optimisers, warmed up again over "
    "200 steps, the learning rates decaying to a tenth over the last 1200 steps, an exponential moving average of the "
    "generator's weights (`optim.ema` 0.999), which is the generator it ships")
STAGES = (  # (preset, run folder under results/, what it changes), in training order; the last one is shipped
    ("cpu", "pretrained_base", "the `cpu` recipe"),
    ("cpu_aug", "pretrained_aug", "the same with `data.augment`: each video seen through a random crop, mirrored "
                                  "half of the time"),
    ("cpu_keep", "pretrained_keep", "the same with the residual over the spatio-temporal fill that keeps each "
                                    "pixel's current sample (`generator.skip` `st_push_pull_keep`) instead of the "
                                    "recency-weighted mean, and the learning rates decaying linearly to a tenth over "
                                    "the last 900 steps"),
    ("cpu_stream", "pretrained_stream", "the same with that fill carried from each window to the next "
                                        "(`generator.skip` `st_push_pull_keep_stream`), as the model carries its "
                                        "recurrent state, instead of starting afresh in every window, the learning "
                                        "rates again decaying to a tenth over the last 900 steps"),
    ("cpu_stream_all", "pretrained", f"the same, {EMA_RECIPE}, on every frame of the training clips "
                                     "(`data.max_frames` None: 411 windows) instead of the first 150 of each (169 "
                                     "windows)"))
FORKS = {  # runs tried, forked from a stage or another fork: preset -> (run folder under results/, what it changes)
    "cpu_wide": ("pretrained_wide",
                 "the same with 6x wider SR blocks, `generator.sr_channels` 8 -> 48, the checkpoint widened by "
                 "`widen_generator` so that the fork starts from the same predictions, and the learning rates "
                 "decaying linearly to a tenth over the last 2000 steps"),
    "cpu_psnr": ("pretrained_psnr",
                 "the same with the perceptual and both adversarial terms at a quarter of their weights, the "
                 "learning rates decaying linearly from full to a tenth over its 1200 steps"),
    "cpu_fill": ("pretrained_fill",
                 "the same with the skip's fill as three more input channels per frame (`generator.fill_input`), the "
                 "checkpoint widened by `widen_generator` so that the fork starts from the same predictions, and the "
                 "learning rates decaying linearly from full to a tenth over its 1000 steps"),
    "cpu_stream_psnr": ("pretrained_stream_psnr",
                        "the same with the perceptual and both adversarial terms at a quarter of their weights (as "
                        "`cpu_psnr`), the learning rates full, then decaying linearly to a tenth over the last 700 "
                        "steps"),
    "cpu_stream_seq": ("pretrained_seq",
                       "the same on windows that meet end to end (`data.overlap` 0, as evaluation and "
                       "reconstruction read a video) instead of overlapping by two frames, the learning rates full "
                       "again, then decaying to a tenth over the last 900 steps"),
    "cpu_ema": ("pretrained_ema", f"the same, {EMA_RECIPE} (the `cpu_stream_ema` recipe on the `cpu_stream_seq` run)"),
    "cpu_stream_ema": ("pretrained_stream_ema", f"the same, {EMA_RECIPE} (the shipped `cpu_stream_all` on the first "
                                                "150 frames of each training clip)"),
    "cpu_ema_tail": ("pretrained_ema_tail",
                     "the same continued from its last checkpoint (critics, optimisers and the average included) at "
                     "the decayed learning rate, the average going on"),
    "cpu_stream_cycle": ("pretrained_cycle",
                         "the same continued from its last checkpoint (critics, optimisers and the average included) "
                         "for 3000 more steps on the same data, a second cycle of the learning rates: warmed up again "
                         "over 200 steps, full, then decaying to a tenth over the last 1200 steps"),
    "cpu_stream_reject": ("pretrained_reject",
                          "the same with the residual over the streamed fill that rejects stale history (`generator."
                          "skip` `st_push_pull_keep_stream_reject`: the history scaled down where the new frame's "
                          "samples disagree with it, decay 0.85), continued from its last checkpoint (critics, "
                          "optimisers and the average included) for 2600 more steps: warmed up again over 200 steps, "
                          "full, then decaying to a tenth over the last 1200 steps")}
RUNS = {**{d: p for p, d, _ in STAGES}, **{d: p for p, (d, _) in FORKS.items()}}   # run folder -> preset
FROM_MODEL = {"cpu_ema", "cpu_stream_ema", "cpu_stream_all"}   # presets that start from the previous run's model.pt
VAL_FRAMES = 150   # every run is evaluated on the first 150 frames of each validation clip, whatever it trained on
SOUP = ("cpu_stream", "cpu_stream_ema", "cpu_stream_all", "cpu_stream_cycle")   # runs whose generators --soup averages
BAR = {"psnr": 1.0}   # the model must beat the spatio-temporal push-pull fill by this many dB (mean over videos)
BESIDE = {  # classical fills reported beside the bar's baseline: name -> what it is
    "st_push_pull_keep_bicubic": "the spatio-temporal fill that keeps each pixel's current sample",
    "st_push_pull_keep_stream_bicubic": "the same fill carried across windows, as the model carries its state",
    "st_push_pull_keep_stream_reject_bicubic": "the same with its history scaled down where a new frame's samples "
                                               "disagree with it"}


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


def _train(preset: str, run: Path, resume: str) -> None:
    "`deepfovea-train` of `preset` into `run`, resuming from `resume`."
    cmd = [str(Path(sys.executable).parent / "deepfovea-train"), "--preset", preset, "--out", str(run),
           "--resume", resume]
    print("pretrained:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def start_from(parent: Path, preset: str) -> Path:
    "What a fork of `preset` starts from in the run folder `parent`: its model.pt (`FROM_MODEL`) or its checkpoints."
    return parent / ("model.pt" if preset in FROM_MODEL else "checkpoints")


def train_fork(run: Path, parent: Path, preset: str) -> None:
    "Train `preset` in `run`: continue it, or fork it from the run in `parent` (`start_from`)."
    from deepfovea_nb.checkpoint import export_generator, list_checkpoints
    if list_checkpoints(run / "checkpoints"): resume = "auto"
    else:   # a clone holds the run's record but not its checkpoints: it is rewritten from the start
        for f in ("run.json", "log.jsonl", "metrics.csv"): (run / f).unlink(missing_ok=True)
        resume = str(start_from(parent, preset))
        if preset in FROM_MODEL and list_checkpoints(parent / "checkpoints"):
            export_generator(parent, resume)   # the parent's generator as it ships (a clone has the shipped file)
    _train(preset, run, resume)


def train_stages(results: Path) -> None:
    "Every stage of `STAGES` in order, each continued where it stands (the first from scratch)."
    first, *forks = [(p, results / d) for p, d, _ in STAGES]
    _train(*first, "auto")
    for (preset, run), (_, parent) in zip(forks, [first, *forks]): train_fork(run, parent, preset)


def _hours(folder: Path, info: dict) -> float:
    "Wall hours of a run folder: from its creation to when it stopped (run.json), else to its last log line."
    created = datetime.datetime.fromisoformat(info["created"])
    if "stopped" in info: ended = datetime.datetime.fromisoformat(info["stopped"])
    else:   # runs before `stopped` was recorded: a clone or a checkout resets this time
        log = folder / "log.jsonl"
        print(f"pretrained: {folder / 'run.json'} has no 'stopped' time; the hours run to {log}'s modification time, "
              "which is wrong if the file was cloned or checked out since", flush=True)
        ended = datetime.datetime.fromtimestamp(log.stat().st_mtime)
    return (ended - created).total_seconds() / 3600


def history(run: Path, info: dict, earlier: list[Path]) -> tuple[list[dict], float, list[dict]]:
    """Log rows from step 0 (each earlier run's up to its fork, then the run's), wall hours of all, and the earlier
    runs' run.json, oldest first; `earlier` are the folders of the runs before `run`, oldest first."""
    from deepfovea_nb.checkpoint import RunLog
    log, hours, parent = RunLog.read(run), _hours(run, info), info.get("parent")
    if not parent or not earlier or not (earlier[-1] / "run.json").is_file(): return log, hours, []
    pinfo = json.loads((earlier[-1] / "run.json").read_text())
    if pinfo["run_id"] != parent["run_id"]:
        raise SystemExit(f"{run} was forked from run {parent['run_id']}, but {earlier[-1]} holds run {pinfo['run_id']}")
    plog, phours, pinfos = history(earlier[-1], pinfo, earlier[:-1])
    before = [r for r in plog if r["step"] < parent["step"]]
    if val_measure(pinfo) != val_measure(info):   # another validation measure: not one curve with this run's
        before = [{k: v for k, v in r.items() if not k.startswith("val_")} for r in before]
    return before + log, hours + phours, pinfos + [pinfo]


def ancestors(info: dict, folders: list[Path]) -> list[Path]:
    "The folders, among `folders`, of the runs `info`'s run was forked from (its parent's parent ...), oldest first."
    ids = {json.loads((f / "run.json").read_text())["run_id"]: f for f in folders if (f / "run.json").is_file()}
    out, parent = [], info.get("parent")
    while parent and parent["run_id"] in ids and ids[parent["run_id"]] not in out:
        out.insert(0, ids[parent["run_id"]])
        parent = json.loads((out[0] / "run.json").read_text()).get("parent")
    return out


def val_measure(info: dict) -> str:
    "What a run's `val_psnr` scores: `train.val_windows` windows of which frames (a field run.json lacks: its default)."
    from deepfovea_nb.config import TrainConfig
    from deepfovea_nb.pipeline import DataConfig
    frames = info["config"].get("data", {}).get("max_frames", DataConfig.max_frames)
    return (f"{info['config']['train'].get('val_windows', TrainConfig.val_windows)} window(s) of "
            + ("every frame" if frames is None else f"the first {frames} frames"))


def _per_video(vs: dict) -> str:
    return "; ".join(
        f"{v}: ΔPSNR {d['psnr']:+.2f} dB (fovea {d['psnr_fovea']:+.2f}, periphery {d['psnr_periphery']:+.2f})"
        + (f", ΔLPIPS {d['lpips']:+.4f}" if "lpips" in d else "") for v, d in vs["by_video"].items())


def rel(p: Path) -> Path:
    "`p` relative to the repository where it lies inside it, as the READMEs name files."
    return p.relative_to(ROOT) if p.is_relative_to(ROOT) else p


def evaluation(model: Path, out_dir: Path, windows: int, device: str, reuse: bool) -> tuple[dict, list[Path]]:
    """`evaluate.evaluate_run` of `model` on the first `VAL_FRAMES` frames of each validation clip into `out_dir`
    (evaluation, files written), or with `reuse` the evaluation `out_dir` already holds (nothing written)."""
    if reuse: return json.loads((out_dir / "metrics.json").read_text()), []
    from deepfovea_nb.evaluate import evaluate_run
    return evaluate_run(model, out_dir=out_dir, device=device, n_windows=windows, max_frames=VAL_FRAMES)


def comparisons(ev: dict) -> tuple[dict, dict, list]:
    "The model against the bar's baseline (`versus`), against each fill of `BESIDE` evaluated, and `bar_check`'s rows."
    from deepfovea_nb.evaluate import versus
    vs = versus(ev)
    return vs, {b: versus(ev, b) for b in BESIDE if b in ev["video_mean"]}, bar_check(vs)


KEYS = ("psnr", "psnr_fovea", "psnr_periphery", "ssim", "lpips", "warp_error", "tOF")   # the README tables' columns


def eval_section(ev: dict, vs: dict, rows: list, vs_fills: dict | None) -> list[str]:
    "README lines of an evaluation: the validation tables, the bar, the fills beside it."
    from deepfovea_nb.evaluate import ORDER
    head = ["| method | " + " | ".join(KEYS) + " |", "|---" * (len(KEYS) + 1) + "|"]
    vm = ev["video_mean"]
    out = ["## Validation clips (mean over videos)", "", *head]
    out += [f"| {m} | {_fmt(vm[m], KEYS)} |" for m in ORDER if m in vm]
    for v, r in ev["by_video"].items():
        out += ["", f"### {v} ({r['frames']} frames, {r['shots']} shot(s))", "", *head]
        out += [f"| {m} | {_fmt(r['metrics'][m], KEYS)} |" for m in ORDER if m in r["metrics"]]
    out += ["", f"## The bar: the model against `{vs['baseline']}`", "",
            "| criterion | met | measured (mean over videos) |", "|---|---|---|"]
    out += [f"| {c} | {'yes' if ok else '**no**'} | {m} |" for c, ok, m in rows]
    out += ["", "Per video: " + _per_video(vs) + "."]
    for name, v in (vs_fills or {}).items():
        k = v["mean_over_videos"]
        out += ["", f"Against `{name}` ({BESIDE[name]}, `sampling.FILLS`; not the bar's baseline, reported beside "
                f"it), mean over videos: ΔPSNR {k['psnr']:+.2f} dB (fovea {k['psnr_fovea']:+.2f}, periphery "
                f"{k['psnr_periphery']:+.2f})" + (f", ΔLPIPS {k['lpips']:+.4f}" if "lpips" in k else "")
                + "; per video: " + _per_video(v) + "."]
    return out


def readme(run: Path, model: tuple[float, int, str], ev: dict, vs: dict, info: dict, rows: list,
           hist: tuple[list[dict], float, list[dict]], earlier: list[Path], preset: str = STAGES[-1][0],
           vs_fills: dict | None = None, vs_raw: dict | None = None) -> str:
    """The run folder's README.md, from the files this script and training wrote; `model` is `model_facts`'s answer,
    `hist` `history`'s, `vs_fills` the model against each fill of `BESIDE` that was evaluated (`versus`), `vs_raw`
    the trained (not averaged) weights of a run with `optim.ema` against the bar's baseline."""
    log, hours, pinfos = hist
    mb, model_step, avg = model
    cfg, step = info["config"], log[-1]["step"] + 1 if log else 0
    train_s = sum(r.get("sec", 0.0) for r in log)
    summary = {"steps": step, "wall_hours": round(hours, 3), "train_step_hours": round(train_s / 3600, 3),
               "model_mb": round(mb, 3), "model_step": model_step, "frames_evaluated": ev["frames"],
               "vs_st_push_pull": vs, "vs_fills": vs_fills or {}, "fills": {b: BESIDE[b] for b in vs_fills or {}},
               **({"trained_weights_vs_st_push_pull": vs_raw} if vs_raw else {}),
               "bar": [{"criterion": c, "met": ok, "measured": m} for c, ok, m in rows]}
    (run / "summary.json").write_text(json.dumps(summary, indent=2))
    (h, w), s = cfg["degrade"]["hr_size"], cfg["degrade"]["scale"]
    infos, folders = [*pinfos, info], [*earlier[len(earlier) - len(pinfos):], run]
    notes = {**{preset: note for preset, _, note in STAGES}, **{p: note for p, (_, note) in FORKS.items()}}
    presets = [RUNS[f.name] for f in folders[:-1]] + [preset]
    stage = [p for p, _, _ in STAGES].index(preset) + 1 if preset in [p for p, _, _ in STAGES] else None
    title = ("The shipped model" if stage == len(STAGES) else f"Stage {stage} of {len(STAGES)} of the shipped model"
             if stage else f"A run tried, not part of the shipped model: `{preset}`") \
        + " (" + " then ".join(f"`{p}`" for p in presets) + (" presets)" if len(infos) > 1 else " preset)")
    runs = [f"`deepfovea-train --preset {p} --out {rel(f)} --resume "
            f"{rel(start_from(folders[n - 1], p)) if n else 'auto'}`"
            for n, (p, f) in enumerate(zip(presets, folders))]
    if preset == STAGES[-1][0]:
        made = f"`make pretrained` (training: `python tools/pretrained.py --train`, which runs {'; then '.join(runs)})"
    elif stage:
        made = (f"`make pretrained` (training: {'; then '.join(runs[:-1])}), then {runs[-1]} and `python "
                f"tools/pretrained.py --run {rel(run)} --preset {preset}`")
    else:   # a fork: its lineage may leave the stages
        shared = next((n for n, (f, s) in enumerate(zip(folders, STAGES)) if f.name != s[1]),
                      min(len(folders), len(STAGES)))
        made = (f"{'; then '.join(runs)}, then `python tools/pretrained.py --run {rel(run)} --preset {preset}` "
                f"(the first {shared} training command(s) are those of `make pretrained`)")
    ends = [i["parent"]["step"] for i in infos[1:]] + [step]
    starts = [0] + ends[:-1]
    fork = "last checkpoint" if not set(presets) & FROM_MODEL else "last checkpoint (or its model.pt, where said)"
    what = f"- Training: {step} steps" + (f" in {len(infos)} runs, each forked from the previous one's {fork}: "
                                          if len(infos) > 1 else ": ") + "; ".join(
        f"steps {a}-{b} with the `{p}` preset ({notes.get(p, p)}; run `{i['run_id']}`, record in `{rel(f)}/`)"
        for a, b, p, i, f in zip(starts, ends, presets, infos, folders)) + "; in all,"
    other = list(dict.fromkeys(val_measure(i) for i in pinfos if val_measure(i) != val_measure(info)))   # as `history`
    first_val = next((r["step"] for r in log if "val_psnr" in r), None)
    dropped = "" if not other or first_val is None else (
        f" The curves start at step 0; `val_psnr` only from step {first_val}: the runs before scored "
        f"{' or '.join(other)} of the validation clips, this one {val_measure(info)}, so those are not one curve "
        "with it.")
    out = [
        f"# {title}", "",
        f"Everything here is written by {made}. Nothing is typed by hand.", "",
        f"- `model.pt`: the generator{avg} and its full `RunConfig` ({mb:.2f} "
        "MB; loads with `checkpoint.load_generator`, i.e. `torch.load(..., weights_only=True)`), step "
        f"{model_step}, run id `{info['run_id']}`.",
        f"{what} at {h // s}x{w // s} -> {h}x{w} on "
        f"{len(info['data'])} training clips ({info['windows']} windows of {cfg['generator']['frames']} frames), "
        f"loss terms (weights): " + ", ".join(f"{k} {v:g}" for k, v in info["loss_terms"].items()) + ". "
        f"Wall time {hours:.2f} h from {'each run' if pinfos else 'the run'}'s creation to when it stopped, "
        f"summed (started {infos[0]['created']}); {train_s / 3600:.2f} h inside training steps.",
        "- `run.json` (full config), `log.jsonl` / `metrics.csv` (every step), `loss_curves.png`, `sample_last.png` "
        "(input, prediction, label of the last validation sample)."
        + dropped,
        f"- `eval/`: `evaluate.evaluate_run` on the validation clips (the first {VAL_FRAMES} frames of each), "
        f"{ev['frames']} frames in all "
        "(each shot between scene cuts from a fresh state, up to "
        f"{ev['sequences'][0]['windows']} windows of {cfg['generator']['frames']} frames): metrics over valid "
        "pixels for the model and every baseline, per-eccentricity curves, a strip.", "",
        *eval_section(ev, vs, rows, vs_fills)]
    if vs_raw:
        k = vs_raw["mean_over_videos"]
        out += ["", "The trained weights of the same step, not averaged (`export_generator(..., ema=False)`, evaluated "
                "the same way into `eval_raw/`), against the bar's baseline, mean over videos: ΔPSNR "
                f"{k['psnr']:+.2f} dB (fovea {k['psnr_fovea']:+.2f}, periphery {k['psnr_periphery']:+.2f})"
                + (f", ΔLPIPS {k['lpips']:+.4f}" if "lpips" in k else "") + "; per video: " + _per_video(vs_raw)
                + ". So the average of the weights itself changes PSNR by "
                f"{vs['mean_over_videos']['psnr'] - k['psnr']:+.2f} dB."]
    out += ["",
        "![loss curves](loss_curves.png)", "", "![strip](eval/strip.png)", "", "![eccentricity](eval/eccentricity.png)"]
    return "\n".join(out) + "\n"


def _average_text(ema: float) -> str:
    return f" (the average of its weights, `optim.ema` {ema:g})" if ema else ""


def model_facts(run: Path) -> tuple[float, int, str]:
    """(MB, step, ' (the average of its weights ...)' or '') of the run's model.pt; of its summary.json where the
    generator file is not here (a clone holds neither the checkpoints nor an unshipped run's model.pt)."""
    import torch
    if (run / "model.pt").is_file():
        ck = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
        ema = ck["config"]["optim"].get("ema", 0.0) if ck.get("ema") else 0.0
        return (run / "model.pt").stat().st_size / 1e6, int(ck.get("step", -1)), _average_text(ema)
    s, info = json.loads((run / "summary.json").read_text()), json.loads((run / "run.json").read_text())
    return s["model_mb"], s.get("model_step", s["steps"]), _average_text(info["config"]["optim"].get("ema", 0.0))


def soup(results: Path, windows: int, device: str, reuse_eval: bool) -> int:
    "The uniform average of the `SOUP` runs' generators into results/pretrained_soup: model.pt, eval/, README.md."
    from deepfovea_nb.checkpoint import average_generators
    folder = {p: results / d for d, p in RUNS.items()}
    srcs = [folder[p] / "model.pt" for p in SOUP]
    out = results / "pretrained_soup"
    out.mkdir(exist_ok=True)
    model = out / "model.pt"
    if not (missing := [str(f) for f in srcs if not f.is_file()]): average_generators(srcs, model)
    elif not (reuse_eval and model.is_file()):   # a clone holds neither the unshipped runs' nor the soup's model.pt
        raise SystemExit(f"pretrained: --soup needs the exported generators {missing}; package (or train) those runs "
                         "first (`python tools/pretrained.py --run <folder> --preset <preset>`)")
    import torch
    parts = torch.load(model, map_location="cpu", weights_only=True)["averaged"]
    ev, _ = evaluation(model, out / "eval", windows, device, reuse_eval)
    (vs, vs_fills, rows), mb = comparisons(ev), model.stat().st_size / 1e6
    (out / "summary.json").write_text(json.dumps(
        {"model_mb": round(mb, 3), "frames_evaluated": ev["frames"], "averaged": parts, "vs_st_push_pull": vs,
         "vs_fills": vs_fills, "fills": {b: BESIDE[b] for b in vs_fills},
         "bar": [{"criterion": c, "met": ok, "measured": m} for c, ok, m in rows]}, indent=2))

    def part(p: str, f: Path, d: dict) -> str:
        sm = json.loads((f.parent / "summary.json").read_text()) if (f.parent / "summary.json").is_file() else None
        alone = "" if sm is None else (f"; alone {sm['vs_st_push_pull']['mean_over_videos']['psnr']:+.2f} dB vs "
                                       f"`{vs['baseline']}` on the same frames ({rel(f.parent)}/summary.json)")
        return (f"`{p}` (`{rel(f)}`, step {d['step']}, run `{d['run_id']}`, "
                + ("the average of its weights" if d["ema"] else "its trained weights") + alone + ")")
    text = [
        f"# An average of {len(SOUP)} runs' weights (a model soup), tried, not a training run", "",
        "Everything here is written by `python tools/pretrained.py --soup` from the runs' exported generators. "
        "Nothing is typed by hand.", "",
        f"- `model.pt`: the uniform average of the weights of the generators below "
        f"(`checkpoint.average_generators`), with the last one's config ({mb:.2f} MB; loads with "
        "`checkpoint.load_generator`, i.e. `torch.load(..., weights_only=True)`). No training, no weighting, no "
        "selection among the runs: the fourth stage of the shipped model and every run fine-tuned from its "
        "generator with its objective and the averaged recipe.",
        "- Averaged: " + "; ".join(part(p, f, d) for p, f, d in zip(SOUP, srcs, parts)) + ".",
        f"- `eval/`: `evaluate.evaluate_run` on the validation clips (the first {VAL_FRAMES} frames of each), "
        f"{ev['frames']} frames in all, as every run here.", "",
        *eval_section(ev, vs, rows, vs_fills), "",
        "![strip](eval/strip.png)", "", "![eccentricity](eval/eccentricity.png)"]
    (out / "README.md").write_text("\n".join(text) + "\n")
    for c, ok, m in rows: print(f"pretrained: {'met ' if ok else 'NOT met'}  {c}: {m}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(ROOT / "results" / "pretrained"), help="the training run folder")
    ap.add_argument("--preset", default=STAGES[-1][0], help="the preset the run in --run trained with")
    ap.add_argument("--train", action="store_true", help="first train (or continue) every stage, then package")
    ap.add_argument("--soup", action="store_true", help="average the SOUP runs' generators, evaluate, write README")
    ap.add_argument("--windows", type=int, default=8, help="windows per validation shot (8 x 6 = 48 frames)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reuse-eval", action="store_true",
                    help="rewrite the README from the run's eval/metrics.json instead of evaluating again (e.g. after "
                         "the runs' folders moved)")
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    from deepfovea_nb.checkpoint import export_generator, list_checkpoints
    from deepfovea_nb.evaluate import versus
    from deepfovea_nb.losses import TERMS
    from deepfovea_nb.train import VAL_CURVES, plot_losses
    run, results = Path(a.run).resolve(), ROOT / "results"
    if a.soup: return soup(results, a.windows, a.device, a.reuse_eval)
    if a.train: train_stages(results)
    info = json.loads((run / "run.json").read_text())
    earlier = ancestors(info, [results / d for d in RUNS])   # the runs before this one
    model = run / "model.pt"
    if list_checkpoints(run / "checkpoints"): export_generator(run, model)
    elif not a.reuse_eval or not (model.is_file() or (run / "summary.json").is_file()):
        raise SystemExit(f"pretrained: {run} holds no checkpoint to export and evaluate; train it first, or pass "
                         "--reuse-eval to rewrite the README of a packaged run from its files")
    facts = model_facts(run)
    print(f"pretrained: {model} ({facts[0]:.2f} MB, step {facts[1]})", flush=True)
    hist = history(run, info, earlier)
    log = hist[0]
    keys = [k for k in ("g_total", *TERMS, "critic", *VAL_CURVES) if any(k in r for r in log)]
    fig = plot_losses(log, keys)
    fig.savefig(run / "loss_curves.png", dpi=100)
    samples = sorted((run / "samples").glob("step_*.png"))
    if samples: shutil.copyfile(samples[-1], run / "sample_last.png")
    ev, files = evaluation(model, run / "eval", a.windows, a.device, a.reuse_eval)
    if ev["lpips_note"]: print(ev["lpips_note"])
    vs, vs_fills, rows = comparisons(ev)
    vs_raw = None
    if facts[2]:   # what the average itself did: the trained weights of the same step, evaluated alike
        raw = run / "model_raw.pt"
        if not a.reuse_eval: export_generator(run, raw, ema=False)
        vs_raw = versus(evaluation(raw, run / "eval_raw", a.windows, a.device, a.reuse_eval)[0])
    (run / "README.md").write_text(readme(run, facts, ev, vs, info, rows, hist, earlier, a.preset, vs_fills, vs_raw))
    for c, ok, m in rows: print(f"pretrained: {'met ' if ok else 'NOT met'}  {c}: {m}")
    print("pretrained: wrote", ", ".join(str(f) for f in [model, run / "README.md", *files] if Path(f).exists()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
