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


def section(res: Path) -> str:
    "The markdown between the README markers, from the files in `res`."
    run = json.loads((res / "train" / "run.json").read_text())
    ev = json.loads((res / "metrics.json").read_text())
    cfg = run["config"]
    (h, w), scale = cfg["degrade"]["hr_size"], cfg["degrade"]["scale"]
    terms = ", ".join(f"{k} {v:g}" for k, v in run["loss_terms"].items())
    lines = [
        f"Produced by `make demo` on `{Path(run['data']).name}`: {cfg['train']['steps']} training steps on CPU at "
        f"{h // scale}x{w // scale} -> {h}x{w}, {cfg['generator']['frames']} frames per window, "
        f"schedule `{cfg['train']['schedule']}`, loss terms (weights): {terms}. "
        f"Evaluated on {ev['frames']} frames ({ev['windows']} windows) of video `{ev['video']}`. "
        "A CPU demo shows the pipeline working and the losses falling; it is not a trained DeepFovea model: "
        + _compare(ev["metrics"]),
        "", (res / "metrics.md").read_text().strip(), "",
        "![input / baselines / model / label](results/demo/strip.png)", "",
        "![quality vs eccentricity](results/demo/eccentricity.png)", "",
        "![training losses](results/demo/loss_curves.png)",
    ]
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
