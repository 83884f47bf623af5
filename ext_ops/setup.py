"""Install path for the compiled correlation kernel (the JIT path needs none of this).

    cd ext_ops && python setup.py install        # or: pip install --no-build-isolation ./ext_ops

builds the Python extension module `deepfovea_nb_corr`, which `deepfovea_nb.ops` imports before trying a
JIT build. CUDA kernels are compiled in when `torch.cuda.is_available()` and CUDA_HOME are set, or when
FORCE_CUDA=1 (to build on a machine without a GPU; set TORCH_CUDA_ARCH_LIST, e.g. "9.0" for H100/H200).
"""
import os
from pathlib import Path

import torch
from setuptools import setup
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

HERE = Path(__file__).resolve().parent
with_cuda = os.environ.get("FORCE_CUDA") == "1" or (torch.cuda.is_available() and CUDA_HOME is not None)
cflags = ["-O3", "-fopenmp"]
if with_cuda:
    ext = CUDAExtension(
        "deepfovea_nb_corr",
        [str(HERE / "correlation.cpp"), str(HERE / "correlation_cuda.cu")],
        define_macros=[("WITH_CUDA", None)],
        extra_compile_args={"cxx": cflags, "nvcc": ["-O3"]},
        extra_link_args=["-fopenmp"],
    )
else:
    ext = CppExtension("deepfovea_nb_corr", [str(HERE / "correlation.cpp")],
                       extra_compile_args=cflags, extra_link_args=["-fopenmp"])

setup(
    name="deepfovea_nb_corr",
    version="0.0.1",
    description="Compiled correlation (cost volume) kernels for deepfovea_nb.ops",
    ext_modules=[ext],
    cmdclass={"build_ext": BuildExtension},
)
