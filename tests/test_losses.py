"""NT-Xent (SimCLR's loss, paper §2.3) against a direct reference computation."""

import numpy as np
import pytest
import torch

from skseqclr.nn.losses import NTXentLoss, nt_xent


def reference_nt_xent(z_a, z_b, temperature):
    """Textbook NT-Xent, one anchor at a time, in float64 numpy."""
    z = np.concatenate([z_a, z_b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z_a)
    losses = []
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        similarities = np.array([z[i] @ z[k] / temperature for k in range(2 * n) if k != i])
        others = [k for k in range(2 * n) if k != i]
        numerator = np.exp(z[i] @ z[positive] / temperature)
        losses.append(-np.log(numerator / np.exp(similarities).sum()))
        assert positive in others
    return float(np.mean(losses))


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
def test_nt_xent_equals_reference(temperature):
    generator = torch.Generator().manual_seed(0)
    z_a = torch.randn(5, 8, generator=generator)
    z_b = torch.randn(5, 8, generator=generator)
    expected = reference_nt_xent(z_a.numpy(), z_b.numpy(), temperature)
    assert float(nt_xent(z_a, z_b, temperature)) == pytest.approx(expected, rel=1e-5)


def test_identical_views_cost_less_than_unrelated_views():
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(16, 32, generator=generator)
    unrelated = torch.randn(16, 32, generator=generator)
    loss = NTXentLoss(temperature=0.1)
    assert loss(z, z) < loss(z, unrelated)
    # identical views reach the minimum possible only up to the negatives: far below log(2N - 1)
    assert float(loss(z, z)) < np.log(31) / 2


def test_loss_is_invariant_to_projection_norm():
    z_a, z_b = torch.randn(4, 6), torch.randn(4, 6)
    torch.testing.assert_close(nt_xent(z_a, z_b), nt_xent(3 * z_a, 0.5 * z_b))


def test_bad_shapes_and_temperature():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature=0)
    with pytest.raises(ValueError, match="Views must be"):
        nt_xent(torch.randn(4, 3), torch.randn(5, 3))


BAD_TEMPERATURES = [
    # (temperature, exception, words its message must contain)
    (0, ValueError, "positive finite"),
    (0.0, ValueError, "positive finite"),
    (-0.0, ValueError, "positive finite"),
    (-1, ValueError, "positive finite"),
    (-0.1, ValueError, "positive finite"),
    (float("nan"), ValueError, "positive finite"),
    (float("inf"), ValueError, "positive finite"),
    (-float("inf"), ValueError, "positive finite"),
    (np.float32(0.0), ValueError, "positive finite"),
    (np.float64("nan"), ValueError, "positive finite"),
    ("0.1", TypeError, "temperature must be"),
    (None, TypeError, "temperature must be"),
    (True, TypeError, "temperature must be"),
    (torch.tensor(0.1), TypeError, "not a tensor"),
]


@pytest.mark.parametrize("temperature, error, words", BAD_TEMPERATURES,
                         ids=[repr(case[0]) for case in BAD_TEMPERATURES])
def test_nt_xent_refuses_a_temperature_that_is_not_positive_and_finite(temperature, error, words):
    z_a, z_b = torch.randn(4, 6), torch.randn(4, 6)
    with pytest.raises(error, match=words):
        nt_xent(z_a, z_b, temperature)
    with pytest.raises(error, match=words):
        NTXentLoss(temperature=temperature)


@pytest.mark.parametrize("temperature", [1e-3, 0.05, 1, np.float32(0.1), np.float64(2.0)])
def test_nt_xent_accepts_positive_python_and_numpy_temperatures(temperature):
    z_a, z_b = torch.randn(4, 6), torch.randn(4, 6)
    loss = nt_xent(z_a, z_b, temperature)
    assert torch.isfinite(loss)
    assert float(NTXentLoss(temperature)(z_a, z_b)) == float(loss)


def test_gradient_flows_to_both_views():
    z_a = torch.randn(4, 6, requires_grad=True)
    z_b = torch.randn(4, 6, requires_grad=True)
    nt_xent(z_a, z_b).backward()
    assert z_a.grad.abs().sum() > 0 and z_b.grad.abs().sum() > 0
