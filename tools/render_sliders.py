"""Pre-render the sampling sliders for the static docs: masks for a small grid of slider values + an HTML/JS page.

The live panel in `nbs/00b_sampling.ipynb` needs a kernel (ipywidgets). The docs have none, so this script
draws, with `deepfovea_nb.sampling`, the density map and one sampled mask (seed 0) for every combination of
a few values of each slider, and writes a self-contained page (no network, no kernel) that swaps the
pre-rendered images and the kept-fraction text as the reader drags the sliders.

Usage: python tools/render_sliders.py [--out _docs/_static/sliders] [--clip VIDEO_OR_FRAMES]
"""
from __future__ import annotations

import argparse
import html
import io
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The grid: every combination is pre-rendered (5 x 4 x 3 x 3 = 180 settings, a few MB of small PNGs).
GRID = dict(
    r_inner=[0.0, 10.0, 20.0, 30.0, 40.0],      # inner radius (low-res px)
    r_outer=[45.0, 60.0, 80.0, 100.0],         # outer radius, always > every inner radius: all settings valid
    p_outer=[0.05, 0.15, 0.30],                # peripheral density
    gaze=["left", "centre", "right"],          # the three gaze points of the notebook's gaze figure
)
P_INNER = 0.98                                  # the seed's foveal density
SEED = 0                                        # torch.Generator seed of the drawn mask
DEFAULT = dict(r_inner=20.0, r_outer=45.0, p_outer=0.15, gaze="centre")   # the seed's setting


def _gaze_points(H: int, W: int) -> dict:
    "The notebook's three gaze points (x, y) on an H x W input."
    return dict(left=(W * .25, H * .35), centre=(W // 2, H // 2), right=(W * .75, H * .65))


def demo_frame(clip: str | None = None):
    "First frame of the demo clip as the low-res input (3,H,W) in [0,1], as the notebook draws it (else synthetic)."
    import torch
    from deepfovea_nb.frames import VideoWindows, find_videos, resolve_clip
    from deepfovea_nb.sampling import DegradeConfig, degrade
    try:
        path = resolve_clip(clip)
        hr = VideoWindows(find_videos(path, max_frames=6))[0]["frames"][:1]
        source = Path(path).name
    except Exception as e:  # no clip here and no download: still render masks, over a neutral test pattern
        print(f"render_sliders: no demo clip ({e}); using a synthetic frame", file=sys.stderr)
        y, x = torch.meshgrid(torch.linspace(0, 1, 720), torch.linspace(0, 1, 1280), indexing="ij")
        hr = torch.stack([x, y, 0.5 + 0.5 * torch.sin(20 * x) * torch.sin(12 * y)]).unsqueeze(0)
        source = "synthetic test pattern"
    cfg = DegradeConfig() if tuple(hr.shape[-2:]) == (720, 1280) else DegradeConfig(hr_size=None)
    lr = degrade(hr, cfg, generator=torch.Generator().manual_seed(0))["lr"][0]
    return lr.clamp(0, 1), source


def _png(arr) -> bytes:
    "PNG bytes of a uint8 HxWx3 array, or a 1-bit PNG of a bool HxW array."
    from PIL import Image
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def render(out: Path, clip: str | None = None) -> dict:
    "Write `out/index.html`, `out/data.js` and the PNGs; returns the manifest."
    import numpy as np
    import torch
    from matplotlib import colormaps
    from deepfovea_nb.sampling import DegradeConfig, FoveaConfig, density_map, expected_fraction, fovea_mask
    t0 = time.time()
    torch.set_num_threads(1)   # tiny tensors: threads only add overhead (and the docs build shares the CPU)
    out.mkdir(parents=True, exist_ok=True)
    (out / "img").mkdir(exist_ok=True)
    lr, source = demo_frame(clip)
    H, W = lr.shape[-2:]
    frame = (lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    (out / "img" / "frame.png").write_bytes(_png(frame))
    magma = colormaps["magma"]
    gazes = _gaze_points(H, W)
    margin = min(DegradeConfig().gaze_margin, (min(H, W) - 1) / 2 - 1)   # training's gaze margin, fitted to the frame
    settings = {}
    for r_in, r_out, p_out, gname in itertools.product(*GRID.values()):
        # the notebook's `seed_cut`: keep the seed's jump at 80% of the way from inner to outer radius
        cfg = FoveaConfig(r_in, r_out, P_INNER, p_out, r_in + 0.8 * (r_out - r_in))
        g = torch.tensor([[float(gazes[gname][0]), float(gazes[gname][1])]])
        p = density_map(g, (H, W), cfg)[0, 0]
        m = fovea_mask(g, (H, W), cfg, torch.Generator().manual_seed(SEED))[0, 0]
        key = f"{r_in:g}_{r_out:g}_{p_out:g}_{gname}"
        (out / "img" / f"density_{key}.png").write_bytes(_png((magma(p.numpy())[..., :3] * 255).astype(np.uint8)))
        (out / "img" / f"mask_{key}.png").write_bytes(_png(m.numpy().astype(bool)))
        settings[key] = dict(kept=float(m.mean()), expected=float(p.mean()),
                             expected_random_gaze=expected_fraction(cfg, mask_size=(H, W), margin=margin))
    manifest = dict(grid=GRID, default=DEFAULT, p_inner=P_INNER, seed=SEED, size=[H, W], source=source,
                    gaze_points={k: [float(v[0]), float(v[1])] for k, v in gazes.items()}, settings=settings)
    (out / "data.js").write_text("window.SLIDERS = " + json.dumps(manifest, indent=0) + ";\n")
    page = PAGE.replace("{{SOURCE}}", html.escape(source)).replace("{{H}}", str(H)).replace("{{W}}", str(W))
    (out / "index.html").write_text(page)
    print(f"render_sliders: {len(settings)} settings on a {H}x{W} input from {source} in {time.time() - t0:.1f}s "
          f"-> {out}")
    return manifest


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sampling sliders (pre-rendered)</title>
<link rel="icon" href="data:,">
<style>
 body { font-family: system-ui, sans-serif; margin: 12px; color: #222; background: #fff; }
 .controls { display: grid; grid-template-columns: 9em minmax(8em, 18em) 5em; gap: 4px 10px; align-items: center;
             max-width: 40em; }
 .panels { display: flex; gap: 10px; margin-top: 12px; }
 figure { margin: 0; flex: 1 1 0; min-width: 120px; max-width: calc(1.5 * {{W}}px); }
 figcaption { font-size: 0.85em; text-align: center; }
 .px { image-rendering: pixelated; width: 100%; height: auto; aspect-ratio: {{W}} / {{H}}; display: block; }
 .stack { position: relative; }
 .stack img.mask { position: absolute; left: 0; top: 0; mix-blend-mode: multiply; }
 #fraction { font-weight: 600; margin-top: 10px; }
 .note { font-size: 0.85em; color: #555; max-width: 52em; }
</style>
</head>
<body>
<div class="controls">
 <label for="r_inner">inner radius r</label><input type="range" id="r_inner"><span id="r_inner_v"></span>
 <label for="r_outer">outer radius r</label><input type="range" id="r_outer"><span id="r_outer_v"></span>
 <label for="p_outer">outer density p</label><input type="range" id="p_outer"><span id="p_outer_v"></span>
 <label for="gaze">gaze</label><input type="range" id="gaze"><span id="gaze_v"></span>
</div>
<div id="fraction"></div>
<div class="panels">
 <figure><img id="density" class="px" alt="density map"><figcaption>density p</figcaption></figure>
 <figure><img id="mask" class="px" alt="sampled mask"><figcaption>mask (seed 0)</figcaption></figure>
 <figure><div class="stack"><img id="frame" class="px" src="img/frame.png" alt="demo frame"><img id="masked"
  class="px mask" alt="mask over the demo frame"></div><figcaption>masked demo frame</figcaption></figure>
</div>
<p class="note">Pre-rendered with <code>deepfovea_nb.sampling</code> (<code>density_map</code>,
<code>fovea_mask</code>) for a grid of slider values: inner density fixed at the seed's 0.98, the seed's jump kept at
80% of the way from inner to outer radius, mask seed 0, {{H}}x{{W}} input from {{SOURCE}}. In JupyterLab the same
panel is live (<code>nbs/00b_sampling.ipynb</code>, section Sliders) with every value.</p>
<script src="data.js"></script>
<script>
(function () {
  const S = window.SLIDERS, names = ["r_inner", "r_outer", "p_outer", "gaze"];
  const pct = v => (100 * v).toFixed(2) + "%";
  function key() {
    return names.map(n => {
      const v = S.grid[n][+document.getElementById(n).value];
      return typeof v === "number" ? String(v) : v;
    }).join("_");
  }
  function update() {
    names.forEach(n => {
      document.getElementById(n + "_v").textContent = S.grid[n][+document.getElementById(n).value];
    });
    const k = key(), s = S.settings[k];
    document.getElementById("density").src = "img/density_" + k + ".png";
    document.getElementById("mask").src = "img/mask_" + k + ".png";
    document.getElementById("masked").src = "img/mask_" + k + ".png";
    document.getElementById("fraction").textContent = "kept " + pct(s.kept) + " of the " + S.size[0] + "x" +
      S.size[1] + " input (expected " + pct(s.expected) + " at this gaze, " + pct(s.expected_random_gaze) +
      " over random gazes)";
  }
  names.forEach(n => {
    const el = document.getElementById(n);
    el.min = 0; el.max = S.grid[n].length - 1; el.step = 1; el.value = S.grid[n].indexOf(S.default[n]);
    el.addEventListener("input", update);
  });
  update();
})();
</script>
</body>
</html>
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "_docs" / "_static" / "sliders"))
    ap.add_argument("--clip", default=None, help="video file or folder of frames (default: the demo clip)")
    a = ap.parse_args(argv)
    render(Path(a.out), a.clip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
