"""The baselines compute what they claim to: PyTorch's route (F.cross_entropy /
F.multi_margin_loss x C + autograd) and the timed losses agree on small float64
inputs, so the ratios compare the same work. Fast; runs with the benchmarks."""
import pytest
import torch

from benchmarks import common


@pytest.mark.parametrize("loss", common.LOSSES)
@pytest.mark.parametrize("N,D,C", [(1, 1, 2), (7, 13, 5), (64, 33, 10)])
def test_routes_agree(shipped, impl_module, loss, N, D, C):
    W, X, y = common.inputs(N, "float64", "cpu", D=D, C=C, seed=3)
    routes = {"naive": common.module_route(shipped, loss, "naive"),
              "vectorized": common.module_route(shipped, loss, "vectorized"),
              "torch": common.torch_route(loss)}
    if impl_module is not None:
        routes["impl"] = common.module_route(impl_module, loss, "vectorized")
    ref_loss, ref_dW = routes.pop("naive")(W, X, y, common.REG)
    for name, fn in routes.items():
        value, dW = fn(W, X, y, common.REG)
        assert torch.allclose(torch.as_tensor(value, dtype=torch.float64),
                              torch.as_tensor(ref_loss, dtype=torch.float64),
                              rtol=1e-10, atol=1e-12), name
        assert torch.allclose(dW, ref_dW, rtol=1e-9, atol=1e-12), name


def test_floor_is_one_product():
    W, X, _ = common.inputs(5, "float64", "cpu", D=4, C=3)
    assert torch.equal(common.floor(W, X), X @ W)
