"""deepfovea-reconstruct on tiny synthetic videos: streaming equals one pass, every gaze mode, the gaze CSV's errors,
no partial output on failure (an exception or ^C mid-stream), the written video, and memory that does not grow with
the video (peak RSS of N vs 10N frames, each in its own process)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import deepfovea_nb.reconstruct as rc
from deepfovea_nb.checkpoint import FORMAT, atomic_save, build_generator, load_generator
from deepfovea_nb.config import config_to_dict, make_config
from deepfovea_nb.sampling import degrade

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
torch.set_num_threads(1)


def synthetic(n: int, h: int = 64, w: int = 96, cut_at: int | None = None):
    "`n` frames (3, h, w) of a smooth moving pattern; another pattern from frame `cut_at` on."
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    for t in range(n):
        p = 0.25 * t
        if cut_at is not None and t >= cut_at:
            yield torch.stack([0.5 + 0.45 * torch.sin(25 * yy - p), 0.5 + 0.45 * torch.cos(20 * xx * yy + p),
                               0.3 + 0.2 * torch.sin(15 * xx)])
        else:
            yield torch.stack([0.5 + 0.4 * torch.sin(6 * xx + p), 0.5 + 0.4 * torch.cos(5 * yy - p),
                               0.5 + 0.3 * torch.sin(4 * (xx + yy) + p)])


def write_clip(path: Path, n: int, h: int = 64, w: int = 96, **kw) -> Path:
    rc.encode_video(synthetic(n, h, w, **kw), path, 24)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("reconstruct")
    cfg = make_config("tiny")
    torch.manual_seed(0)
    G = build_generator(cfg)
    ckpt = atomic_save({"config": config_to_dict(cfg), "G": G.state_dict(), "step": 0, "format": FORMAT},
                       d / "tiny.pt")
    return {"dir": d, "clip": write_clip(d / "clip.mp4", 24), "ckpt": ckpt}


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_streaming_equals_one_pass(work):
    """Window by window with the state carried (and frames resized first) == one generator call on the whole clip."""
    G, cfg = load_generator(work["ckpt"])
    frames = list(synthetic(15, 96, 128))
    fs, src_hw = 0.5, (96, 128)
    hw = rc.scaled_size(src_hw, fs)
    d = rc.recon_degrade(cfg, hw, G.cfg.multiple * G.cfg.scale)
    gm = rc.gaze_to_mask(rc.gaze_to_frame(rc.make_gaze("saccades", 15, src_hw, seed=2), src_hw, fs), hw, d)
    recs = list(rc.reconstruct_stream(((f, i == 0) for i, f in enumerate(frames)), gm, d, G, G.cfg.frames, fs))
    assert [r["index"] for r in recs] == list(range(15))
    hr = rc.scale_frames(torch.stack(frames), fs)
    whole = degrade(hr, d, gaze=gm, generator=torch.Generator().manual_seed(0))
    x, m = whole["input"][None], whole["mask"][None]
    with torch.no_grad():
        y, _ = G(x, G.init_state(x, torch.Generator().manual_seed(0)), mask=m)
    torch.testing.assert_close(torch.stack([r["output"] for r in recs]), rc._crop(y[0].clamp(0, 1), hw),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.stack([r["label"] for r in recs]), hr)


def test_bf16_autocast_path(work):
    """The autocast path (bf16): refused on the CPU by `reconstruct`, but the stream itself runs under it anywhere."""
    G, cfg = load_generator(work["ckpt"])
    frames, hw = list(synthetic(6)), (64, 96)
    d = rc.recon_degrade(cfg, hw, G.cfg.multiple * G.cfg.scale)
    gm = rc.gaze_to_mask(rc.make_gaze("center", 6, hw), hw, d)
    run = lambda p: torch.stack([r["output"] for r in rc.reconstruct_stream(
        ((f, i == 0) for i, f in enumerate(frames)), gm, d, G, G.cfg.frames, precision=p)])
    a, b = run("fp32"), run("bf16")
    assert b.dtype == torch.float32 and torch.isfinite(b).all()
    assert (a - b).abs().mean() < 0.05, (a - b).abs().mean()


@pytest.mark.parametrize("text,msg", [
    ("", "is empty"),
    ("frame,x\n0,1\n", "needs exactly the header frame,x,y"),
    ("frame;x;y\n0;1;1\n", "needs exactly the header frame,x,y"),
    ("frame,x,y\n0,1,1\n1,2\n", "line 3: expected 3 values"),
    ("frame,x,y\n0,one,1\n", "line 2: 0,one,1 is not frame,x,y"),
    ("frame,x,y\n0.5,1,1\n", "is not frame,x,y"),
    ("frame,x,y\n0,1,1\n3,1,1\n", "no row for 2 of the 4 frames (1-2)"),
    ("frame,x,y\n0,96,1\n", "line 2 (frame 0): gaze (x=96, y=1) is outside the 64x96 (HxW) video"),
    ("frame,x,y\n1,5,64\n", "outside the 64x96"),
    ("frame,x,y\n0,inf,1\n", "outside"),
    ("frame,x,y\n-2,1,1\n", "frame -2 is negative"),
    ("frame,x,y\n0,1,1\n0,1,1\n", "line 3: frame 0 is given twice"),
])
def test_gaze_csv_errors(tmp_path, text, msg):
    p = tmp_path / "gaze.csv"
    p.write_text(text)
    with pytest.raises(ValueError) as e:
        rc.parse_gaze_csv(p, 4, (64, 96))
    assert msg in str(e.value), str(e.value)


def test_gaze_csv_reads_rows_in_any_order_and_ignores_later_frames(tmp_path):
    p = tmp_path / "gaze.csv"
    p.write_text("frame,x,y\n2,3,4\n0,1,2\n1,2.5,3\n7,0,0\n")
    assert rc.parse_gaze_csv(p, 3, (64, 96)).tolist() == [[1, 2], [2.5, 3], [3, 4]]


@pytest.mark.parametrize("spec", ["center", "40,20", "5,5:90,60:10,50", "saccades", "csv"])
def test_every_gaze_mode_end_to_end(work, tmp_path, spec):
    """Each gaze mode drives a whole run; the metrics JSON records the per-frame gaze that mode gives."""
    if spec == "csv":
        (tmp_path / "g.csv").write_text("frame,x,y\n" + "".join(f"{i},{3 * i},{2 * i}\n" for i in range(24)))
        spec = str(tmp_path / "g.csv")
    s = rc.reconstruct(work["clip"], tmp_path / "o.mp4", method="push_pull", gaze=spec, frame_scale=1.0,
                       max_frames=10, seed=1, progress=False)
    meta = json.loads((tmp_path / "o.json").read_text())
    want = rc.make_gaze(spec, 10, (64, 96), seed=1)
    assert torch.tensor([r["gaze"] for r in meta["per_frame"]]).allclose(want)
    assert s["frames"] == 10 and meta["frames"] == 10
    assert len(meta["per_frame"][0]["psnr_by_eccentricity"]) == len(rc.EDGES) - 1


@pytest.mark.parametrize("layout,error,size", [("recon", False, (64, 96)), ("side", False, (64, 288)),
                                               ("side", True, (64, 384))])
def test_written_video_decodes(work, tmp_path, layout, error, size):
    s = rc.reconstruct(work["clip"], tmp_path / "v.mp4", work["ckpt"], layout=layout, error=error,
                       frame_scale=1.0, progress=False)
    src = rc.open_source(tmp_path / "v.mp4")
    assert (src.n_frames, src.size, src.fps) == (24, size, 24)
    assert len(list(rc.read_frames(src))) == 24
    assert s["frames"] == 24 and _files(tmp_path) == ["v.json", "v.mp4"]


def test_odd_sizes_and_frame_scale(tmp_path):
    """Any input size: frames resized by frame_scale, padded for the network and cropped back; 4:2:0 gets even."""
    clip = write_clip(tmp_path / "odd.mp4", 7, 130, 170)
    s = rc.reconstruct(clip, tmp_path / "o.mp4", method="st_push_pull", frame_scale=0.35, progress=False)
    hw = rc.scaled_size((130, 170), 0.35)
    assert s["frame_size"] == list(hw) and hw == (45, 59)
    assert rc.open_source(tmp_path / "o.mp4").size == (46, 60)


def test_no_partial_output_on_interrupt(work, tmp_path, monkeypatch):
    """^C (or any exception) mid-stream, after frames were encoded: neither the video nor a temp file is left."""
    real, calls = rc.frame_scores, []
    def scores(*a, **kw):
        calls.append(1)
        if len(calls) == 8: raise KeyboardInterrupt
        return real(*a, **kw)
    monkeypatch.setattr(rc, "frame_scores", scores)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        rc.reconstruct(work["clip"], out / "v.mp4", work["ckpt"], frame_scale=1.0, progress=False)
    assert len(calls) == 8 and _files(out) == []
    def boom(*a, **kw): raise RuntimeError("boom")
    monkeypatch.setattr(rc, "frame_panels", boom)
    with pytest.raises(RuntimeError, match="boom"):
        rc.reconstruct(work["clip"], out / "v.mp4", method="push_pull", frame_scale=1.0, progress=False)
    assert _files(out) == []


def test_truncated_and_corrupt_inputs_leave_nothing(work, tmp_path):
    import av
    with av.open(str(tmp_path / "fs.mp4"), "w", format="mp4", options={"movflags": "faststart"}) as c:
        st = c.add_stream("libx264", rate=24)
        st.height, st.width, st.pix_fmt = 64, 96, "yuv420p"
        g = torch.Generator().manual_seed(0)
        for _ in range(24):
            a = (torch.rand(64, 96, 3, generator=g) * 255).byte().numpy()
            for p in st.encode(av.VideoFrame.from_ndarray(a, format="rgb24")): c.mux(p)
        for p in st.encode(None): c.mux(p)
    data = (tmp_path / "fs.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="truncated or corrupt"):
        rc.reconstruct(tmp_path / "cut.mp4", out / "v.mp4", method="push_pull", frame_scale=1.0, progress=False)
    assert _files(out) == []
    assert rc.main([str(tmp_path / "cut.mp4"), "-o", str(out / "v.mp4"), "--method", "push_pull",
                    "--frame-scale", "1", "--no-progress"]) == 1
    assert _files(out) == []


def test_cuts_found_while_streaming(tmp_path):
    clip = write_clip(tmp_path / "cuts.mp4", 20, cut_at=13)
    s = rc.reconstruct(clip, tmp_path / "o.mp4", method="push_pull", frame_scale=1.0, progress=False)
    assert s["cuts"] == [13]
    s = rc.reconstruct(clip, tmp_path / "o.mp4", method="push_pull", frame_scale=1.0, progress=False,
                       cut_threshold=None)
    assert s["cuts"] == []


MEMORY = """
import sys, time, torch
torch.set_num_threads(1)
from deepfovea_nb.reconstruct import reconstruct
for clip in sys.argv[1:]:      # the short video first: its peak, then whether the 10x longer one raises it
    t0 = time.perf_counter()
    reconstruct(clip, clip[:-4] + "_out.mp4", method="push_pull", frame_scale=1.0, progress=False)
    # VmHWM: this process's own peak (ru_maxrss survives exec and would start at the parent's, pytest's, peak)
    peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(int(peak), time.perf_counter() - t0)
"""


def test_memory_does_not_grow_with_the_video(tmp_path):
    """Peak RSS while streaming 160 frames stays within 5% of that for 16 frames of the same size, in one fresh
    process (holding every frame and its outputs would add ~100 MB)."""
    clips = [str(write_clip(tmp_path / f"c{n}.mp4", n, 96, 128)) for n in (16, 160)]
    r = subprocess.run([sys.executable, "-c", MEMORY, *clips], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    (short, _), (long, _) = [tuple(map(float, line.split())) for line in r.stdout.split("\n")[-3:-1]]
    assert long < 1.05 * short, r.stdout


def test_console_script(work, tmp_path, capsys):
    exe = BIN / "deepfovea-reconstruct"
    assert exe.exists(), f"{exe} is missing: reinstall the package (`.venv/bin/pip install -e .`)"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr
    cases = [(["--checkpoint", str(tmp_path / "nothing.pt")], "does not exist"),
             (["--method", "push_pull", "--gaze", "1,2,3"], "is not one of center"),
             (["--method", "push_pull", "--precision", "bf16"], "bf16 (autocast) is for GPUs"),
             (["--method", "push_pull", "--cut-threshold", "x"], "could not convert")]
    if not torch.cuda.is_available(): cases.append((["--method", "push_pull", "--device", "cuda"], "CUDA is not"))
    for args, msg in cases:
        capsys.readouterr()
        assert rc.main([str(work["clip"]), "-o", str(tmp_path / "x.mp4"), "--no-progress", *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("deepfovea-reconstruct: ") and msg in err, err
    assert _files(tmp_path) == []
