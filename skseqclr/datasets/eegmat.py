"""PhysioNet's "EEG During Mental Arithmetic Tasks" (``eegmat`` 1.0.0).

:func:`fetch_eegmat` reads (and downloads) it as windows; :func:`find_eegmat` finds a local copy.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._common import (_check_subjects, _check_window_params, _fixed_length_windows, _progress, _resample, _snake_case,
                      data_home)


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
