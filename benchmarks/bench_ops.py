"""Benchmark deepfovea_nb.ops at real shapes -> results/bench_ops.json.

1. correlation (d=4, stride 1, kernel 1) on a 1x64x48x64 feature pair, forward+backward, CPU:
   compiled kernel vs the pure-PyTorch reference, time and peak memory of each.
   With CUDA: the same at PWC-Net's pyramid levels for a 768x1024 frame.
2. ModulatedDeformConv2d at the generator's super-resolution shapes (48 input channels, 192x256 and
   384x512; 8 and 18 output channels), forward+backward, vs a plain nn.Conv2d of the same shape, with
   both implementations (torchvision.ops.deform_conv2d, the default, and the grid_sample option).

Timing: the contenders are interleaved round by round and the median over rounds is reported, so that
load from other processes (the development machines share their cores) hits all of them alike; only
ratios measured within one run are meaningful.
Memory (CPU): torch.profiler's memory timeline (profile_memory=True) replays every tensor allocation and
free made through PyTorch's CPU allocator during one forward+backward; `peak_live_bytes` is the highest
total of live tensor bytes (inputs, which exist beforehand, included), `peak_extra_bytes` the same minus
the bytes live before the step. On CUDA, torch.cuda.max_memory_allocated after reset_peak_memory_stats.

    python benchmarks/bench_ops.py [--quick]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from deepfovea_nb import ops  # noqa: E402


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_rounds(fns: dict, rounds: int, reps: int, device: str = "cpu") -> dict:
    "Median/min seconds per call of each fn, interleaving the fns round by round (after one warm-up call each)."
    for f in fns.values():
        f()
    _sync(device)
    samples = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            _sync(device)
            t = time.perf_counter()
            for _ in range(reps):
                f()
            _sync(device)
            samples[k].append((time.perf_counter() - t) / reps)
    return {k: {"median_s": statistics.median(v), "min_s": min(v), "rounds": rounds, "reps_per_round": reps}
            for k, v in samples.items()}


def cpu_peak_memory(fn) -> dict:
    "Peak live tensor bytes during one call of `fn`, from torch.profiler's memory timeline (CPU allocator)."
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import Action
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as p:
        fn()
    cur = peak = before = 0
    for _, action, _, size in p._memory_profile().timeline:
        if action == Action.PREEXISTING:
            before += size
            cur += size
        elif action == Action.CREATE:
            cur += size
        elif action == Action.DESTROY:
            cur -= size
        peak = max(peak, cur)
    return {"peak_live_bytes": peak, "peak_extra_bytes": peak - before, "live_before_bytes": before,
            "method": "torch.profiler memory timeline (profile_memory=True), CPU allocator"}


def cuda_peak_memory(fn) -> dict:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    return {"peak_live_bytes": peak, "peak_extra_bytes": peak - before, "live_before_bytes": before,
            "method": "torch.cuda.max_memory_allocated after reset_peak_memory_stats"}


def corr_step(backend: str, shape: tuple, device: str, d: int = 4):
    g = torch.Generator(device=device).manual_seed(0)
    f1 = torch.randn(shape, generator=g, device=device, requires_grad=True)
    f2 = torch.randn(shape, generator=g, device=device, requires_grad=True)
    go = torch.randn(ops._corr_out_shape(f1, d, 1, 1), generator=g, device=device)

    def step():
        out = ops.correlation(f1, f2, d, backend=backend)
        torch.autograd.grad(out, (f1, f2), go)
    return step


def bench_correlation(device: str, shapes: list, rounds: int, reps: int) -> dict:
    res = {}
    for shape in shapes:
        steps = {bk: corr_step(bk, shape, device) for bk in ("reference", "compiled")}
        t = time_rounds(steps, rounds, reps, device)
        mem = {bk: (cuda_peak_memory if device == "cuda" else cpu_peak_memory)(s) for bk, s in steps.items()}
        key = "x".join(map(str, shape))
        res[key] = {
            "shape_each_input": list(shape), "max_displacement": 4, "stride1": 1, "stride2": 1, "kernel_size": 1,
            "what": "forward + backward (grads of both inputs)",
            "time": t,
            "speedup_compiled_vs_reference_median": t["reference"]["median_s"] / t["compiled"]["median_s"],
            "speedup_compiled_vs_reference_min": t["reference"]["min_s"] / t["compiled"]["min_s"],
            "memory": mem,
        }
        print(f"correlation {device} {key}: reference {t['reference']['median_s'] * 1e3:.1f} ms, compiled "
              f"{t['compiled']['median_s'] * 1e3:.1f} ms, x{res[key]['speedup_compiled_vs_reference_median']:.1f}; "
              f"peak extra MiB ref {mem['reference']['peak_extra_bytes'] / 2**20:.2f} "
              f"compiled {mem['compiled']['peak_extra_bytes'] / 2**20:.2f}", flush=True)
    return res


def bench_dcn(hw_list: list, couts: list, rounds: int, reps: int, device: str = "cpu") -> dict:
    res = {}
    for h, w in hw_list:
        for cout in couts:
            torch.manual_seed(0)
            x = torch.randn(1, 48, h, w, device=device, requires_grad=True)
            dcn = ops.ModulatedDeformConv2d(48, cout, 3, padding=1).to(device)
            conv = nn.Conv2d(48, cout, 3, padding=1).to(device)
            with torch.no_grad():  # fractional offsets, as after training (zero offsets take the same time)
                nn.init.normal_(dcn.conv_offset_mask.weight, std=0.01)
            steps = {}
            for name, m, bk in (("ModulatedDeformConv2d", dcn, "torchvision"), ("nn.Conv2d", conv, None),
                                ("ModulatedDeformConv2d[grid_sample]", dcn, "grid_sample")):
                def step(m=m, x=x, bk=bk):
                    if bk is not None:
                        m.backend = bk
                    m.zero_grad(set_to_none=True)
                    x.grad = None
                    m(x).sum().backward()
                steps[name] = step
            t = time_rounds(steps, rounds, reps, device)
            mem = {k: (cuda_peak_memory if device == "cuda" else cpu_peak_memory)(s) for k, s in steps.items()}
            key = f"48->{cout}@{h}x{w}"
            ratio = t["ModulatedDeformConv2d"]["median_s"] / t["nn.Conv2d"]["median_s"]
            gs = t["ModulatedDeformConv2d[grid_sample]"]["median_s"]
            res[key] = {"input": [1, 48, h, w], "out_channels": cout, "kernel_size": 3,
                        "what": "forward + backward (grads of input and all parameters)", "time": t,
                        "slowdown_dcn_vs_conv_median": ratio,
                        "slowdown_dcn_grid_sample_vs_conv_median": gs / t["nn.Conv2d"]["median_s"],
                        "speedup_grid_sample_vs_torchvision_median": t["ModulatedDeformConv2d"]["median_s"] / gs,
                        "memory": mem}
            print(f"dcn {device} {key}: dcn {t['ModulatedDeformConv2d']['median_s'] * 1e3:.0f} ms, conv "
                  f"{t['nn.Conv2d']['median_s'] * 1e3:.0f} ms, x{ratio:.1f}, dcn[grid_sample] {gs * 1e3:.0f} ms; "
                  f"peak extra MiB dcn "
                  f"{mem['ModulatedDeformConv2d']['peak_extra_bytes'] / 2**20:.0f} dcn[grid_sample] "
                  f"{mem['ModulatedDeformConv2d[grid_sample]']['peak_extra_bytes'] / 2**20:.0f} conv "
                  f"{mem['nn.Conv2d']['peak_extra_bytes'] / 2**20:.0f}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds and only the smaller DCN shape")
    ap.add_argument("--out", default=str(ROOT / "results" / "bench_ops.json"))
    args = ap.parse_args()
    assert ops.correlation_backend("cpu") == "compiled", f"compiled kernel unavailable: {ops.backends()}"
    load0 = os.getloadavg()
    out = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "backends": ops.backends(),
        "note": ("CPU cores were shared with other processes during the run (see loadavg); timings are medians of "
                 "interleaved rounds and only the ratios within this run are meaningful."),
    }
    r = 3 if args.quick else 7
    out["correlation_cpu"] = bench_correlation("cpu", [(1, 64, 48, 64)], rounds=r, reps=2)
    out["modulated_deform_conv2d_cpu"] = bench_dcn([(192, 256)] + ([] if args.quick else [(384, 512)]), [8, 18],
                                                   rounds=3, reps=1)
    if torch.cuda.is_available() and ops.correlation_backend("cuda") == "compiled":
        # PWC-Net feature pyramid of a 768x1024 frame: levels 6..2 (1/64 .. 1/4), channels 196..32
        levels = [(1, 196, 12, 16), (1, 128, 24, 32), (1, 96, 48, 64), (1, 64, 96, 128), (1, 32, 192, 256)]
        out["correlation_cuda_pwcnet_768x1024"] = bench_correlation("cuda", levels, rounds=7, reps=10)
        out["modulated_deform_conv2d_cuda"] = bench_dcn([(192, 256), (384, 512)], [8, 18], 7, 5, "cuda")
    out["loadavg_start_end"] = [list(load0), list(os.getloadavg())]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
