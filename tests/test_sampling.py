"""Package-level checks of deepfovea_nb.frames + deepfovea_nb.sampling on the real short clip (the notebooks hold the full tests)."""
import torch

from deepfovea_nb.frames import VideoWindows, find_videos
from deepfovea_nb.sampling import DegradeConfig, degrade, expected_fraction, fovea_mask, scripted_gaze


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
