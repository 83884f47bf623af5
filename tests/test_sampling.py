"""Package-level checks of deepfovea_nb.frames + deepfovea_nb.sampling on the real short clip.

The notebooks (00a_frames, 00b_sampling) hold the full tests."""
import torch
import torch.nn.functional as F

from deepfovea_nb.frames import VideoWindows, find_videos
from deepfovea_nb.sampling import (DegradeConfig, classical_fill, degrade, density_map, expected_fraction, fovea_mask,
                                   push_pull, scale_degrade, scripted_gaze, st_push_pull, upsample)


def test_real_clip_to_masked_window(shared_clip, tmp_path):
    ds = VideoWindows(find_videos(shared_clip, cache_dir=tmp_path), n_frames=6, overlap=2)
    assert len(ds) == 8 and ds.index[0][2] and not ds.index[1][2]      # 36 frames: starts 0, 4, ..., 28
    hr = ds[0]["frames"]
    assert hr.shape == (6, 3, 240, 320)
    cfg = DegradeConfig(hr_size=None, mask_before_fit=False, gaze_margin=10)   # 240x320 → pad to 256x320
    a = degrade(hr, cfg, generator=torch.Generator().manual_seed(0))
    b = degrade(hr, cfg, generator=torch.Generator().manual_seed(0))
    assert a["label"].shape == (6, 3, 256, 320) and a["input"].shape == (6, 3, 64, 80)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_mask_fraction_matches_analytic():
    g = torch.Generator().manual_seed(0)
    gaze = scripted_gaze([(100, 80), (150, 110)], 6)
    m = torch.cat([fovea_mask(gaze, (192, 256), generator=g) for _ in range(20)])
    assert m.shape == (120, 1, 192, 256)
    assert abs(m.mean().item() - expected_fraction(mask_size=(192, 256))) < 0.003


def test_scale_degrade_keeps_the_fovea_share(shared_clip, tmp_path):
    "Frames resized by s with `scale_degrade(cfg, s)`: radii and margin scale, the fovea covers the same share."
    cfg = DegradeConfig(hr_size=None)
    half = scale_degrade(cfg, 0.5)
    assert (half.fovea.r_inner, half.fovea.r_cut, half.fovea.r_outer, half.gaze_margin) == (10, 20, 22.5, 25)
    assert cfg.fovea.r_inner == 20 and cfg.gaze_margin == 50                   # the input is left alone
    full = density_map(torch.tensor([[80., 60.]]), (120, 160), cfg.fovea).mean()
    small = density_map(torch.tensor([[40., 30.]]), (60, 80), half.fovea).mean()
    assert abs(full - small) < 0.01
    hr = VideoWindows(find_videos(shared_clip, cache_dir=tmp_path), n_frames=6, overlap=2)[0]["frames"]
    hr2 = F.interpolate(hr, scale_factor=0.5, mode="bilinear", antialias=True)    # 240x320 → 120x160, LR 30x40
    clip_cfg = DegradeConfig(hr_size=None, gaze_margin=10)                       # as for the full-size clip above
    out = degrade(hr2, scale_degrade(clip_cfg, 0.5), generator=torch.Generator().manual_seed(0))
    assert out["input"].shape == (6, 3, 32, 48)                                  # padded to 128x192
    assert (out["gaze"] >= 5).all() and (out["gaze"][:, 0] <= 34).all() and (out["gaze"][:, 1] <= 24).all()


def _psnr(a, b): return float(-10 * torch.log10(((a - b) ** 2).mean()))


def test_spatio_temporal_push_pull_beats_single_frame_on_a_static_scene(shared_clip, tmp_path):
    "A real frame held still for 6 frames, fresh masks: the past frames' samples are worth several dB."
    hr = VideoWindows(find_videos(shared_clip, cache_dir=tmp_path, max_frames=6), n_frames=6)[0]["frames"]
    still = hr[:1, :, :192, :256].expand(6, -1, -1, -1)                  # 192x256: no padding
    d = degrade(still, DegradeConfig(hr_size=None, gaze_margin=10), generator=torch.Generator().manual_seed(1))
    one, st = push_pull(d["input"], d["mask"]), st_push_pull(d["input"], d["mask"])
    gain = sum(_psnr(st[t], d["lr"][t]) - _psnr(one[t], d["lr"][t]) for t in range(1, 6)) / 5
    assert gain > 2, gain
    fill = classical_fill(d["input"][None], d["mask"][None], temporal=True)   # (B, T, ...) clips
    assert fill.shape == (1, 6, 3, 192, 256)
    assert torch.equal(fill[0], upsample(st, "bicubic"))
    assert torch.equal(classical_fill(d["input"], d["mask"]), upsample(one, "bicubic"))


def test_valid_marks_the_padding(shared_clip, tmp_path):
    "240x320 padded to 256x320: 8 rows above and below are padding, everything else is picture."
    hr = VideoWindows(find_videos(shared_clip, cache_dir=tmp_path, max_frames=6), n_frames=6)[0]["frames"]
    v = degrade(hr, DegradeConfig(hr_size=None), generator=torch.Generator().manual_seed(0))["valid"]
    assert v.shape == (1, 256, 320) and float(v.sum()) == 240 * 320
    assert v[:, :8].eq(0).all() and v[:, -8:].eq(0).all() and v[:, 8:248].eq(1).all()
