"""deepfovea_nb: foveated video reconstruction with 4x super-resolution after DeepFovea, developed in notebooks.

The small public API is re-exported here (imported lazily, so `import deepfovea_nb` stays cheap);
`from deepfovea_nb import *` gives the names in `__all__`. Everything else lives in the modules,
one per notebook, in data-flow order: checks, frames, sampling, pipeline, ops, blocks, generator,
discriminators, weights, flow, robust, losses, metrics, config, checkpoint, train, evaluate, reconstruct.
"""
__version__ = "0.0.1"

import importlib

_API = {
    "frames": ("resolve_clip", "find_videos", "VideoWindows"),
    "sampling": ("DegradeConfig", "FoveaConfig", "degrade", "fovea_mask", "push_pull", "classical_fill"),
    "pipeline": ("DataConfig", "open_windows", "make_batch"),
    "generator": ("GeneratorConfig", "RecurrentUNet"),
    "discriminators": ("DiscriminatorConfig", "SpatioTemporalDiscriminator", "FFTDiscriminator"),
    "losses": ("LossConfig", "LossWeights", "GeneratorLoss"),
    "metrics": ("psnr", "ssim"),
    "config": ("RunConfig", "PRESETS", "make_config", "run_config"),
    "checkpoint": ("load_checkpoint", "load_generator"),
    "train": ("train",),
    "evaluate": ("baselines", "evaluate_videos", "evaluate_run"),
    "reconstruct": ("open_source", "make_gaze", "reconstruct_stream"),
}
_WHERE = {name: mod for mod, names in _API.items() for name in names}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
