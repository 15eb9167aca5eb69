"""EEG data for skseqclr: a synthetic generator and loaders of public recordings.

Three sources of windows, each ready for :class:`~skseqclr.SeqCLRTransformer`:

- :func:`make_synthetic_eeg`: labelled EEG-like windows in microvolts, in the
  style of ``sklearn.datasets.make_*``, for tests, examples and quick runs.
- :func:`fetch_eegmat`: PhysioNet's "EEG During Mental Arithmetic Tasks"
  (``eegmat`` 1.0.0; Zyma et al. 2019), rest vs mental arithmetic, 36
  subjects, as a braindecode ``BaseConcatDataset`` of windows. A local copy laid
  out like PhysioNet's is read without touching the network; otherwise the
  files are downloaded with pooch and checked against their SHA-256 sums.
- :func:`load_eegbci`: PhysioNet's EEG Motor Movement/Imagery dataset
  (``eegmmidb``; Schalk et al. 2004), a thin wrapper over
  :func:`mne.datasets.eegbci.load_data` that cuts one window per T1/T2 cue;
  :func:`load_eegbci_continuous` cuts whole runs into consecutive windows
  for unlabelled pretraining.

Real recordings are returned as MNE reads them, in volts (braindecode's
convention); the estimators' ``units="auto"`` detects this.
"""

from __future__ import annotations

import numbers
import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from ._validation import is_int_at_least

__all__ = [
    "make_synthetic_eeg",
    "fetch_eegmat",
    "load_eegbci",
    "load_eegbci_continuous",
    "data_home",
    "find_eegmat",
    "find_eegbci",
    "EEGMAT_URL",
    "EEGMAT_SUBJECTS",
    "EEGMAT_CHANNELS",
    "EEGMAT_REGISTRY",
    "EEGBCI_RUN_CLASSES",
]

# ----------------------------------------------------------------- synthetic

#: Dominant frequency of each class's rhythm, in Hz, in class order: alpha,
#: beta, theta, low beta, high beta, delta, low alpha, low gamma.
SYNTHETIC_CLASS_FREQUENCIES = (10.0, 20.0, 6.0, 15.0, 25.0, 3.0, 8.0, 35.0)
_BACKGROUND_UV = 20.0  # standard deviation of the 1/f background at noise=1, µV
_RHYTHM_UV = 10.0  # peak amplitude of a class rhythm on its strongest channel, µV
_FREQUENCY_JITTER_HZ = 1.0


def make_synthetic_eeg(n_windows=200, n_channels=8, n_times=512, sfreq=128.0, n_classes=2, noise=1.0,
                       random_state=None):
    """Generate labelled EEG-like windows: 1/f background plus class-specific rhythms.

    Each window is spatially correlated pink noise (power ∝ 1/f, mixed
    across neighbouring channels as volume conduction does) plus one bursting
    oscillation whose frequency identifies the class: 10 Hz (alpha) for class
    0, 20 Hz (beta) for class 1, then 6, 15, 25, 3, 8 and 35 Hz (see
    ``SYNTHETIC_CLASS_FREQUENCIES``). The rhythm's frequency is jittered by up
    to ±1 Hz per window, its amplitude waxes and wanes at 0.2-1 Hz, and its
    spatial pattern is a smooth bump over a class-specific group of channels.
    Every class has the same rhythm power, so per-channel power alone barely
    separates the classes: a feature must resolve frequency (or topography).
    A random gain per window (log-normal, σ = 0.2) adds the amplitude
    variability of real recordings.

    Parameters
    ----------
    n_windows : int, default=200
        Number of windows; classes are balanced (up to one window).
    n_channels : int, default=8
        Channels per window.
    n_times : int, default=512
        Samples per window.
    sfreq : float, default=128.0
        Sampling frequency in Hz; must exceed 2.5 times the highest class
        frequency used (e.g. 50 Hz for 2 classes).
    n_classes : int, default=2
        Number of classes, 2 to 8.
    noise : float, default=1.0
        Standard deviation of the background relative to its default of
        20 µV; 0 gives clean rhythms, larger values make the task harder.
    random_state : int, RandomState or None
        Seed of the generator.

    Returns
    -------
    X : np.ndarray of shape (n_windows, n_channels, n_times), float32
        Windows in µV.
    y : np.ndarray of shape (n_windows,), int64
        Class labels ``0 .. n_classes - 1``.

    Examples
    --------
    >>> X, y = make_synthetic_eeg(n_windows=10, n_channels=4, random_state=0)
    >>> X.shape, y.shape
    ((10, 4, 512), (10,))
    """
    for name, value, low in (("n_windows", n_windows, 1), ("n_channels", n_channels, 1),
                             ("n_times", n_times, 8), ("n_classes", n_classes, 2)):
        if not is_int_at_least(value, low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if n_classes > len(SYNTHETIC_CLASS_FREQUENCIES):
        raise ValueError(f"n_classes must be at most {len(SYNTHETIC_CLASS_FREQUENCIES)}, got {n_classes}.")
    if not isinstance(sfreq, numbers.Real) or not sfreq > 0:
        raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}.")
    if not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    class_freqs = np.asarray(SYNTHETIC_CLASS_FREQUENCIES[:n_classes])
    needed = 2.5 * (class_freqs.max() + _FREQUENCY_JITTER_HZ)
    if sfreq < needed:
        raise ValueError(
            f"sfreq={sfreq} Hz is too low for {n_classes} class rhythms (up to {class_freqs.max()} Hz); "
            f"use sfreq >= {needed:g} Hz or fewer classes."
        )
    rng = check_random_state(random_state)
    sfreq = float(sfreq)

    y = np.arange(n_windows) % n_classes
    rng.shuffle(y)

    # Pink background: unit-variance complex spectrum shaped by 1/sqrt(f),
    # flat below 1 Hz so that the DC-near bins do not dominate.
    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    shape = 1.0 / np.sqrt(np.maximum(freqs, 1.0))
    shape[0] = 0.0
    spectrum = (rng.standard_normal((n_windows, n_channels, freqs.size))
                + 1j * rng.standard_normal((n_windows, n_channels, freqs.size))) * shape
    background = np.fft.irfft(spectrum, n=n_times, axis=-1)
    position = np.arange(n_channels)
    mixing = np.exp(-np.abs(position[:, None] - position[None, :]) / 1.5)
    background = np.einsum("ij,njt->nit", mixing / np.linalg.norm(mixing, axis=1, keepdims=True), background)
    background *= noise * _BACKGROUND_UV / max(background.std(), np.finfo(float).tiny)

    # Class rhythms: a smooth spatial bump centred on a class-specific channel.
    centres = (np.arange(n_classes) + 0.5) * n_channels / n_classes
    width = max(n_channels / n_classes, 1.0)
    patterns = 0.3 + np.exp(-0.5 * ((position[None, :] - centres[:, None]) / width) ** 2)
    t = np.arange(n_times) / sfreq
    frequency = class_freqs[y] + rng.uniform(-_FREQUENCY_JITTER_HZ, _FREQUENCY_JITTER_HZ, n_windows)
    phase = rng.uniform(0, 2 * np.pi, n_windows)
    envelope_freq = rng.uniform(0.2, 1.0, n_windows)
    envelope_phase = rng.uniform(0, 2 * np.pi, n_windows)
    envelope = 1.0 + 0.6 * np.sin(2 * np.pi * envelope_freq[:, None] * t + envelope_phase[:, None])
    rhythm = envelope * np.sin(2 * np.pi * frequency[:, None] * t + phase[:, None])
    X = background + _RHYTHM_UV * patterns[y][:, :, None] * rhythm[:, None, :]
    X *= np.exp(rng.normal(0.0, 0.2, (n_windows, 1, 1)))
    return X.astype(np.float32), y.astype(np.int64)


# ------------------------------------------------------------------- helpers

def data_home(data_home=None) -> Path:
    """Folder where skseqclr keeps downloaded datasets.

    Parameters
    ----------
    data_home : str, path or None
        Returned as is if given; else ``$SKSEQCLR_DATA`` if set, else
        ``~/skseqclr_data``.

    Returns
    -------
    Path
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    return Path(os.environ.get("SKSEQCLR_DATA", Path.home() / "skseqclr_data")).expanduser()


def _check_window_params(window_size_s, window_stride_s, sfreq):
    if window_size_s is not None and (not isinstance(window_size_s, numbers.Real) or not window_size_s > 0):
        raise ValueError(f"window_size_s must be None or a positive number of seconds, got {window_size_s!r}.")
    if window_stride_s is not None and (not isinstance(window_stride_s, numbers.Real) or not window_stride_s > 0):
        raise ValueError(f"window_stride_s must be None or a positive number of seconds, got {window_stride_s!r}.")
    if sfreq is not None and (not isinstance(sfreq, numbers.Real) or not sfreq > 0):
        raise ValueError(f"sfreq must be None or a positive number of Hz, got {sfreq!r}.")


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _resample(raw, sfreq):
    """Resample ``raw`` in place to ``sfreq`` Hz, with MNE's polyphase method where available.

    Polyphase filtering (``scipy.signal.resample_poly``) is about 30 times
    faster than MNE's default FFT method on these recordings' odd lengths.
    """
    import inspect

    if "method" in inspect.signature(raw.resample).parameters:
        raw.resample(sfreq, method="polyphase", verbose="error")
    else:  # MNE < 1.7
        raw.resample(sfreq, verbose="error")


def _drop_last_window(windower):
    """Keyword that drops each recording's incomplete last window, in this braindecode's spelling."""
    import inspect

    if "on_last_window" in inspect.signature(windower).parameters:
        return {"on_last_window": "drop"}
    return {"drop_last_window": True}  # older braindecode


def _fixed_length_windows(recordings, window_size_s, window_stride_s, preload, **kwargs):
    """Consecutive windows of braindecode ``RawDataset`` recordings (each one's incomplete last window dropped);
    with ``window_size_s=None``, the recordings themselves."""
    from braindecode.datasets import BaseConcatDataset
    from braindecode.preprocessing import create_fixed_length_windows

    concat = BaseConcatDataset(recordings)
    if window_size_s is None:
        return concat
    rate = float(recordings[0].raw.info["sfreq"])
    size = int(round(window_size_s * rate))
    stride = size if window_stride_s is None else int(round(window_stride_s * rate))
    shortest = min(r.raw.n_times for r in recordings)
    if size > shortest:
        raise ValueError(f"window_size_s={window_size_s} s is longer than the shortest recording "
                         f"({shortest / rate:.1f} s).")
    return create_fixed_length_windows(concat, window_size_samples=size, window_stride_samples=stride,
                                       preload=preload, **kwargs, **_drop_last_window(create_fixed_length_windows))


def _progress(iterable, show, desc):
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not show, desc=desc, unit="file", leave=False)


# -------------------------------------------------------------------- eegmat

#: Where PhysioNet serves eegmat 1.0.0.
EEGMAT_URL = "https://physionet.org/files/eegmat/1.0.0/"
#: Subject numbers of eegmat (files ``SubjectNN_1.edf`` rest, ``SubjectNN_2.edf`` arithmetic).
EEGMAT_SUBJECTS = tuple(range(36))
#: The 19 scalp electrodes of eegmat (10-20 system, old temporal names T3-T6), as returned.
EEGMAT_CHANNELS = ("Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6",
                   "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz")
_EEGMAT_CONDITIONS = {1: ("rest", 0), 2: ("arithmetic", 1)}
_EEGMAT_FILE = re.compile(r"Subject(\d{2})_([12])\.edf$")

#: SHA-256 of every file of eegmat 1.0.0 that :func:`fetch_eegmat` reads.
#: Computed from the project's local copy of the files (no network access where
#: this was written), not copied from PhysioNet's SHA256SUMS.txt; a download
#: whose bytes differ from that copy fails pooch's check with a clear error
#: rather than being read silently.
EEGMAT_REGISTRY = {
    "Subject00_1.edf": "sha256:ac46d8c9905d6750c8f07235f2e0d96771882cad8af06a8e32d88cfd16c376ed",
    "Subject00_2.edf": "sha256:19476db6d5f2bcd40e417a7e1f2f9b276af05cf2c93a52a2be4d7524b4e9885c",
    "Subject01_1.edf": "sha256:e8c8bd03146127f6084e36282b20bf9236cd5e5459e8a9129b05963bdbbb461a",
    "Subject01_2.edf": "sha256:da7ad48824d5c92a5a12b90495f4ceca98dbc91fca1d3e85f009dbc640b32ca7",
    "Subject02_1.edf": "sha256:02da547be13c67b310a020d48be83be6a1faad72b26519e8084038aea1aa30f8",
    "Subject02_2.edf": "sha256:2ff3c97cbc6be7c4b3e43df85f42621d2837bd860463747557a6c3a558d802ee",
    "Subject03_1.edf": "sha256:8f22c7eb40e2d2b2f61dadd874172f395fed9ca83c843e9d92b492ec2b3d4f41",
    "Subject03_2.edf": "sha256:d4792fe50ad51d7ad607caeaf3c24f2d19087cb96311c4c2cbdfdd6418f56cf0",
    "Subject04_1.edf": "sha256:0c96ec8a36767673772d35c1c8e8328c6a51f18e83b806f5776d02f388c65a73",
    "Subject04_2.edf": "sha256:4455d8e910ac8f5a18a5c050e2b544d147b092458cd135c04e3030f2ee63f90f",
    "Subject05_1.edf": "sha256:844f7c4c0868f64003f50d02ecd9db3a7e60cd51df66f9ad2a460e279001eaf8",
    "Subject05_2.edf": "sha256:651a9f1cbe3e85605ef6a8e3c13c8d8d130e1c41bb8ac23ac3c2fa9ab63665f7",
    "Subject06_1.edf": "sha256:cd5697ace53d4a824b7a89846a0a2e2ca40ec7ee661488551d44d6f2a301b5c1",
    "Subject06_2.edf": "sha256:206452b3d030ba9f04b43f2747bcd24ecd0466e7abe27676ad054428286cf24d",
    "Subject07_1.edf": "sha256:3991d7b4667065de53f80e5b40b69cee5c819f62c7352dca3b06ca5333fd1308",
    "Subject07_2.edf": "sha256:f8381e8f22a118f772e316bfb4c87f2a41581d9590a7c58f3b8c95c62a1789f1",
    "Subject08_1.edf": "sha256:02acf02d25d333fd9bc38b9b513b9f72072d5bd36b6ffa5a9a5be6f54fd9b853",
    "Subject08_2.edf": "sha256:461c2f9c95b5d1128e32bd1272e44b3d5366493f57d88092278b440a7b30d0df",
    "Subject09_1.edf": "sha256:68f2c002f30831ead8fc9418a24fe044419f430686beec62ddb46ab2c731036a",
    "Subject09_2.edf": "sha256:05d4449075a6e62d61737a939cf142b27f84b60a9bdad788fd87a9fc9737b3b9",
    "Subject10_1.edf": "sha256:25a392a6816c74da10539694e51210030742ced96379761afe02aa05f60bfcc8",
    "Subject10_2.edf": "sha256:aa76531d0a6f72ebc163014383a42fdd7252ea310559d270943922607e51a13a",
    "Subject11_1.edf": "sha256:8c85e9c32acbb18145bbc29126c19239beeba53c136d3014de285d5d359df9ac",
    "Subject11_2.edf": "sha256:df36afd690987a373f0de02b91059760e155a7bf49732d05b7cce42bbe4de354",
    "Subject12_1.edf": "sha256:e3e6985558b94bdbec4ec93745b353dbd090b3e160bc9e97546ea9b5e416c37d",
    "Subject12_2.edf": "sha256:984c866e886a4c17f0f9196cc0ec072a3b492ef7af92d4dea48a451a433cfd13",
    "Subject13_1.edf": "sha256:226fc6946d5b2181f4a219530b7eb642561d3acd8257a224d14c6aecd50e92bb",
    "Subject13_2.edf": "sha256:12cb297ce1c1506d07418353900bcea3472b5c8bdb26d73db3c25c07d752ae71",
    "Subject14_1.edf": "sha256:e9b5d97eb5dd4778dfb6e279f3e03b27cf4ad5881641f2eaabedeaf2b0475ee5",
    "Subject14_2.edf": "sha256:4c0c71fc2f7962efea32593eeadeb96c38c44db6a203e9a6353662cd8b941544",
    "Subject15_1.edf": "sha256:3bfa5357e3cf6bb849f0e950be34f14ee10f90348a1d1246c863936ce923e07c",
    "Subject15_2.edf": "sha256:b107158d3d23fe53559712db1a13416391dd963038b1c73918de7483343393ad",
    "Subject16_1.edf": "sha256:2e59fdf714c36f6c1520f5011aba46dca543e0561e98c3ca509dfe6112709130",
    "Subject16_2.edf": "sha256:451eea5902ab279785fa98d474837c97ba2bc389b4b46f914a408555744b1774",
    "Subject17_1.edf": "sha256:cc6be6007c4e029ee7d32b754fa07d1f514db9e8dce82a167b99af45caab7610",
    "Subject17_2.edf": "sha256:9c9a0cbf89ed1152244b7c3d191c584cd59d3d99ff067e1610010d805cee62af",
    "Subject18_1.edf": "sha256:ba4323db350812274637dafd018c5563ad8f46d8fc302ef0e3be0c5b6a4016a8",
    "Subject18_2.edf": "sha256:5d8425c622e33be4990c4e1c91bb8411f448a9594393ee46738d96b23dfb7646",
    "Subject19_1.edf": "sha256:7cd2b2609e184c777b613b8522ae44f84396d9eedcf857821ba535c701f88a83",
    "Subject19_2.edf": "sha256:e9c53b3bb46cbbfef45cfed8d56d67a2d145f16babaa65e6eb0f1284958fc9c2",
    "Subject20_1.edf": "sha256:d3f5eea33d1f0fbf6483a38bd9fbd929ef32bd9266a6e9c6c0a883520f9bd5ee",
    "Subject20_2.edf": "sha256:f726b0b9bfd3a3300819f111af0f3f28151db03fe84f3b4531d8334b55333fd4",
    "Subject21_1.edf": "sha256:77e3e122db2e1d8a302c125c23c63e0fe19f7c9850118f6215213a8e3331b4ad",
    "Subject21_2.edf": "sha256:036cf82700fc3a635b390d4e72cb5ab3a93321bf8024d33bae963f4d6ac826dd",
    "Subject22_1.edf": "sha256:656b1b96f5aa8118e3412ef816b918a085a38c29379a25fa4ecc862bd481684f",
    "Subject22_2.edf": "sha256:814190dabd5a01f6532f9229458acd8e2fe995ae9a6e790109dd638c9eb46d92",
    "Subject23_1.edf": "sha256:66204fb1ded55bf94a11f2fc33be3f2e54d2b0cac3663b4b1210a4deeaa97049",
    "Subject23_2.edf": "sha256:ff7679c7e2af46a6ba16323c3239b461bbffce0672cfaaca746e721b18bb47bd",
    "Subject24_1.edf": "sha256:8fc47eb62b9c3cfbf378996631023a699f1c116dc09d300e45d6e78660d16309",
    "Subject24_2.edf": "sha256:06fbe6d6858f20bad550d379f80cea24e4758b4c858c0802e3cb076ecfeb70b6",
    "Subject25_1.edf": "sha256:034d43d65ba88c9ae8006ef2f143a0b2e8b9c398b31b3b3d04c50820e385b27f",
    "Subject25_2.edf": "sha256:249da1cdf89e86bc94dcc7c7e15327b4be1ec57af101afbe54fc225862362933",
    "Subject26_1.edf": "sha256:aea2dbcb71f24ba64abbed986a52911641c464f41b4a0f0ec17f887c5d1e32a2",
    "Subject26_2.edf": "sha256:327d6dba1a7a9afbfab376cfd62d0af8f57e875d66020bfcdf67be384376cb1b",
    "Subject27_1.edf": "sha256:4da0de4c55117b3471f177ac63a91a40eacc55c954decbe93d1012c60635b7ac",
    "Subject27_2.edf": "sha256:0261aa7b798e43d06405349a499c96fb5fe2cdaaa0c150c1e3c0ab3bd70575f9",
    "Subject28_1.edf": "sha256:91482e34abc5832a4cee054d83698c87a717d0b2a5b82a18841adc5dc1ca9a24",
    "Subject28_2.edf": "sha256:2585a5fa2b1288eb4924aec00d430e7456b3f0dab77363099476d67c8f0d35e1",
    "Subject29_1.edf": "sha256:3c89cf82670f3441fb0e9fa8fb67b7861914f28fb9b8cf01d750ff6e8ab70e50",
    "Subject29_2.edf": "sha256:6c3817cba4fd98ae1b42b914fcce96796184ac7c3484ad1e9cfeb0ad89bda61f",
    "Subject30_1.edf": "sha256:3c0be4bb0770d56ae2f138e733c7d533c6d4de3635c7b8b5ac597f90aa9f5ec1",
    "Subject30_2.edf": "sha256:cedd6ea81919a70aabf16da09a9553a0b1c8ea59f844089c3b8c5573936a4321",
    "Subject31_1.edf": "sha256:b34b2a26dcb5183b990ccad6d708353713206649733ace6a4f217f62c8fd1672",
    "Subject31_2.edf": "sha256:2a1e9617bf8db8205884241f0587adb26e9c3d262be53fc01a561c706f487054",
    "Subject32_1.edf": "sha256:f49446c61f98c31e297f5da7fc488989ce1d71285802041c8a4b7bc06dab3489",
    "Subject32_2.edf": "sha256:9af326b483841a3a13213c201985bab7acb8ec43964af7cea6a93de68a415b2c",
    "Subject33_1.edf": "sha256:e05cf658e1ae91007f82cadfe024575fc13fe4d1f582da8bc8e3390c04c28640",
    "Subject33_2.edf": "sha256:7c10fc307530f24c63309b71862916a1254d4e1f33af193fc73311f408475d7c",
    "Subject34_1.edf": "sha256:6b1e12c0d21fb3e89d2ec760d33757aa24f042a29edcbf7330a864de0c723316",
    "Subject34_2.edf": "sha256:57594e49709a0df6aeef2207d21933a5dcca9272a39040243d7beca4af846ec0",
    "Subject35_1.edf": "sha256:1ffc283a017da6597c68cb19245c2138bdab0aa4d0355e323c27ed710d099a29",
    "Subject35_2.edf": "sha256:c18fdaaf9ef0faeb49389326a0a383d428e49efe662b1ca4713c61aee8153dcb",
    "subject-info.csv": "sha256:09c5951145d9f6a170ed7e01957406010ff549127ccf96ad7a2ead9fb0e018de",
}


def _eegmat_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("Subject*_*.edf") if _EEGMAT_FILE.search(p.name))


def find_eegmat(path=None) -> Path | None:
    """The local eegmat folder, if there is one.

    Parameters
    ----------
    path : str, path or None
        A folder holding ``SubjectNN_K.edf`` files, or one with an ``eegmat``
        sub-folder that does. ``None`` looks in ``data_home() / "eegmat"``,
        then in ``data_home()`` itself.

    Returns
    -------
    Path or None
        The folder with the EDF files, or None if none is found.
    """
    root = data_home() if path is None else Path(path).expanduser()
    candidates = [root / "eegmat", root] if path is None else [root, root / "eegmat"]
    for folder in candidates:
        if folder.is_dir() and _eegmat_files(folder):
            return folder
    return None


def _check_subjects(subjects, known, name="subjects"):
    if subjects is None:
        return list(known)
    if isinstance(subjects, numbers.Integral):
        subjects = [subjects]
    subjects = list(subjects)
    if not subjects:
        raise ValueError(f"{name} is empty; pass None for all of {known[0]}..{known[-1]}.")
    bad = [s for s in subjects if not isinstance(s, numbers.Integral) or int(s) not in known]
    if bad:
        raise ValueError(f"Unknown {name} {bad}; this dataset has subjects {known[0]}..{known[-1]}.")
    return sorted({int(s) for s in subjects})


def _download_eegmat(folder: Path, names, show):
    import pooch

    folder.mkdir(parents=True, exist_ok=True)
    for name in _progress(names, show, "Downloading eegmat"):
        pooch.retrieve(EEGMAT_URL + name, known_hash=EEGMAT_REGISTRY[name], fname=name, path=folder,
                       progressbar=show)


def _read_subject_info(folder: Path):
    import pandas as pd

    path = folder / "subject-info.csv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path)
    table.columns = [_snake_case(c) for c in table.columns]
    info = {}
    for row in table.to_dict("records"):
        match = re.search(r"(\d+)", str(row.pop("subject", "")))
        if match:
            info[int(match.group(1))] = row
    return info


def _read_eegmat_raw(path: Path, sfreq, preload):
    import mne

    raw = mne.io.read_raw_edf(path, preload=bool(preload or sfreq is not None), verbose="error")
    rename = {name: name[len("EEG "):] for name in raw.ch_names if name.startswith("EEG ")}
    raw.rename_channels(rename)
    missing = [ch for ch in EEGMAT_CHANNELS if ch not in raw.ch_names]
    if missing:
        raise ValueError(f"{path} lacks the scalp channels {missing}; is it an eegmat 1.0.0 file?")
    # A2-A1 is a reference derivation and ECG is not EEG: keep the 19 scalp channels.
    raw.pick(list(EEGMAT_CHANNELS))
    if sfreq is not None and not np.isclose(raw.info["sfreq"], sfreq):
        _resample(raw, sfreq)
    return raw


def fetch_eegmat(path=None, subjects=None, *, window_size_s=4.0, window_stride_s=None, sfreq=None,
                 preload=True, download=True, verbose=False):
    """Load PhysioNet's EEG During Mental Arithmetic Tasks (eegmat 1.0.0) as braindecode windows.

    36 subjects, each with a resting recording (``SubjectNN_1.edf``, about
    182 s) and one during serial subtraction (``SubjectNN_2.edf``, about 62 s),
    at 500 Hz; the files were band-passed (0.5-45 Hz), notch-filtered and
    ICA-cleaned by the dataset's authors (Zyma et al. 2019). The 19 scalp
    channels are kept (``EEG A2-A1`` and ``ECG ECG`` are dropped) and renamed
    to their 10-20 names (``"EEG Fp1"`` -> ``"Fp1"``; see ``EEGMAT_CHANNELS``).

    Parameters
    ----------
    path : str, path or None
        A folder laid out like PhysioNet's (``SubjectNN_K.edf`` files and
        ``subject-info.csv``), or its parent holding an ``eegmat`` folder. If
        every requested file is there, nothing touches the network. ``None``
        uses ``data_home() / "eegmat"`` (``$SKSEQCLR_DATA`` or
        ``~/skseqclr_data``).
    subjects : int, list of int or None
        Subject numbers 0-35; None loads all.
    window_size_s : float or None, default=4.0
        Window length in seconds, cut with braindecode's
        ``create_fixed_length_windows``; the last incomplete window of each
        recording is dropped. None returns the continuous recordings.
    window_stride_s : float or None
        Seconds between window starts; None means ``window_size_s`` (no overlap).
    sfreq : float or None
        Resample every recording to this rate in Hz with MNE's polyphase
        method (e.g. 128); None keeps 500 Hz.
    preload : bool, default=True
        Load the signals into memory. Resampling loads them regardless.
    download : bool, default=True
        Download missing files from PhysioNet (with pooch, checking each
        file's SHA-256 sum in ``EEGMAT_REGISTRY``). With False, missing files
        raise ``FileNotFoundError``.
    verbose : bool, default=False
        Show progress bars.

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        One dataset per EDF file, in volts. Its description has ``subject``
        (int), ``condition`` (``"rest"`` or ``"arithmetic"``), ``target`` (0
        rest, 1 arithmetic), ``file``, and the columns of ``subject-info.csv``
        in snake case (``age``, ``gender``, ``recording_year``,
        ``number_of_subtractions``, ``count_quality``) when present. Windows'
        targets are the recording's ``target``.

    Notes
    -----
    Recordings are imbalanced: rest is about three times longer than
    arithmetic, so score with balanced accuracy. Split by subject: windows of
    one subject are strongly correlated.

    Examples
    --------
    >>> windows = fetch_eegmat("../shared/data/eegmat", subjects=[0, 1], sfreq=128)  # doctest: +SKIP
    >>> windows.description[["subject", "condition"]]  # doctest: +SKIP
    """
    _check_window_params(window_size_s, window_stride_s, sfreq)
    subjects = _check_subjects(subjects, EEGMAT_SUBJECTS)
    folder = find_eegmat(path)
    if folder is None:
        folder = data_home() / "eegmat" if path is None else Path(path).expanduser()
    names = [f"Subject{s:02d}_{k}.edf" for s in subjects for k in _EEGMAT_CONDITIONS]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        if not download:
            raise FileNotFoundError(
                f"{len(missing)} eegmat file(s) missing in {folder} (e.g. {missing[0]}); pass download=True "
                "or point path at a folder laid out like https://physionet.org/files/eegmat/1.0.0/."
            )
        if not (folder / "subject-info.csv").is_file():
            missing.append("subject-info.csv")
        _download_eegmat(folder, missing, verbose)

    from braindecode.datasets import RawDataset

    subject_info = _read_subject_info(folder)
    recordings = []
    for name in _progress(names, verbose, "Reading eegmat"):
        subject, k = (int(g) for g in _EEGMAT_FILE.search(name).groups())
        condition, target = _EEGMAT_CONDITIONS[k]
        raw = _read_eegmat_raw(folder / name, sfreq, preload)
        description = {"subject": subject, "condition": condition, "target": target, "file": name,
                       **subject_info.get(subject, {})}
        recordings.append(RawDataset(raw, description, target_name="target"))
    return _fixed_length_windows(recordings, window_size_s, window_stride_s, preload, targets_from="metadata")


# -------------------------------------------------------------------- eegbci

#: Runs of eegmmidb with T1/T2 cues: what the two classes are in each run.
#: Targets are 0 for T1 and 1 for T2.
EEGBCI_RUN_CLASSES = {
    **{run: ("execution", "left fist", "right fist") for run in (3, 7, 11)},
    **{run: ("imagery", "left fist", "right fist") for run in (4, 8, 12)},
    **{run: ("execution", "both fists", "both feet") for run in (5, 9, 13)},
    **{run: ("imagery", "both fists", "both feet") for run in (6, 10, 14)},
}
EEGBCI_SUBJECTS = tuple(range(1, 110))
EEGBCI_RUNS = tuple(range(1, 15))
_EEGBCI_BASELINES = {1: "eyes open", 2: "eyes closed"}  # runs without cues
EEGBCI_SFREQ = 160.0  # every eegmmidb recording's rate, Hz


def find_eegbci(path=None) -> Path | None:
    """The folder to pass to :func:`mne.datasets.eegbci.load_data` as ``path``, if one exists locally.

    Parameters
    ----------
    path : str, path or None
        A folder holding ``MNE-eegbci-data`` (MNE's cache layout), or one with
        an ``eegbci`` sub-folder that does. None returns None (MNE's own
        configured path is used then).

    Returns
    -------
    Path or None
    """
    if path is None:
        return None
    for folder in (Path(path).expanduser(), Path(path).expanduser() / "eegbci"):
        if (folder / "MNE-eegbci-data").is_dir():
            return folder
    return None


def load_eegbci(subject=1, runs=(4, 8, 12), path=None, *, tmin=0.0, tmax=4.0, sfreq=None, l_freq=None,
                h_freq=None, preload=True, verbose=False):
    """Load motor imagery/execution trials of PhysioNet's eegmmidb as braindecode windows.

    A thin wrapper over :func:`mne.datasets.eegbci.load_data` (which
    downloads the EDF files unless they are in ``path``), channel names
    standardised with :func:`mne.datasets.eegbci.standardize`, and one window
    per T1/T2 cue cut with braindecode's ``create_windows_from_events``.
    For unlabelled pretraining on whole runs, see
    :func:`load_eegbci_continuous`.

    Parameters
    ----------
    subject : int or list of int, default=1
        Subject numbers 1-109.
    runs : int or sequence of int, default=(4, 8, 12)
        Runs with cues, all of one pair of classes (``EEGBCI_RUN_CLASSES``):
        runs 3, 7, 11 (executed) and 4, 8, 12 (imagined) are left fist (target
        0) vs right fist (target 1); runs 5, 9, 13 (executed) and 6, 10, 14
        (imagined) are both fists (0) vs both feet (1). Mixing the two pairs
        raises ``ValueError``, since their targets would mean different things.
    path : str, path or None
        Folder holding ``MNE-eegbci-data`` (or its parent, holding
        ``eegbci/MNE-eegbci-data``); None uses MNE's configured path
        (``MNE_DATASETS_EEGBCI_PATH``, by default ``~/mne_data``).
    tmin, tmax : float, default=0.0, 4.0
        Window start and end relative to each cue, in seconds.
    sfreq : float or None
        Resample to this rate in Hz with MNE's polyphase method; None keeps 160 Hz.
    l_freq, h_freq : float or None
        Band-pass (or high-pass, low-pass) each whole run with MNE's default
        FIR filter (:meth:`mne.io.Raw.filter`) before resampling and cutting,
        in Hz; None leaves that edge open. The recordings are stored
        unfiltered; ``l_freq=0.5, h_freq=45`` matches EEGMAT's preprocessing.
    preload : bool, default=True
        Load the signals into memory. Resampling and filtering load them regardless.
    verbose : bool, default=False
        Show progress bars.

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        One windows dataset per run, 64 channels, in volts. Description:
        ``subject``, ``run``, ``task`` (``"imagery"`` or ``"execution"``),
        ``class_0``, ``class_1`` (what targets 0 and 1 mean).
    """
    import mne

    if not isinstance(tmin, numbers.Real) or not isinstance(tmax, numbers.Real) or not tmax > tmin:
        raise ValueError(f"Need tmin < tmax (seconds), got tmin={tmin!r}, tmax={tmax!r}.")
    _check_window_params(None, None, sfreq)
    _check_band(l_freq, h_freq, EEGBCI_SFREQ)
    subjects = _check_subjects(subject, EEGBCI_SUBJECTS, name="subject")
    runs = [runs] if isinstance(runs, numbers.Integral) else list(runs)
    unknown = [r for r in runs if r not in EEGBCI_RUN_CLASSES]
    if not runs or unknown:
        raise ValueError(f"runs {unknown or runs} have no T1/T2 cues; choose from {sorted(EEGBCI_RUN_CLASSES)}.")
    pairs = {EEGBCI_RUN_CLASSES[r][1:] for r in runs}
    if len(pairs) > 1:
        raise ValueError(
            f"runs {runs} mix the left/right fist runs (3, 4, 7, 8, 11, 12) with the fists/feet runs "
            "(5, 6, 9, 10, 13, 14); targets 0/1 would mean different movements. Load them separately."
        )

    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import create_windows_from_events

    recordings = []
    for subj, run, raw in _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose):
        # Windows start at cue + tmin and end at cue + tmax whatever each cue's
        # annotated duration (4.1 or 4.2 s), so every window has the same length.
        ann = raw.annotations
        raw.set_annotations(mne.Annotations(ann.onset, np.zeros_like(ann.duration), ann.description,
                                            orig_time=ann.orig_time))
        task, class_0, class_1 = EEGBCI_RUN_CLASSES[run]
        recordings.append(RawDataset(raw, {"subject": subj, "run": run, "task": task,
                                           "class_0": class_0, "class_1": class_1}))
    rate = float(recordings[0].raw.info["sfreq"])
    start, stop = int(round(tmin * rate)), int(round(tmax * rate))
    return create_windows_from_events(
        BaseConcatDataset(recordings), trial_start_offset_samples=start, trial_stop_offset_samples=stop,
        window_size_samples=stop - start, window_stride_samples=stop - start,
        mapping={"T1": 0, "T2": 1}, preload=preload,
    )


def load_eegbci_continuous(subject=1, runs=EEGBCI_RUNS, path=None, *, window_size_s=4.0, window_stride_s=None,
                           sfreq=None, l_freq=None, h_freq=None, preload=True, verbose=False):
    """Load whole runs of PhysioNet's eegmmidb, cut into consecutive windows, for unlabelled pretraining.

    Unlike :func:`load_eegbci`, the windows ignore the cues: they cover each
    run from its start (rest periods, cues and the baselines' eyes-open and
    eyes-closed runs alike), which is what contrastive pretraining needs and
    what a labelled task's windows must not be mixed with. Same reading as
    :func:`load_eegbci` (:func:`mne.datasets.eegbci.load_data`, channel names
    standardised), windows cut with braindecode's ``create_fixed_length_windows``.

    Parameters
    ----------
    subject : int or list of int, default=1
        Subject numbers 1-109.
    runs : int or sequence of int, default=all 14
        Runs 1-14: 1 and 2 are the eyes-open and eyes-closed baselines (about
        61 s each), 3-14 the motor runs (about 125 s each, see
        ``EEGBCI_RUN_CLASSES``).
    path : str, path or None
        As in :func:`load_eegbci`.
    window_size_s : float or None, default=4.0
        Window length in seconds; each run's last incomplete window is
        dropped. None returns the continuous runs.
    window_stride_s : float or None
        Seconds between window starts; None means ``window_size_s`` (no overlap).
    sfreq : float or None
        Resample to this rate in Hz with MNE's polyphase method; None keeps 160 Hz.
    l_freq, h_freq : float or None
        Band edges in Hz of the filter applied to each whole run before
        resampling and cutting, as in :func:`load_eegbci`; None leaves that edge open.
    preload : bool, default=True
        Load the signals into memory. Resampling and filtering load them regardless.
    verbose : bool, default=False
        Show progress bars.

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        One dataset per run, 64 channels, in volts, without targets.
        Description: ``subject``, ``run``, ``task`` (``"eyes open"``, ``"eyes
        closed"``, ``"imagery"`` or ``"execution"``).

    Examples
    --------
    >>> eegbci = load_eegbci_continuous(1, runs=range(3, 15), path="../shared/data/eegbci",
    ...                                 sfreq=128, l_freq=0.5, h_freq=45)  # doctest: +SKIP
    >>> SeqCLRTransformer(model_size="small").fit(MultiDataset([fetch_eegmat(sfreq=128), eegbci]))  # doctest: +SKIP
    """
    _check_window_params(window_size_s, window_stride_s, sfreq)
    _check_band(l_freq, h_freq, EEGBCI_SFREQ)
    subjects = _check_subjects(subject, EEGBCI_SUBJECTS, name="subject")
    runs = [runs] if isinstance(runs, numbers.Integral) else list(runs)
    unknown = [r for r in runs if r not in EEGBCI_RUNS]
    if not runs or unknown:
        raise ValueError(f"runs {unknown or runs} do not exist; eegmmidb has runs 1-14.")

    from braindecode.datasets import RawDataset

    tasks = {**_EEGBCI_BASELINES, **{run: classes[0] for run, classes in EEGBCI_RUN_CLASSES.items()}}
    recordings = [
        RawDataset(raw, {"subject": subj, "run": run, "task": tasks[run]})
        for subj, run, raw in _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose)
    ]
    return _fixed_length_windows(recordings, window_size_s, window_stride_s, preload)


def _check_band(l_freq, h_freq, original_sfreq):
    for name, value in (("l_freq", l_freq), ("h_freq", h_freq)):
        if value is not None and (not isinstance(value, numbers.Real) or not value > 0):
            raise ValueError(f"{name} must be None or a positive frequency in Hz, got {value!r}.")
        if value is not None and not value < original_sfreq / 2:
            raise ValueError(f"{name}={value!r} Hz is not below the recordings' Nyquist frequency "
                             f"({original_sfreq / 2:g} Hz).")
    if l_freq is not None and h_freq is not None and not l_freq < h_freq:
        raise ValueError(f"Need l_freq < h_freq for a band-pass, got l_freq={l_freq!r}, h_freq={h_freq!r} (Hz).")


def _read_eegbci_runs(subjects, runs, path, sfreq, l_freq, h_freq, preload, verbose):
    """Yield (subject, run, raw) for every subject and run: names standardised, filtered, resampled."""
    import mne
    from mne.datasets import eegbci

    local = find_eegbci(path)
    mne_path = str(local) if local is not None else (None if path is None else str(path))
    filtering = l_freq is not None or h_freq is not None
    for subj in _progress(subjects, verbose and len(subjects) > 1, "Reading eegbci"):
        files = eegbci.load_data(subj, runs, path=mne_path, update_path=False, verbose="error")
        for run, file in zip(runs, files):
            raw = mne.io.read_raw_edf(file, preload=bool(preload or sfreq is not None or filtering), verbose="error")
            eegbci.standardize(raw)
            # Filter the whole run, before cutting: a 0.5-Hz high-pass needs
            # several seconds of signal, longer than one window.
            if filtering:
                raw.filter(l_freq, h_freq, verbose="error")
            if sfreq is not None and not np.isclose(raw.info["sfreq"], sfreq):
                _resample(raw, sfreq)
            yield subj, run, raw
