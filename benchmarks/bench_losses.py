"""Time and memory of each generator-loss term at demo size (forward + backward), CPU; writes
results/bench_losses.json.

Each term runs in its own subprocess so its peak resident memory can be read (ru_maxrss after the timed runs minus
the process's peak after building the term and its inputs). Times are medians over repeats; `ratio_to_l1` divides by
the plain L1 loss measured in the same run (both as the fastest repeat, the least disturbed by other load). Learned
networks (LPIPS backbone, VGG-19, PWC-Net) use their pretrained file when the search path has one (the LPIPS
backbones do wherever shared/weights/ is present) and random weights otherwise (allow_random=True): their cost does
not depend on the values; each row records which (`pretrained`). The GPU section (192x256 -> 768x1024 on a lent
GPU) is recorded as not measured when no CUDA device is present.

    .venv/bin/python benchmarks/bench_losses.py [--frames 6] [--size 128] [--repeats 5]
"""
import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TERMS = ["l1", "adaptive_channel", "adaptive_pixel", "lpips_alex", "lpips_vgg", "vgg19_half",
         "flow_dis_target", "flow_pwcnet_pred", "adv_g_nonsat", "r1_small_critic"]


def _build(term: str, shape: tuple):
    from torch import nn
    from deepfovea_nb import losses, robust
    n, t, c, h, w = shape
    if term == "l1": return lambda p, y: (p - y).abs().mean()
    if term == "adaptive_channel": return robust.AdaptiveRobustLoss(3, scale_init=0.05)
    if term == "adaptive_pixel":
        return robust.AdaptiveRobustLoss(per="pixel", pixel_shape=(t, c, h, w), scale_init=0.05)
    if term == "lpips_alex": return losses.perceptual_loss("alex", allow_random=True)  # LossConfig.perceptual
    if term == "lpips_vgg": return losses.perceptual_loss("vgg", allow_random=True)
    if term == "vgg19_half": return losses.perceptual_loss("vgg19", allow_random=True)
    if term == "flow_dis_target": return losses.FlowLoss("dis", on="target")  # LossConfig.flow, flow_on
    if term == "flow_pwcnet_pred": return losses.FlowLoss("pwcnet", on="pred", allow_random=True)
    critic = nn.Sequential(nn.Conv2d(3 * t, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 1, 4, 2, 1))
    if term == "adv_g_nonsat":
        critic.requires_grad_(False)
        return lambda p, y: losses.g_nonsaturating_loss(critic(p.flatten(1, 2)))
    if term == "r1_small_critic":
        def r1(p, y):
            yr = y.flatten(1, 2).detach().requires_grad_(True)
            return losses.r1_penalty(critic(yr), yr)
        return r1
    raise KeyError(term)


def _worker(term: str, shape: tuple, repeats: int, q) -> None:
    import torch
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)   # one thread: the machine is shared, more threads only add contention noise
    g = torch.Generator().manual_seed(0)
    y = torch.rand(*shape, generator=g)
    p0 = (y + 0.05 * torch.randn(shape, generator=g)).clamp(0, 1)
    fn = _build(term, shape)
    net = getattr(fn, "estimator", fn)
    pretrained = getattr(net, "pretrained", None)   # None: nothing learned in this term
    def step():
        p = p0.clone().requires_grad_(True)
        v = fn(p, y)
        v.backward()
        return float(v)
    step()  # warm-up (also builds caches, JIT kernels)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times.sort()
    q.put(dict(term=term, pretrained=pretrained, median_s=times[len(times) // 2], min_s=times[0], repeats=repeats,
               peak_rss_mb=peak / 1024, extra_peak_rss_mb_after_warmup=(peak - base) / 1024))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_losses.json")
    a = ap.parse_args()
    import torch
    shape = (a.batch, a.frames, 3, a.size, a.size)
    ctx = mp.get_context("spawn")
    rows = []
    for term in TERMS:
        q = ctx.Queue()
        pr = ctx.Process(target=_worker, args=(term, shape, a.repeats, q)); pr.start()
        r = q.get(); pr.join()
        rows.append(r)
        print(f"{term:20s} median {r['median_s'] * 1e3:9.1f} ms  min {r['min_s'] * 1e3:9.1f} ms  "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB", flush=True)
    ref = next(r["min_s"] for r in rows if r["term"] == "l1")   # min over repeats: least affected by other load
    ref_rss = next(r["peak_rss_mb"] for r in rows if r["term"] == "l1")
    for r in rows:
        r["ratio_to_l1"] = r["min_s"] / ref
        r["peak_rss_over_l1_mb"] = r["peak_rss_mb"] - ref_rss   # the term's own memory (network + activations)
    out = dict(
        what="forward+backward time and peak memory of each generator-loss term",
        cpu=dict(shape_NTCHW=list(shape), device="cpu", torch=torch.__version__, threads=1,
                 machine=platform.processor() or platform.machine(),
                 note="pretrained weights where found, else random (cost only; see each row's `pretrained`); "
                      "shared 2-core machine, times are indicative",
                 terms=rows),
        gpu=(dict(measured=False, reason="no CUDA device on the machine that ran this benchmark; target shape "
                  "192x256 -> 768x1024 output, 6 frames") if not torch.cuda.is_available() else
             dict(measured=False, reason="GPU section not implemented in this run")),
        command="python benchmarks/bench_losses.py",
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
