"""torch.compile with Inductor on CPU through the correlation custom op (the notebook uses aot_eager to stay fast)."""
import pytest
import torch
import torch.nn.functional as F

from deepfovea_nb import ops


def _cost_head(f1, f2):
    return F.leaky_relu(ops.correlation(f1, f2, 2), 0.1).sum(1, keepdim=True)


def test_correlation_inductor_fullgraph():
    if ops.correlation_backend("cpu") != "compiled":
        pytest.skip(f"compiled correlation kernel unavailable: {ops.backends()}")
    torch._dynamo.reset()
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(1, 4, 6, 7, generator=g, requires_grad=True)
    f2 = torch.randn(1, 4, 6, 7, generator=g, requires_grad=True)
    compiled = torch.compile(_cost_head, fullgraph=True)
    out = compiled(f1, f2)
    want = _cost_head(f1, f2)
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-5)
    for a, b in zip(torch.autograd.grad(out.sum(), (f1, f2)), torch.autograd.grad(want.sum(), (f1, f2))):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
