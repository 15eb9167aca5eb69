"""The FFT convolution computes what F.conv1d computes, and the encoders give the same outputs with it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skseqclr.nn.encoders import ConvEncoder, SamePadConv1d
from skseqclr.nn.fft_conv import block_size, conv1d, conv_algorithm, fft_conv1d, use_fft
from skseqclr.training.pretrainer import autocast


def _operands(batch, in_channels, out_channels, kernel, length, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, in_channels, length, dtype=dtype, generator=generator, requires_grad=True)
    w = torch.randn(out_channels, in_channels, kernel, dtype=dtype, generator=generator, requires_grad=True)
    b = torch.randn(out_channels, dtype=dtype, generator=generator, requires_grad=True)
    return x, w, b


@pytest.mark.parametrize(
    "batch, in_channels, out_channels, kernel, length, n_fft",
    [
        (2, 3, 5, 8, 40, None),     # several blocks
        (2, 3, 5, 8, 40, 16),       # blocks of exactly twice the kernel
        (1, 4, 2, 64, 1000, None),  # the paper's kernel, many blocks, last one partial
        (3, 2, 2, 7, 7, None),      # input as long as the kernel: one output sample
        (2, 6, 3, 16, 100, 256),    # one block longer than the input
    ],
)
def test_fft_conv1d_matches_conv1d_values_and_gradients(batch, in_channels, out_channels, kernel, length, n_fft):
    x, w, b = _operands(batch, in_channels, out_channels, kernel, length)
    expected = F.conv1d(x, w, b)
    got = fft_conv1d(x, w, b, n_fft=n_fft)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    # A non-linear function of the output, so each output sample gets a different gradient.
    expected_grads = torch.autograd.grad(expected.sin().sum(), (x, w, b))
    got_grads = torch.autograd.grad(got.sin().sum(), (x, w, b))
    for g, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-10)


def test_fft_conv1d_passes_gradcheck():
    x, w, b = _operands(2, 3, 2, 5, 23)
    assert torch.autograd.gradcheck(lambda x, w, b: fft_conv1d(x, w, b, n_fft=16), (x, w, b))


def test_fft_conv1d_without_bias_and_without_input_gradient():
    x, w, _ = _operands(2, 3, 4, 6, 50)
    x = x.detach()
    got = fft_conv1d(x, w, None)
    torch.testing.assert_close(got, F.conv1d(x, w), rtol=1e-10, atol=1e-10)
    (grad_w,) = torch.autograd.grad(got.square().sum(), (w,))
    (expected_w,) = torch.autograd.grad(F.conv1d(x, w).square().sum(), (w,))
    torch.testing.assert_close(grad_w, expected_w, rtol=1e-10, atol=1e-10)


def test_fft_conv1d_float32_is_close_at_the_papers_layer_shape():
    x, w, b = _operands(2, 250, 250, 64, 300, dtype=torch.float32)
    expected = F.conv1d(x, w, b)
    got = fft_conv1d(x, w, b)
    assert got.dtype == torch.float32
    scale = expected.abs().max()
    assert (got - expected).abs().max() <= 1e-5 * scale


def test_fft_conv1d_refuses_bad_operands():
    x, w, b = _operands(1, 3, 2, 8, 40)
    with pytest.raises(ValueError, match="twice the kernel"):
        fft_conv1d(x, w, b, n_fft=12)
    with pytest.raises(ValueError, match="shorter than the kernel"):
        fft_conv1d(x[..., :5], w, b)
    with pytest.raises(ValueError, match=r"\(B, I, L\)"):
        fft_conv1d(x[:, :2], w, b)


def test_block_size_is_a_power_of_two_of_at_least_two_kernels():
    for kernel in (1, 4, 16, 33, 64, 128):
        n = block_size(kernel)
        assert n >= 2 * kernel and n & (n - 1) == 0


def test_use_fft_dispatch_rules():
    x = torch.zeros(1, 16, 100)
    long_kernel = torch.zeros(8, 16, 32)
    assert use_fft(x, long_kernel)
    assert not use_fft(x, torch.zeros(8, 16, 4))  # short kernel
    assert not use_fft(torch.zeros(1, 1, 100), torch.zeros(8, 1, 32))  # single input channel
    assert not use_fft(x.bfloat16(), long_kernel.bfloat16())  # no bf16 FFT on CPUs
    with autocast(torch.device("cpu"), "bf16"):
        assert not use_fft(x, long_kernel)  # autocast keeps its bf16 direct convolution
    with conv_algorithm("direct"):
        assert not use_fft(x, long_kernel)
    with conv_algorithm("fft"):
        assert use_fft(x, torch.zeros(8, 16, 4))
    assert use_fft(x, long_kernel)  # the context restored "auto"
    with pytest.raises(ValueError, match="not one of"):
        with conv_algorithm("winograd"):
            pass


def test_conv1d_takes_either_path_with_the_same_result():
    x, w, b = _operands(2, 16, 8, 32, 120, dtype=torch.float32)
    with conv_algorithm("direct"):
        direct = conv1d(x, w, b)
    with conv_algorithm("fft"):
        fft = conv1d(x, w, b)
    torch.testing.assert_close(fft, direct, rtol=1e-4, atol=1e-4 * direct.abs().max().item())


def test_same_pad_conv_keeps_its_parameters():
    layer = SamePadConv1d(16, 8, 32)
    assert list(layer.state_dict()) == ["conv.weight", "conv.bias"]


@pytest.mark.parametrize("train", [True, False])
def test_conv_encoder_outputs_and_gradients_agree_between_algorithms(train):
    """A narrow encoder with the paper's kernels: FFT (auto on CPU) and direct agree in fp32."""
    torch.manual_seed(0)
    encoder = ConvEncoder(branch_kernels=(128, 64, 16), branch_channels=(6, 6, 4), n_residual=2,
                          residual_kernel=64, output_kernel=64).train(train)
    x = torch.randn(4, 300)
    results = {}
    for algorithm in ("direct", "auto"):
        encoder.zero_grad()
        with conv_algorithm(algorithm):
            out = encoder(x)
        out.square().mean().backward()
        results[algorithm] = (out.detach(), [p.grad.clone() for p in encoder.parameters()])
    out_direct, grads_direct = results["direct"]
    out_fft, grads_fft = results["auto"]
    assert use_fft(torch.zeros(1, 16, 10), encoder.residual[0].conv.conv.weight)
    scale = out_direct.abs().max()
    assert (out_fft - out_direct).abs().max() <= 1e-4 * scale
    for g_fft, g_direct in zip(grads_fft, grads_direct):
        assert (g_fft - g_direct).abs().max() <= 1e-4 * g_direct.abs().max() + 1e-7
