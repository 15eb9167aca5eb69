"""The encoders and heads of paper §2.3: shapes, lengths, sizes and gradient flow."""

import pytest
import torch

from skseqclr.nn.encoders import ENCODER_SIZES, ConvEncoder, RecurrentEncoder, encoder_config, make_encoder
from skseqclr.nn.heads import ClassifierHead, Projector


@pytest.mark.parametrize("kind", ["conv", "recurrent"])
@pytest.mark.parametrize("model_size", ["paper", "small"])
@pytest.mark.parametrize("length", [130, 131])
def test_encoder_keeps_length_and_gives_4_channels(kind, model_size, length):
    encoder = make_encoder(kind, model_size).eval()
    with torch.no_grad():
        out = encoder(torch.randn(3, length))
    assert out.shape == (3, 4, length)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kind", ["conv", "recurrent"])
def test_encoder_accepts_its_minimum_length_and_channel_axis(kind):
    encoder = make_encoder(kind, "small").eval()
    with torch.no_grad():
        out = encoder(torch.randn(2, 1, encoder.min_length))
    assert out.shape == (2, 4, encoder.min_length)


def test_conv_minimum_length_is_set_by_the_longest_kernel():
    assert make_encoder("conv", "paper").min_length == 65  # reflection pad of the 128 kernel
    assert make_encoder("conv", "small").min_length == 17
    with pytest.raises(RuntimeError):
        make_encoder("conv", "paper")(torch.randn(1, 64))


def test_paper_conv_sizes():
    encoder = make_encoder("conv", "paper")
    widths = [b.conv.out_channels for b in encoder.branches]
    kernels = [b.conv.kernel_size[0] for b in encoder.branches]
    assert widths == [100, 100, 50] and kernels == [128, 64, 16]
    assert len(encoder.residual) == 4
    unit = encoder.residual[0]
    assert unit.dense.in_channels == 250 and unit.dense.kernel_size == (1,)
    assert unit.conv.conv.kernel_size == (64,) and unit.conv.conv.out_channels == 250
    assert encoder.output.conv.kernel_size == (64,) and encoder.output.conv.out_channels == 4


def test_paper_recurrent_sizes():
    encoder = make_encoder("recurrent", "paper")
    assert [g.hidden_size for g in encoder.scales] == [256, 128, 64]
    assert encoder.dense.in_features == 448 and encoder.dense.out_features == 128
    assert len(encoder.residual) == 2 and encoder.residual[0].gru.hidden_size == 128
    assert encoder.output.out_features == 4


def test_projector_paper_sizes_and_output():
    projector = Projector(4, **{"lstm_sizes": (256, 128, 64), "hidden_size": 128, "output_size": 32})
    assert [b.hidden_size for b in projector.summary.branches] == [256, 128, 64]
    assert all(b.bidirectional for b in projector.summary.branches)
    # first and last output of three BiLSTMs: 2 * 2 * (256 + 128 + 64)
    assert projector.mlp[0].in_features == 1792
    out = projector(torch.randn(5, 4, 37))
    assert out.shape == (5, 32)


def test_classifier_head_ends_in_log_softmax():
    head = ClassifierHead(in_channels=4 * 3, n_classes=5).eval()
    log_probs = head(torch.randn(6, 12, 50))
    assert log_probs.shape == (6, 5)
    torch.testing.assert_close(log_probs.exp().sum(dim=1), torch.ones(6))


@pytest.mark.parametrize("kind", ["conv", "recurrent"])
def test_gradients_reach_every_parameter(kind):
    encoder = make_encoder(kind, "small")
    projector = Projector(4, lstm_sizes=(8, 4, 2), hidden_size=8, output_size=32)
    z = projector(encoder(torch.randn(4, 64)))
    z.square().sum().backward()
    for module in (encoder, projector):
        for name, parameter in module.named_parameters():
            assert parameter.grad is not None, name
            assert parameter.grad.abs().sum() > 0, name


def test_size_overrides_replace_the_preset():
    config = encoder_config("conv", "small", branch_channels=(8, 8, 4))
    assert config["branch_channels"] == (8, 8, 4)
    assert config["branch_kernels"] == ENCODER_SIZES["conv"]["small"]["branch_kernels"]
    encoder = make_encoder("conv", "small", branch_channels=(8, 8, 4))
    assert isinstance(encoder, ConvEncoder) and encoder.output_norm.num_features == 20
    assert isinstance(make_encoder("recurrent", "small", dense_size=16), RecurrentEncoder)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="transformer"), "encoder='transformer'"),
    (dict(model_size="huge"), "model_size='huge'"),
    (dict(kernel=3), "Unknown conv encoder size"),
])
def test_bad_encoder_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        encoder_config(**kwargs)


def test_encoder_is_channel_wise():
    """Each channel is encoded on its own: a batch equals its rows encoded one by one."""
    encoder = make_encoder("conv", "small").eval()
    x = torch.randn(3, 80)
    with torch.no_grad():
        together = encoder(x)
        alone = torch.cat([encoder(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_pooled_projector_reads_the_pooled_statistics_and_learns():
    from skseqclr.nn.heads import PooledProjector, make_projector
    from skseqclr.pooling import pool

    projector = make_projector("pooled", 4, statistics=("mean", "std", "logms"), hidden_size=8, output_size=32)
    assert isinstance(projector, PooledProjector)
    h = torch.randn(6, 4, 50, requires_grad=True)
    z = projector(h)
    assert z.shape == (6, 32)
    z.square().sum().backward()
    assert h.grad is not None and all(p.grad is not None for p in projector.parameters())
    # it sees only the pooled statistics: permuting time leaves its output unchanged
    projector.eval()
    permuted = h.detach()[..., torch.randperm(50)]
    torch.testing.assert_close(projector(h.detach()), projector(permuted), rtol=1e-5, atol=1e-5)
    assert pool(h.detach(), ("mean", "std", "logms")).shape[-1] == 12
    with pytest.raises(ValueError, match="projector='gru'"):
        make_projector("gru", 4)
