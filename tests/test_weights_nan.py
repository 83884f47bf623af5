"""Issue 15 (weights, non-finite values, loss config) and issue 12 (offline LPIPS backbones): table-driven checks.

Each table lists a bad input and the fragment its error message must contain (the message names the file / field /
frame and what was expected). The notebooks (03a_weights, 03b_flow, 04b_losses, 04c_metrics, 01_ops) hold the
narrative tests; this file is the catalogue of bad inputs."""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepfovea_nb.flow import DISFlow, PWCNet, RAFTFlow
from deepfovea_nb.frames import shared_path
from deepfovea_nb.losses import FlowLoss, GeneratorLoss, LossConfig, LossWeights, LPIPSLoss, warping_loss
from deepfovea_nb.metrics import (frame_metrics, l1, lpips_metric, psnr, psnr_by_eccentricity, ssim,
                                  ssim_by_eccentricity, temporal_metrics)
from deepfovea_nb.ops import warp
from deepfovea_nb.weights import WEIGHTS, available_weights, load_pretrained, read_state

SHARED = shared_path("weights")
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/weights (the offline LPIPS backbones) not found "
                                  "beside the checkout or in $DEEPFOVEA_SHARED")
NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------- the right files load (issue 12)

@needs_shared
@pytest.mark.parametrize("net,name", [("alex", "alexnet"), ("vgg", "vgg16")])
def test_offline_backbone_is_found_and_loads(net, name):
    have = available_weights()
    assert have[f"{name}_lpips"] == str(SHARED / WEIGHTS[f"{name}_lpips"].filename)
    m = LPIPSLoss(net)
    assert m.pretrained and m.weights_file is not None
    official = WEIGHTS[name].filename
    assert m.weights_file.name in (official, WEIGHTS[f"{name}_lpips"].filename)   # official first, else the copy


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_reproduces_reference_distances(net):
    ref_dir = shared_path("weights", "lpips_reference")
    if ref_dir is None or not (ref_dir / "published_distances.json").is_file():
        print("SKIPPED: shared/weights/lpips_reference/published_distances.json not found")
        pytest.skip("shared/weights/lpips_reference (LPIPS reference patches and distances) not found")
    refs = json.loads((ref_dir / "published_distances.json").read_text())
    im = lambda n: torch.from_numpy(np.array(Image.open(ref_dir / n).convert("RGB"))).permute(2, 0, 1)[None] / 255
    m = LPIPSLoss(net)
    rows = [r for r in refs["reproduced_not_published"] if r["net"] == net and r["images"] == "lpips_reference"]
    assert len(rows) == 2
    for r in rows:
        assert abs(m(im(r["pair"][0]), im(r["pair"][1])).item() - r["value"]) < 1e-4, r
    for r in refs["published"]:   # VGG: the published 3-decimal values, to half a unit of the last digit
        if r["net"] == net and r["images"] == "lpips_reference":
            assert abs(m(im(r["pair"][0]), im(r["pair"][1])).item() - r["published"]) <= 0.5 * 10 ** -r["decimals"]


# ---------------------------------------------------------------- wrong files are refused (issue 15)

def _alex_shapes() -> dict:
    return {"features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,), "features.3.weight": (192, 64, 5, 5),
            "features.3.bias": (192,), "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
            "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,), "features.10.weight": (256, 256, 3, 3),
            "features.10.bias": (256,)}


def _make_bad(kind: str, d: Path) -> Path:
    "Write one kind of bad weights file into d and return its path."
    if kind == "text":
        (p := d / "readme.pth").write_text("these are not weights\n")
    elif kind == "empty":
        (p := d / "empty.pth").write_bytes(b"")
    elif kind == "truncated":
        src = d / "full.pth"
        torch.save({k: torch.zeros(s) for k, s in _alex_shapes().items()}, src)
        raw = src.read_bytes()
        (p := d / "truncated.pth").write_bytes(raw[: len(raw) // 3])
    elif kind == "nan":
        torch.save({k: torch.full(s, NAN) for k, s in _alex_shapes().items()}, p := d / "nan_weights.pth")
    elif kind == "inf":
        sd = {k: torch.zeros(s) for k, s in _alex_shapes().items()}
        sd["features.6.bias"][3] = INF
        torch.save(sd, p := d / "inf_weights.pth")
    elif kind == "other_net":   # a VGG-11 `features` state dict (3x3 kernels) where AlexNet's is expected
        from torchvision.models.vgg import cfgs, make_layers
        torch.save({f"features.{k}": v for k, v in make_layers(cfgs["A"]).state_dict().items()},
                   p := d / "vgg_feats.pth")
    elif kind == "other_layout":   # right kind of file, keys of another model entirely
        torch.save(torch.nn.Linear(4, 2).state_dict(), p := d / "linear.pth")
    elif kind == "list":
        torch.save([torch.zeros(3)], p := d / "list.pth")
    elif kind == "pickled_object":
        torch.save({"w": torch.zeros(1), "cfg": Path("x")}, p := d / "object.pth")
    else:
        raise KeyError(kind)
    return p


BAD_FILES = [   # (kind, expected fragment besides the file name)
    ("text", "is not a loadable weights file"),
    ("empty", "is not a loadable weights file"),
    ("truncated", "truncated, corrupt or of another kind"),
    ("nan", "hold NaN/Inf values (first: features.0.weight, 23232 values)"),
    ("inf", "1 tensors hold NaN/Inf values (first: features.6.bias, 1 values)"),
    ("other_net", "does not hold the weights of the LPIPS alex backbone"),
    ("other_layout", "keys missing"),
    ("list", "holds a list"),
    ("pickled_object", "Weights only load failed"),
]


@pytest.mark.parametrize("kind,msg", BAD_FILES)
def test_bad_backbone_file_is_refused(kind, msg, tmp_path):
    p = _make_bad(kind, tmp_path)
    with pytest.raises((ValueError, RuntimeError)) as e:
        LPIPSLoss("alex", weights=p)
    assert str(p) in str(e.value) and msg in str(e.value), str(e.value)
    with pytest.raises((ValueError, RuntimeError)):   # allow_random never excuses a file that is present but wrong
        LPIPSLoss("alex", weights=p, allow_random=True)
    lp, why = lpips_metric("alex", p)                 # the metric never raises: it says why
    assert lp is None and why.startswith("LPIPS not computed: ") and msg in why, why


def test_other_network_file_names_the_expected_shapes(tmp_path):
    p = _make_bad("other_net", tmp_path)
    with pytest.raises(ValueError, match=r"expected \(64, 3, 11, 11\)"):
        LPIPSLoss("alex", weights=p)


@pytest.mark.parametrize("registered,content,msg", [
    ("alexnet-owt-7be5be79.pth", "text", "expected 7be5be79"),             # official name, other contents
    ("alexnet_features_lpips.pth", "text", "expected ece21f7b164f4ad5"),   # offline copy's name, other contents
    ("alexnet_features_lpips.pth", "truncated", "expected ece21f7b164f4ad5"),
])
def test_file_under_a_registered_name_is_hash_checked(registered, content, msg, tmp_path, monkeypatch):
    d = tmp_path / "weights"; d.mkdir()
    _make_bad(content, tmp_path).rename(d / registered)
    monkeypatch.setenv("DEEPFOVEA_NB_WEIGHTS", str(d))   # searched first
    with pytest.raises(ValueError) as e:
        LPIPSLoss("alex")
    assert str(d / registered) in str(e.value) and msg in str(e.value) and "SHA-256" in str(e.value)
    lp, why = lpips_metric("alex")
    assert lp is None and msg in why


def test_missing_explicit_path_never_becomes_random(tmp_path):
    with pytest.raises(FileNotFoundError, match="the given path"):
        load_pretrained("alexnet", tmp_path / "nope.pth", allow_random=True)
    lp, why = lpips_metric("alex", tmp_path / "nope.pth")
    assert lp is None and "nope.pth" in why


@pytest.mark.parametrize("estimator,kind", [("pwcnet", "other_net"), ("raft_small", "nan"), ("pwcnet", "text")])
def test_flow_estimators_refuse_wrong_files(estimator, kind, tmp_path):
    p = _make_bad(kind, tmp_path)
    make = (lambda: PWCNet(weights=p)) if estimator == "pwcnet" else (lambda: RAFTFlow("small", weights=p))
    with pytest.raises(ValueError, match=p.name):
        make()


def test_read_state_of_a_good_file(tmp_path):
    torch.save({"a": torch.ones(2)}, tmp_path / "ok.pth")
    sd = read_state(tmp_path / "ok.pth")
    assert sd.file == tmp_path / "ok.pth" and torch.equal(sd["a"], torch.ones(2))


# ---------------------------------------------------------------- non-finite values (issue 15)

@pytest.fixture(scope="module")
def clips():
    g = torch.Generator().manual_seed(0)
    lab = torch.nn.functional.interpolate(torch.rand(3, 3, 8, 10, generator=g), size=(32, 40), mode="bilinear")
    pre = (lab + 0.05 * torch.randn(lab.shape, generator=g)).clamp(0, 1)
    return pre, lab


def _poison(x: torch.Tensor, value: float, frame: int = 1) -> torch.Tensor:
    y = x.clone()
    y[frame, 0, 5, 7] = value
    return y


def _random_pwc():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PWCNet(allow_random=True)


GAZE = torch.tensor([[5., 5.]])
NON_FINITE = [   # (what, call(pre, lab), expected fragment)
    ("NaN flow into warp", lambda p, y: warp(p, torch.full((3, 2, 32, 40), NAN)), "warp: `flow` holds 7680 NaN/Inf"),
    ("Inf flow into warp, zeros padding",
     lambda p, y: warp(p, _poison(torch.zeros(3, 2, 32, 40), INF), "zeros"), "first at [n, xy, y, x] = [1, 0, 5, 7]"),
    ("NaN flow into the warping loss",
     lambda p, y: warping_loss(p[None], _poison(torch.zeros(2, 2, 32, 40), NAN, 0)[None]), "border pixels"),
    ("NaN frame into DIS", lambda p, y: DISFlow()(_poison(p, NAN), y),
     "DISFlow: im1 contains NaN/Inf (frames [1] of 3)"),
    ("Inf frame into PWC-Net", lambda p, y: _random_pwc()(p, _poison(y, INF, 2)),
     "PWCNet: im2 contains NaN/Inf (frames [2] of 3)"),
    ("NaN frame into the flow loss", lambda p, y: FlowLoss("dis", on="pred")(_poison(p, NAN)[None]),
     "FlowLoss: the clip holds NaN/Inf values (first in clip 0, frame 1)"),
    ("Inf label into the flow loss (Inf would clamp to 1)",
     lambda p, y: FlowLoss("dis")(p[None], _poison(y, INF)[None]), "FlowLoss: the clip holds NaN/Inf"),
    ("NaN prediction into GeneratorLoss",
     lambda p, y: GeneratorLoss(LossConfig(LossWeights(1, 0, 0, 0, 0), supervised="l1"))(
         _poison(p, NAN)[None], y[None]), "prediction contains NaN/Inf"),
    ("NaN prediction into PSNR", lambda p, y: psnr(_poison(p, NAN), y), "prediction contains NaN/Inf"),
    ("Inf label into SSIM", lambda p, y: ssim(p, _poison(y, INF)), "label contains NaN/Inf"),
    ("-Inf prediction into L1", lambda p, y: l1(_poison(p, -INF), y), "prediction contains NaN/Inf"),
    ("NaN into frame_metrics", lambda p, y: frame_metrics(_poison(p, NAN), y), "prediction contains NaN/Inf"),
    ("NaN into PSNR per band", lambda p, y: psnr_by_eccentricity(_poison(p, NAN), y, GAZE, [0, 9, 99]), "NaN/Inf"),
    ("NaN gaze into SSIM per band", lambda p, y: ssim_by_eccentricity(p, y, torch.tensor([[NAN, 5.]]), [0, 9, 99]),
     "gaze outside the frame"),
    ("NaN frame into temporal metrics", lambda p, y: temporal_metrics(_poison(p, NAN), y),
     "prediction contains NaN/Inf"),
    ("NaN flow into temporal metrics", lambda p, y: temporal_metrics(p, y, torch.full((2, 2, 32, 40), NAN)),
     "warp: `flow` holds"),
    ("NaN valid mask", lambda p, y: psnr(p, y, valid=torch.full((1, 32, 40), NAN)), "valid mask contains NaN/Inf"),
    ("empty valid mask", lambda p, y: psnr(p, y, valid=torch.zeros(1, 32, 40)), "no valid pixel in image(s) [0, 1, 2]"),
]


@pytest.mark.parametrize("what,call,msg", NON_FINITE, ids=[w for w, _, _ in NON_FINITE])
def test_non_finite_is_an_error(what, call, msg, clips):
    with pytest.raises(ValueError) as e:
        call(*clips)
    assert msg in str(e.value), str(e.value)


@needs_shared
def test_lpips_on_nan_frames_is_an_error(clips):
    lp, why = lpips_metric("alex")
    assert why is None
    pre, lab = clips
    with pytest.raises(ValueError, match="prediction contains NaN/Inf"):
        lp(_poison(pre, NAN), lab)


def test_nan_flow_gives_no_border_pixels(clips):
    "The failure mode the check exists for: unchecked, grid_sample turns a NaN grid into finite border samples."
    pre, _ = clips
    grid = torch.full((3, 32, 40, 2), NAN)
    raw = torch.nn.functional.grid_sample(pre, grid, padding_mode="border", align_corners=True)
    assert torch.isfinite(raw).all()          # what warp would have returned: a finite-looking image
    with pytest.raises(ValueError):
        warp(pre, torch.full((3, 2, 32, 40), NAN))


# ---------------------------------------------------------------- loss config: type and range (issue 15)

BAD_LOSS_CONFIGS = [   # (kwargs for LossConfig, or ("weights", kwargs for LossWeights)), expected fragment
    (("weights", {"flow": -1}), "loss.weights.flow must be a finite number >= 0, got -1"),
    (("weights", {"supervised": NAN}), "loss.weights.supervised must be a finite number >= 0, got nan"),
    (("weights", {"perceptual": INF}), "loss.weights.perceptual must be a finite number >= 0"),
    (("weights", {"adversarial": "0.01"}), "loss.weights.adversarial must be a finite number >= 0, got '0.01' (str) "
                                           "(0 switches the term off): write the value without quotes"),
    (("weights", {"fft_adversarial": None}), "loss.weights.fft_adversarial must be a finite number >= 0, "
                                             "got None (NoneType)"),
    (("weights", {"flow": True}), "loss.weights.flow must be a finite number >= 0, got True (bool)"),
    ({"weights": {"lpips": 1.0}}, "loss.weights has no term ['lpips']"),
    ({"weights": {"flow": "2"}}, "loss.weights.flow must be a finite number >= 0, got '2' (str)"),
    ({"weights": 5}, "loss.weights must be LossWeights or a dict"),
    ({"supervised": "L1"}, "loss.supervised must be one of ('adaptive', 'l1'), got 'L1'"),
    ({"supervised": None}, "loss.supervised must be one of ('adaptive', 'l1'), got None (NoneType)"),
    ({"adaptive_per": "image"}, "loss.adaptive_per must be one of ('channel', 'pixel')"),
    ({"perceptual": "lpips"}, "loss.perceptual must be one of ('alex', 'vgg', 'vgg19')"),
    ({"perceptual": ["alex"]}, "loss.perceptual must be one of ('alex', 'vgg', 'vgg19'), got ['alex'] (list)"),
    ({"flow": "farneback"}, "loss.flow must be one of ('dis', 'pwcnet', 'raft_small', 'raft_large')"),
    ({"flow_on": "both"}, "loss.flow_on must be one of ('target', 'pred')"),
    ({"perceptual_weights": 7}, "loss.perceptual_weights must be a file path or None"),
    ({"flow_weights": "  "}, "loss.flow_weights must be a file path or None"),
    ({"allow_random_weights": "false"}, "loss.allow_random_weights must be True or False, got 'false' (str): "
                                        "write False without quotes"),
    ({"allow_random_weights": 1}, "loss.allow_random_weights must be True or False, got 1 (int)"),
]


@pytest.mark.parametrize("kwargs,msg", BAD_LOSS_CONFIGS, ids=[m[:40] for _, m in BAD_LOSS_CONFIGS])
def test_bad_loss_config_names_the_field(kwargs, msg):
    make = (lambda: LossWeights(**kwargs[1])) if isinstance(kwargs, tuple) else (lambda: LossConfig(**kwargs))
    with pytest.raises((ValueError, TypeError)) as e:
        make()
    assert msg in str(e.value), str(e.value)


def test_good_loss_configs_pass():
    assert LossConfig(weights={"flow": 0}).weights == LossWeights(flow=0)
    assert LossConfig(perceptual_weights=Path("x/y.pth")).perceptual_weights == "x/y.pth"   # JSON-friendly
    assert LossWeights(supervised=np.float32(2.5)).supervised == 2.5 and math.isfinite(LossWeights().flow)
