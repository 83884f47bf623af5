"""Regenerate README.md's results section from results/demo/ (written by `make demo`); never typed by hand."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _compare(m: dict) -> str:
    "One generated sentence placing the model between the baselines by PSNR."
    if "model" not in m: return "no model was evaluated."
    better = [k for k, v in m.items() if k not in ("model", "label") and "psnr" in v and m["model"]["psnr"] > v["psnr"]]
    worse = [k for k, v in m.items() if k not in ("model", "label") and "psnr" in v and m["model"]["psnr"] <= v["psnr"]]
    return (f"after this short run the model's PSNR ({m['model']['psnr']:.2f} dB) is above "
            f"{', '.join(better) or 'no baseline'} and below {', '.join(worse) or 'no baseline'}.")


def _pretrained(res: Path) -> list[str]:
    "The shipped model's lines: on the demo clip (OUT/pretrained) and on the validation clips (results/pretrained)."
    lines, demo, val = [], res / "pretrained", ROOT / "results" / "pretrained"
    if (demo / "metrics.md").is_file():
        ev = json.loads((demo / "metrics.json").read_text())
        lines += ["", "**The shipped model** (`results/pretrained/model.pt`, trained by `make pretrained` on the "
                  f"seven training clips, never on this clip) on the same clip ({ev['frames']} frames, windows and "
                  "masks from its own run's settings, so the baselines' numbers differ from those above): "
                  + _compare(ev["metrics"]).replace("after this short run the", "the"),
                  "", (demo / "metrics.md").read_text().strip(), "",
                  f"![shipped model: input / baselines / model / label]({demo.relative_to(ROOT)}/strip.png)"]
    if (val / "eval" / "metrics.json").is_file():
        ev = json.loads((val / "eval" / "metrics.json").read_text())
        vs = ev["model_vs_st_push_pull"]["mean_over_videos"]
        sm = json.loads((val / "summary.json").read_text()) if (val / "summary.json").is_file() else {}
        if sm: lines += ["", f"The shipped model trained {sm['steps']} steps in {sm['wall_hours']:.1f} h of wall time "
                         f"on this machine's 2 CPU cores, {sm['train_step_hours']:.1f} h of it inside the training "
                         "steps (`make pretrained`)."]
        lines += ["", f"On the held-out validation clips ({', '.join(ev['by_video'])}; {ev['frames']} frames), "
                  f"mean over videos, the shipped model against st_push_pull_bicubic: ΔPSNR {vs['psnr']:+.2f} dB "
                  f"(fovea {vs['psnr_fovea']:+.2f}, periphery {vs['psnr_periphery']:+.2f})"
                  + (f", ΔLPIPS {vs['lpips']:+.4f}" if "lpips" in vs else "") + "." + "".join(
                      f" Against {name} ({sm.get('fills', {}).get(name, 'a classical fill')}, reported beside "
                      "the bar's baseline): ΔPSNR "
                      f"{d['psnr']:+.2f} dB (fovea {d['psnr_fovea']:+.2f}, periphery {d['psnr_periphery']:+.2f})."
                      for name, d in ((k, v["mean_over_videos"]) for k, v in sm.get("vs_fills", {}).items()))
                  + " Tables, curves and the training log: "
                  "[results/pretrained/README.md](results/pretrained/README.md)."]
    return lines


def section(res: Path) -> str:
    "The markdown between the README markers, from the files in `res`."
    run = json.loads((res / "train" / "run.json").read_text())
    ev = json.loads((res / "metrics.json").read_text())
    cfg = run["config"]
    (h, w), scale = cfg["degrade"]["hr_size"], cfg["degrade"]["scale"]
    terms = ", ".join(f"{k} {v:g}" for k, v in run["loss_terms"].items())
    g = cfg["generator"]
    lines = [
        f"Produced by `make demo` on `{Path(run['data']).name}`: a model trained from scratch for "
        f"{cfg['train']['steps']} steps on CPU at {h // scale}x{w // scale} -> {h}x{w}, {g['frames']} frames per "
        f"window, skip `{g['skip']}`, mask channel {g['mask_channel']}, schedule `{cfg['train']['schedule']}`, "
        f"loss terms (weights): {terms}. Evaluated on {ev['frames']} frames ({ev['windows']} windows) of video "
        f"`{ev['video']}`: " + _compare(ev["metrics"]),
        "", (res / "metrics.md").read_text().strip(), "",
        "![input / baselines / model / label](results/demo/strip.png)", "",
        "![quality vs eccentricity](results/demo/eccentricity.png)", "",
        "![training losses](results/demo/loss_curves.png)", *_pretrained(res)]
    return "\n".join(lines)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text: raise SystemExit(f"README.md lacks the {START} / {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + "\n" + section(ROOT / "results" / "demo") + "\n" + END + tail)
    print("readme_results: README.md results section regenerated from results/demo/")


if __name__ == "__main__":
    main()
