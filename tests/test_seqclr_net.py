"""SeqCLRNet: the SeqCLR classifier network as a braindecode model, trained by EEGClassifier."""

import mne
import numpy as np
import pytest
import torch
from braindecode import EEGClassifier
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit

from skseqclr import Preprocessing, SeqCLREncoder, SeqCLRNet, SeqCLRTransformer

SMALL_HEAD = dict(lstm_sizes=(4, 4, 4), hidden_size=8)


def _data(n=24, n_chans=2, n_times=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_chans, n_times)).astype("float32"), rng.integers(0, 2, n)


def test_forward_shape_and_log_probabilities():
    net = SeqCLRNet(n_outputs=3, n_chans=2, n_times=64, **SMALL_HEAD).eval()
    out = net(torch.randn(5, 2, 64))
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out.exp().sum(1).detach().numpy(), 1.0, rtol=1e-5)


def test_signal_parameters_inferred_from_chs_info_and_sfreq():
    info = mne.create_info(["C3", "Cz", "C4"], sfreq=128.0, ch_types="eeg")
    net = SeqCLRNet(n_outputs=2, chs_info=info["chs"], sfreq=128.0, input_window_seconds=0.5, **SMALL_HEAD)
    assert (net.n_chans, net.n_times) == (3, 64)
    assert net.get_output_shape() == (1, 2)
    assert net.get_config()["encoder"] == "conv"


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(scaling="robust"), ValueError, "scaling"),
    (dict(to_microvolts=0), ValueError, "to_microvolts"),
    (dict(input_scale=float("nan")), ValueError, "input_scale"),
    (dict(freeze_encoder="yes"), TypeError, "freeze_encoder"),
    (dict(lstm_sizes=(4, 4)), ValueError, "lstm_sizes"),
    (dict(n_outputs=None), ValueError, "n_outputs"),
])
def test_bad_parameters(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        SeqCLRNet(**{**dict(n_outputs=2, n_chans=2, n_times=64), **kwargs})


def test_eegclassifier_early_stopping_and_lr_scheduler():
    X, y = _data(seed=1)  # random labels: validation loss cannot keep improving
    clf = EEGClassifier(
        SeqCLRNet, module__lstm_sizes=(4, 4, 4), module__hidden_size=8, criterion=torch.nn.NLLLoss,
        optimizer=torch.optim.Adam, lr=0.05, batch_size=8, train_split=ValidSplit(0.25, random_state=0),
        callbacks=[("es", EarlyStopping(patience=1, threshold=10.0)),
                   ("lr", LRScheduler(policy="StepLR", step_size=1, gamma=0.5))],
        max_epochs=10, device="cpu", verbose=0)
    clf.fit(X, y)
    assert len(clf.history) < 10  # early stopping stopped it
    assert clf.module_.n_chans == 2 and clf.module_.n_outputs == 2  # inferred from the data
    assert clf.optimizer_.param_groups[0]["lr"] < 0.05  # the scheduler lowered the rate
    log_proba = clf.predict_proba(X)  # EEGClassifier returns the module's output: log-probabilities
    np.testing.assert_allclose(np.exp(log_proba).sum(1), 1.0, rtol=1e-5)


@pytest.fixture(scope="module")
def transformer():
    X, _ = _data(n=16, n_times=96, seed=2)
    return SeqCLRTransformer(model_size="small", preprocessing=Preprocessing(scaling="global"), max_steps=1,
                             batch_size=8, random_state=0).fit(X)


def test_from_transformer_encodes_like_the_transformer(transformer):
    from skseqclr.features import EncodingSettings, encode_windows

    net = SeqCLRNet.from_transformer(transformer, n_outputs=2, n_chans=2, n_times=96, **SMALL_HEAD).eval()
    assert net.scaling == "global" and net.input_scale == transformer.input_scale_
    x = torch.from_numpy(_data(n=4, n_times=96, seed=3)[0])
    with torch.no_grad():
        expected = encode_windows(transformer.encoder_.eval(), x * transformer.to_microvolts_,
                                  EncodingSettings(transformer.preprocessing_.scaling, transformer.input_scale_, "fp32"))
        np.testing.assert_allclose(net.encode(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert net.encoder is not transformer.encoder_


def test_from_transformer_frozen_encoder_unchanged_by_fit(transformer):
    X, y = _data(n=16, n_times=96, seed=4)
    net = SeqCLRNet.from_transformer(transformer, n_outputs=2, n_chans=2, n_times=96, freeze_encoder=True,
                                     **SMALL_HEAD)
    before = {k: v.clone() for k, v in net.encoder.state_dict().items()}
    head_before = {k: v.clone() for k, v in net.head.state_dict().items()}
    EEGClassifier(net, criterion=torch.nn.NLLLoss, train_split=None, batch_size=8, max_epochs=2,
                  device="cpu", verbose=0).fit(X, y)
    for k, v in net.encoder.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=k)
    assert any(not torch.equal(v, head_before[k]) for k, v in net.head.state_dict().items())


def test_encoder_param_group_gets_its_own_lr(transformer):
    X, y = _data(n=16, n_times=96, seed=5)
    net = SeqCLRNet.from_transformer(transformer, n_outputs=2, n_chans=2, n_times=96, **SMALL_HEAD)
    before = {k: v.clone() for k, v in net.encoder.state_dict().items()}
    clf = EEGClassifier(net, criterion=torch.nn.NLLLoss, train_split=None, batch_size=8, max_epochs=1, lr=1e-2,
                        optimizer__param_groups=[("encoder.*", {"lr": 1e-4})], device="cpu", verbose=0).fit(X, y)
    groups = clf.optimizer_.param_groups
    assert [g["lr"] for g in groups] == [1e-4, 1e-2]
    encoder_ids = {id(p) for p in net.encoder.parameters()}
    assert {id(p) for p in groups[0]["params"]} == encoder_ids
    assert any(not torch.equal(v, before[k]) for k, v in net.encoder.state_dict().items())  # fine-tuned


def test_from_transformer_refuses_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SeqCLRNet.from_transformer(SeqCLRTransformer(), n_outputs=2, n_chans=2)
    with pytest.raises(TypeError, match="SeqCLRTransformer"):
        SeqCLRNet.from_transformer(object(), n_outputs=2, n_chans=2)


def test_encoder_output_shape_and_signal_parameters_from_chs_info():
    info = mne.create_info(["C3", "Cz", "C4"], sfreq=128.0, ch_types="eeg")
    enc = SeqCLREncoder(chs_info=info["chs"], sfreq=128.0, input_window_seconds=0.5).eval()
    assert (enc.n_chans, enc.n_times, enc.n_outputs) == (3, 64, enc.encoder.n_outputs)
    assert enc(torch.randn(5, 3, 64)).shape == (5, 3, enc.encoder.n_outputs, 64)
    assert enc.get_output_shape() == (1, 3, enc.encoder.n_outputs, 64)
    assert enc.get_config()["encoder"] == "conv"
    assert SeqCLREncoder(n_outputs=enc.encoder.n_outputs, n_chans=3).n_outputs == enc.encoder.n_outputs


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(n_outputs=2), ValueError, "n_outputs"),
    (dict(n_chans=None), ValueError, "n_chans"),
    (dict(scaling="robust"), ValueError, "scaling"),
    (dict(to_microvolts=-1.0), ValueError, "to_microvolts"),
    (dict(encoder_kwargs=[1]), TypeError, "encoder_kwargs"),
])
def test_encoder_bad_parameters(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        SeqCLREncoder(**{**dict(n_chans=2), **kwargs})


def test_encoder_from_transformer_matches_transformer_and_net(transformer):
    from skseqclr.features import EncodingSettings, encode_windows

    enc = SeqCLREncoder.from_transformer(transformer, n_chans=2, n_times=96).eval()
    net = SeqCLRNet.from_transformer(transformer, n_outputs=2, n_chans=2, n_times=96, **SMALL_HEAD).eval()
    assert enc.scaling == "global" and enc.input_scale == transformer.input_scale_
    assert enc.encoder is not transformer.encoder_
    for k, v in transformer.encoder_.state_dict().items():
        torch.testing.assert_close(enc.encoder.state_dict()[k], v, msg=k)
    x = torch.from_numpy(_data(n=4, n_times=96, seed=6)[0])
    with torch.no_grad():
        expected = encode_windows(transformer.encoder_.eval(), x * transformer.to_microvolts_,
                                  EncodingSettings(transformer.preprocessing_.scaling, transformer.input_scale_, "fp32"))
        out = enc(x)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.numpy(), net.encode(x).numpy(), rtol=1e-6, atol=1e-7)


def test_encoder_from_transformer_refuses_unfitted_or_wrong_type():
    with pytest.raises(ValueError, match="not fitted"):
        SeqCLREncoder.from_transformer(SeqCLRTransformer(), n_chans=2)
    with pytest.raises(TypeError, match="SeqCLRTransformer"):
        SeqCLREncoder.from_transformer(object(), n_chans=2)
