"""Network sizes and generator throughput at the seed's 192x256 -> 768x1024 (nbs/02b_generator, 02c_discriminators).

Writes results/bench_networks.json: parameter counts of every network and generator variant (the seed's; with the
validity mask as an input channel; with a push-pull or spatio-temporal push-pull skip); generator frames/s (one call =
one window of F frames, batch 1, the state carried from call to call) of every variant on CPU in fp32 eager, with the
seconds spent in each block and in the classical fill; on CUDA, when present, the seed generator in fp32 eager, bf16
autocast and bf16 + channels_last + torch.compile, with peak GPU memory and the speed-up of the best mode over fp32
eager measured in the same run; the gap to a 90 Hz VR display rate.

    python benchmarks/bench_networks.py [--iters 3] [--warmup 1] [--frames 6 1] [--variants ...] [--threads N]
    python benchmarks/bench_networks.py --quick   # 32x64, 1 window: a smoke test, written to build/
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torchvision

from deepfovea_nb.blocks import count_params
from deepfovea_nb.discriminators import DiscriminatorConfig, FFTDiscriminator, SpatioTemporalDiscriminator
from deepfovea_nb.generator import GeneratorConfig, RecurrentUNet
from deepfovea_nb.sampling import classical_fill

ROOT = Path(__file__).resolve().parents[1]
VR_HZ = 90.0  # the refresh rate of the VR headsets DeepFovea targets (real-time VR)
VARIANTS = {  # generator variants (GeneratorConfig fields over the seed's)
    "seed": {},
    "mask_channel": dict(mask_channel=True),
    "skip_push_pull": dict(skip="push_pull"),
    "skip_st_push_pull": dict(skip="st_push_pull"),
    "mask_channel+skip_st_push_pull": dict(mask_channel=True, skip="st_push_pull"),
}


def param_counts() -> dict:
    "Parameters of every network, for F=6 (seed) and F=1 (paper); totals of every generator variant."
    out = {"generator": {}, "spatio_temporal_discriminator": {}, "fft_discriminator": {},
           "generator_variants": {v: {} for v in VARIANTS}}
    for f in (6, 1):
        dc = DiscriminatorConfig(frames=f)
        out["generator"][f"F={f}"] = count_params(RecurrentUNet(GeneratorConfig(frames=f)), by_block=True)
        out["spatio_temporal_discriminator"][f"F={f}"] = count_params(SpatioTemporalDiscriminator(dc))
        out["fft_discriminator"][f"F={f}"] = count_params(FFTDiscriminator(dc))
        for v, kw in VARIANTS.items():
            out["generator_variants"][v][f"F={f}"] = count_params(RecurrentUNet(GeneratorConfig(frames=f, **kw)))
    return out


def window(frames: int, h: int, w: int, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    "One foveated window (1, F, 3, h, w) with its validity mask (1, F, 1, h, w), ~30% of the pixels sampled."
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(1, frames, 1, h, w, generator=g) < 0.3).float()
    return (torch.rand(1, frames, 3, h, w, generator=g) * mask).to(device), mask.to(device)


def time_windows(net, x: torch.Tensor, state: list[torch.Tensor], iters: int, warmup: int,
                 ctx=contextlib.nullcontext, cuda: bool = False, mask: torch.Tensor | None = None) -> list[float]:
    "Seconds per window for `iters` consecutive windows of one video (`state` carried), after `warmup` windows."
    times = []
    with torch.inference_mode():
        for i in range(warmup + iters):
            if cuda: torch.cuda.synchronize()
            t = time.perf_counter()
            with ctx():
                _, state = net(x, state, mask)
            if cuda: torch.cuda.synchronize()
            if i >= warmup: times.append(time.perf_counter() - t)
    return times


def summarize(times: list[float], frames: int) -> dict:
    med = statistics.median(times)
    fps = frames / med
    return dict(window_s=[round(t, 4) for t in times], window_s_median=round(med, 4),
                window_s_min=round(min(times), 4), frames_per_s=round(fps, 3),
                frames_per_s_at_min=round(frames / min(times), 3),
                ms_per_frame=round(1000 * med / frames, 2), times_slower_than_90hz=round(VR_HZ / fps, 1))


def block_seconds(net: RecurrentUNet, x: torch.Tensor, mask: torch.Tensor) -> dict:
    "Wall seconds spent in each top-level block (encoder.i, decoder.i, sr.i, head) during one more window."
    t0, out, hooks = {}, {}, []
    blocks = [(f"{n}.{i}", b) for n in ("encoder", "decoder", "sr") for i, b in enumerate(getattr(net, n))]
    for name, m in blocks + [("head", net.head)]:
        hooks.append(m.register_forward_pre_hook(lambda m, i, n=name: t0.__setitem__(n, time.perf_counter())))
        hooks.append(m.register_forward_hook(
            lambda m, i, o, n=name: out.__setitem__(n, round(time.perf_counter() - t0[n], 4))))
    with torch.inference_mode():
        net(x, None, mask)
        if net.cfg.skip != "none":  # the classical fill the skip adds, timed on its own
            t = time.perf_counter()
            classical_fill(x, mask, net.cfg.scale, temporal=net.cfg.skip == "st_push_pull")
            out["classical_fill"] = round(time.perf_counter() - t, 4)
    for hk in hooks: hk.remove()
    return out


def cpu_bench(frames: int, h: int, w: int, iters: int, warmup: int, variant: str = "seed") -> dict:
    torch.manual_seed(0)
    net = RecurrentUNet(GeneratorConfig(frames=frames, **VARIANTS[variant])).eval()
    x, mask = window(frames, h, w)
    state = net.init_state(x, torch.Generator().manual_seed(0))
    r = summarize(time_windows(net, x, state, iters, warmup, mask=mask), frames)
    r["block_s"] = block_seconds(net, x, mask)
    return dict(variant=variant, **r)


def cuda_bench(frames: int, h: int, w: int, iters: int, warmup: int) -> dict:
    "fp32 eager, bf16 autocast, bf16 + channels_last + torch.compile on one GPU, same run; peak memory per mode."
    torch.manual_seed(0)
    dev = torch.device("cuda")
    net = RecurrentUNet(GeneratorConfig(frames=frames)).to(dev).eval()
    x = torch.rand(1, frames, 3, h, w, device=dev)  # one window
    bf16 = lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    res = {}

    def run(name, model, inp, ctx, n_warm):
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        try:
            state = net.init_state(inp, torch.Generator().manual_seed(0))
            r = summarize(time_windows(model, inp, state, iters, n_warm, ctx, cuda=True), frames)
            r["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 3)
        except Exception as e:  # record, do not lose the other modes
            r = {"error": f"{type(e).__name__}: {e}"[:500]}
        res[name] = r

    run("fp32_eager", net, x, contextlib.nullcontext, warmup)
    run("bf16_autocast", net, x, bf16, warmup)
    compiled = torch.compile(net.to(memory_format=torch.channels_last))  # channels_last weights: NHWC convolutions
    run("bf16_channels_last_compile", compiled, x, bf16, max(warmup, 3))  # the warm-up windows compile
    ok = {k: v for k, v in res.items() if "frames_per_s" in v}
    if "fp32_eager" in ok:
        best = max(ok, key=lambda k: ok[k]["frames_per_s"])
        res["best_mode"] = best
        res["speedup_best_over_fp32_eager"] = round(ok[best]["frames_per_s"] / ok["fp32_eager"]["frames_per_s"], 2)
    res["device"] = torch.cuda.get_device_name(0)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--frames", type=int, nargs="+", default=[6, 1])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                    help="generator variants to time on CPU (all by default)")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="default: results/bench_networks.json "
                                                          "(build/bench_networks_quick.json with --quick)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 32x64 input, 1 window, no warm-up, F=6 and F=1, every variant")
    a = ap.parse_args()
    if a.quick: a.height, a.width, a.iters, a.warmup = 32, 64, 1, 0
    if a.out is None:
        a.out = ROOT / ("build/bench_networks_quick.json" if a.quick else "results/bench_networks.json")
    for k in ("height", "width"):
        if getattr(a, k) < 32 or getattr(a, k) % 32: ap.error(f"--{k} must be a positive multiple of 32")
    if a.iters < 1 or a.warmup < 0: ap.error("--iters must be >= 1 and --warmup >= 0")
    if a.threads: torch.set_num_threads(a.threads)

    res = dict(
        benchmark="bench_networks",
        timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        torch=torch.__version__, torchvision=torchvision.__version__, python=platform.python_version(),
        platform=platform.platform(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        load_avg_1m_at_start=round(os.getloadavg()[0], 2),  # other jobs on the same cores slow the CPU numbers down
        params=param_counts(),
    )
    print(json.dumps(res["params"], indent=1))
    h, w = a.height, a.width
    thr = dict(input_hw=[h, w], output_hw=[4 * h, 4 * w], batch=1,
               window="a (1, F, 3, h, w) clip (and its mask) per call, state carried; frames/s = F / s per window",
               variants={v: VARIANTS[v] for v in a.variants},
               iters=a.iters, warmup=a.warmup, vr_target_hz=VR_HZ, cpu={}, cuda="not measured: no GPU")
    for f in a.frames:
        for v in a.variants:
            r = cpu_bench(f, h, w, a.iters, a.warmup, v)
            thr["cpu"][f"fp32_eager_F={f}" + ("" if v == "seed" else f"_{v}")] = r
            print(f"CPU fp32 eager F={f} {v:<32} {r['window_s_median']:>8} s/window, {r['frames_per_s']:>8} frames/s "
                  f"({r['times_slower_than_90hz']}x short of 90 Hz)")
    if torch.cuda.is_available():
        thr["cuda"] = {f"F={f}": cuda_bench(f, h, w, a.iters, a.warmup) for f in a.frames}
        print(json.dumps(thr["cuda"], indent=1))
    seed_cpu = [r for r in thr["cpu"].values() if r["variant"] == "seed"] or list(thr["cpu"].values())
    best_cpu = max(seed_cpu, key=lambda r: r["frames_per_s"])  # the seed generator's, when measured
    gap = (f"CPU ({res['torch_threads']} threads, fp32 eager): best {best_cpu['frames_per_s']} frames/s = "
           f"{best_cpu['ms_per_frame']} ms/frame against {1000 / VR_HZ:.1f} ms/frame at {VR_HZ:.0f} Hz: "
           f"{best_cpu['times_slower_than_90hz']}x short.")
    if isinstance(thr["cuda"], dict):
        for k, v in thr["cuda"].items():
            m = v.get(v.get("best_mode", ""), {})
            if "frames_per_s" in m:
                gap += (f" GPU {k} {v['best_mode']}: {m['frames_per_s']} frames/s, "
                        f"{m['times_slower_than_90hz']}x the 90 Hz budget (<1 = real time).")
    else:
        gap += " GPU not measured here (no GPU)."
    gap += (" F=6 also needs 6 input frames before it outputs any, i.e. >= 6 frames (67 ms at 90 Hz) of latency;"
            " streaming VR needs F=1 at 90 windows/s.")
    thr["gap_to_realtime_vr"] = gap
    res["generator_throughput"] = thr
    res["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(gap)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
