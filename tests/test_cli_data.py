"""``skseqclr benchmark/pretrain --data``: a BIDS root (mne-bids), EEGMAT's EDF files, an -epo.fif of eegbci."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skseqclr.cli import EXIT_OK, EXIT_USAGE, _data, build_parser, main

from conftest import shared_path

#: A CPU-sized run: the small encoder, one pretraining step of 16 channels.
FAST = ["--model-size", "small", "--batch-size", "16", "--epochs", "1", "--max-steps", "1", "--device", "cpu",
        "--quiet"]
CHANNELS = ["Fz", "Cz", "Pz", "Oz"]
SFREQ = 128.0


@pytest.fixture(autouse=True)
def _no_local_data(tmp_path, monkeypatch):
    """Point the default data folder at an empty one, so nothing is found unless a test says so."""
    empty = tmp_path / "no_data_here"
    empty.mkdir()
    monkeypatch.setenv("SKSEQCLR_DATA", str(empty))


# ------------------------------------------------------------ a tiny BIDS tree

def _brainvision(raw, path):
    """``raw`` written as BrainVision files (float32 µV) and read back, unloaded.

    ``write_raw_bids`` converts a RawArray only with the optional pybv/edfio installed; it copies a
    BrainVision recording without them.
    """
    import mne

    path = Path(path)
    (raw.get_data() * 1e6).astype("<f4").T.tofile(path.with_suffix(".eeg"))
    path.with_suffix(".vmrk").write_text("Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\n"
                                         f"Codepage=UTF-8\nDataFile={path.stem}.eeg\n\n[Marker Infos]\n")
    channels = "".join(f"Ch{i + 1}={name},,1,µV\n" for i, name in enumerate(raw.ch_names))
    path.write_text("Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
                    f"DataFile={path.stem}.eeg\nMarkerFile={path.stem}.vmrk\nDataFormat=BINARY\n"
                    f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(raw.ch_names)}\n"
                    f"SamplingInterval={1e6 / raw.info['sfreq']:g}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
                    f"[Channel Infos]\n{channels}", encoding="utf-8")
    recording = mne.io.read_raw_brainvision(path, verbose="error")
    recording.set_annotations(raw.annotations)
    return recording


def write_bids(root, recordings, seconds=20.0, annotate=True):
    """A BIDS tree of synthetic recordings written by ``mne_bids.write_raw_bids``.

    ``recordings``: (subject, session or None, task, run) per recording. Each holds 2-s 'left' (10 Hz
    rhythm) and 'right' (20 Hz) trials every 4 s over noise, annotated unless ``annotate`` is False.
    """
    import mne
    from mne_bids import BIDSPath, write_raw_bids

    source = Path(root).parent / f"{Path(root).name}_source"
    source.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SFREQ)) / SFREQ
    onsets = np.arange(1.0, seconds - 3, 4.0)
    names = np.array(["left", "right"])[np.arange(len(onsets)) % 2]
    for index, (subject, session, task, run) in enumerate(recordings):
        rng = np.random.default_rng(index)
        data = 0.5 * rng.standard_normal((len(CHANNELS), len(t)))
        for onset, name in zip(onsets, names):
            inside = (t >= onset) & (t < onset + 2)
            data[:, inside] += np.sin(2 * np.pi * (10 if name == "left" else 20) * t[inside] + rng.uniform(0, 6))
        raw = mne.io.RawArray(1e-5 * data, mne.create_info(CHANNELS, SFREQ, "eeg"), verbose="error")
        if annotate:
            raw.set_annotations(mne.Annotations(onsets, 2.0, names))
        recording = _brainvision(raw, source / f"rec{index}.vhdr")
        bids_path = BIDSPath(subject=subject, session=session, task=task, run=run, root=root, datatype="eeg")
        write_raw_bids(recording, bids_path, overwrite=True, verbose="error")
    return Path(root)


#: Subjects 01-03, each with two 'rest' runs in session 'a' and one 'arith' run in session 'b'.
TREE = [(s, "a", "rest", 1) for s in ("01", "02", "03")] + [(s, "a", "rest", 2) for s in ("01", "02", "03")] + \
       [(s, "b", "arith", 1) for s in ("01", "02", "03")]


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory):
    return write_bids(tmp_path_factory.mktemp("bids") / "ds", TREE)


def _loaded(options, labelled=False):
    """What ``--data`` gives a command, without running it."""
    command = "benchmark" if labelled else "pretrain"
    args = build_parser().parse_args([command, *options, *([] if labelled else ["--output", "unused"])])
    args.sfreq = args.sfreq or 128.0
    return _data._load_own(args, True, labelled=labelled)


# ------------------------------------------------------------ BIDS: reading, filters, labels, splits

@pytest.mark.parametrize("filters, n_recordings, subjects", [
    ([], 9, {"01", "02", "03"}),
    (["--bids-subjects", "01", "02"], 6, {"01", "02"}),
    (["--bids-sessions", "b"], 3, {"01", "02", "03"}),
    (["--bids-task", "rest"], 6, {"01", "02", "03"}),
    (["--bids-task", "rest", "--bids-runs", "02"], 3, {"01", "02", "03"}),  # run 02 is the run labelled '2'
    (["--bids-subjects", "03", "--bids-sessions", "a", "--bids-runs", "1"], 1, {"03"}),
])
def test_bids_entity_filters_choose_the_recordings(bids_root, filters, n_recordings, subjects):
    data = _loaded(["--data", str(bids_root), "--window-s", "2", *filters])
    # whole recordings for pretraining: 10 consecutive 2-s windows of each 20-s recording, grouped by subject
    assert data.X.shape == (10 * n_recordings, len(CHANNELS), 256)
    assert set(data.groups) == subjects
    assert data.ch_names == CHANNELS and data.sfreq == 128.0
    assert f"{n_recordings} recording(s)" in data.description


def test_bids_labels_come_from_the_events(bids_root):
    data = _loaded(["--data", str(bids_root), "--bids-task", "rest", "--window-s", "2"], labelled=True)
    # 2-s trials at 1, 5, 9, 13 s: one window each, labelled by its event, in 6 recordings
    assert data.X.shape == (24, len(CHANNELS), 256)
    assert sorted(set(data.y)) == ["left", "right"] and (data.y == "left").sum() == 12
    # split by the BIDS subject: the first two subjects train, the third tests
    assert set(data.groups[data.train]) == {"01", "02"} and set(data.groups[~data.train]) == {"03"}
    # the windows are the trials: the 10 Hz ones ('left') carry more power near 10 Hz than near 20 Hz
    spectrum = np.abs(np.fft.rfft(data.X, axis=-1)) ** 2
    ratio = spectrum[..., 20].mean(axis=1) / spectrum[..., 40].mean(axis=1)  # 10 Hz / 20 Hz (0.5-Hz bins)
    assert (ratio[data.y == "left"] > 1).all() and (ratio[data.y == "right"] < 1).all()
    assert "classes left, right" in data.description and "train subjects 01, 02, test 03" in data.description


def test_bids_events_choose_the_classes_and_longer_events_give_several_windows(tmp_path):
    root = write_bids(tmp_path / "ds", [("01", None, "rest", 1), ("02", None, "rest", 1)], seconds=20.0)
    data = _loaded(["--data", str(root), "--window-s", "1", "--events", "right", "left"], labelled=True)
    assert data.X.shape == (2 * 4 * 2, len(CHANNELS), 128)  # each 2-s trial gives two 1-s windows
    assert list(data.y[:4]) == ["left", "left", "right", "right"]


@pytest.mark.slow
def test_benchmark_on_a_bids_root(bids_root, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["benchmark", "--data", str(bids_root), "--bids-subjects", "01", "02", "03", "--bids-task", "rest",
                 "--window-s", "2", *FAST, "--fractions", "1", "--methods", "seqclr", "untrained", "bands",
                 "--probe-c", "1", "--normalization", "none", "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    report = json.loads(out.read_text())
    assert (report["n_train"], report["n_test"]) == (16, 8)
    assert report["seqclr_params"]["ch_names"] == CHANNELS
    assert "BIDS ds: 6 recording(s) of 3 subject(s)" in report["data"]
    # the 10 Hz / 20 Hz trials are separable by band power on the held-out subject
    assert max(r["balanced_accuracy"] for r in report["rows"] if r["method"] == "log-variance bands") > 0.7


def test_pretrain_on_a_bids_root_needs_no_labels(tmp_path, capsys):
    root = write_bids(tmp_path / "ds", [("01", None, "rest", 1), ("02", None, "rest", 1), ("03", None, "rest", 1)],
                      annotate=False)
    out = tmp_path / "out"
    code = main(["pretrain", "--data", str(root), "--split", "train", "--window-s", "2", *FAST, "--output", str(out)])
    assert code == EXIT_OK, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["datasets"][0]["n_windows"] == 2 * 10  # the benchmark's train subjects, 01 and 02
    assert config["seqclr_params"]["ch_names"] == CHANNELS


# ------------------------------------------------------------ BIDS: usage errors before any pretraining

def _bad_bids_cases(tmp_path, root):
    unlabelled = write_bids(tmp_path / "unlabelled", [("01", None, "rest", 1), ("02", None, "rest", 1)],
                            annotate=False)
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    (broken / "sub-02" / "ses-a" / "eeg" / "sub-02_ses-a_task-rest_run-1_eeg.vhdr").write_text("garbage")
    no_description = tmp_path / "no_description"
    shutil.copytree(root, no_description)
    (no_description / "dataset_description.json").unlink()
    epochs = tmp_path / "x-epo.fif"
    epochs.write_bytes(b"")
    return {
        "unknown subject": (["--data", str(root), "--bids-subjects", "01", "09"], "subjects there: 01, 02, 03"),
        "unknown task": (["--data", str(root), "--bids-task", "sleep"], "no task 'sleep'"),
        "no session entity": (["--data", str(unlabelled), "--bids-sessions", "a"], "sessions there: none"),
        "filters match nothing": (["--data", str(root), "--bids-sessions", "b", "--bids-runs", "2"], "no recording"),
        "unreadable recording": (["--data", str(broken)], "cannot read"),
        "missing labels": (["--data", str(unlabelled)], "no events"),
        "unknown event": (["--data", str(root), "--events", "left", "up"], "no event 'up'"),
        "single class": (["--data", str(root), "--events", "left"], "single class"),
        "single subject": (["--data", str(root), "--bids-subjects", "02"], "single subject"),
        "windows longer than the recordings": (["--data", str(root), "--window-s", "30"], "window"),
        "BIDS root among other paths": (["--data", str(root), str(unlabelled)], "alone"),
        "BIDS filter without a BIDS root": (["--data", str(epochs), "--bids-subjects", "01"], "BIDS root"),
        "subject column with BIDS": (["--data", str(root), "--subject-column", "participant"], "--subject-column"),
        "no dataset_description.json": (["--data", str(no_description)], "dataset_description.json"),
    }


BAD_BIDS = ["unknown subject", "unknown task", "no session entity", "filters match nothing", "unreadable recording",
            "missing labels", "unknown event", "single class", "single subject", "windows longer than the recordings",
            "BIDS root among other paths", "BIDS filter without a BIDS root", "subject column with BIDS",
            "no dataset_description.json"]


@pytest.fixture(scope="module")
def bad_bids(tmp_path_factory, bids_root):
    return _bad_bids_cases(tmp_path_factory.mktemp("bad"), bids_root)


@pytest.mark.parametrize("case", BAD_BIDS)
def test_benchmark_bids_usage_errors_before_pretraining(case, bad_bids, capsys, monkeypatch):
    from skseqclr.transformer import SeqCLRTransformer

    options, word = bad_bids[case]
    monkeypatch.setattr(SeqCLRTransformer, "fit", lambda *a, **k: pytest.fail("pretraining started"))
    assert main(["benchmark", "--window-s", "2", *options, *FAST]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert word in err, err


@pytest.mark.parametrize("options, word", [
    (["--bids-subjects", "02", "--split", "train"], "single subject"),
    (["--bids-runs", "7"], "runs there: 1, 2"),
])
def test_pretrain_bids_usage_errors_before_pretraining(options, word, bids_root, tmp_path, capsys, monkeypatch):
    from skseqclr.transformer import SeqCLRTransformer

    monkeypatch.setattr(SeqCLRTransformer, "fit", lambda *a, **k: pytest.fail("pretraining started"))
    code = main(["pretrain", "--data", str(bids_root), *options, *FAST, "--output", str(tmp_path / "out")])
    assert code == EXIT_USAGE
    assert word in capsys.readouterr().err


# ------------------------------------------------------------ --events on an -epo.fif file

def _write_epochs(path, classes=("left", "right", "rest")):
    import mne
    import pandas as pd

    rng = np.random.default_rng(0)
    codes = np.tile(np.arange(1, len(classes) + 1), 4)
    epochs = mne.EpochsArray(1e-5 * rng.standard_normal((len(codes), len(CHANNELS), 128)),
                             mne.create_info(CHANNELS, SFREQ, "eeg"),
                             events=np.c_[np.arange(len(codes)) * 128, np.zeros(len(codes), int), codes],
                             event_id={name: i + 1 for i, name in enumerate(classes)},
                             metadata=pd.DataFrame({"subject": np.repeat([1, 2, 3], len(codes) // 3)}),
                             verbose="error")
    epochs.save(path, overwrite=True, verbose="error")
    return path


@pytest.mark.parametrize("events, classes, error", [
    (None, ["left", "rest", "right"], None),
    (["right", "left"], ["left", "right"], None),
    (["left", "up"], None, "no event 'up'"),
    (["rest"], None, "single class"),
])
def test_events_choose_the_classes_of_an_epochs_file(events, classes, error, tmp_path, capsys):
    options = ["--data", str(_write_epochs(tmp_path / "three-epo.fif")), *(["--events", *events] if events else [])]
    if error is None:
        data = _loaded(options, labelled=True)
        assert sorted(set(data.y)) == classes and len(data.y) == 4 * len(classes)
    else:
        assert main(["benchmark", *options, *FAST]) == EXIT_USAGE
        assert error in capsys.readouterr().err


# ------------------------------------------------------------ the shared recordings

@pytest.mark.shared_data
def test_pretrain_on_a_folder_of_eegmat_edf_files(tmp_path, capsys):
    folder = tmp_path / "edf"
    folder.mkdir()
    for name in ("Subject00_1.edf", "Subject00_2.edf", "Subject01_1.edf", "Subject01_2.edf"):
        (folder / name).symlink_to(shared_path("eegmat", name))
    out = tmp_path / "out"
    code = main(["pretrain", "--data", str(folder), "--picks", "eeg", "--sfreq", "64", "--split", "train", *FAST,
                 "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    config = json.loads((out / "config.json").read_text())
    (described,) = config["datasets"]
    # consecutive 4-s windows of the first 2/3 of the 4 recordings (3 of them): 45 + 15 + 45 windows
    assert "4 recording(s) (Subject00_1.edf, Subject00_2.edf, Subject01_1.edf ...)" in described["description"]
    assert 100 <= described["n_windows"] <= 110
    assert len(config["seqclr_params"]["ch_names"]) >= 19 and config["sfreq"] == 64


def _eegbci_epochs_file(path):
    """Imagined left/right fist trials of eegbci subject 1 (runs 4, 8, 12) as an -epo.fif, run in the metadata."""
    import mne
    import pandas as pd

    from skseqclr.datasets import find_eegbci

    folder = find_eegbci(shared_path("eegbci"))
    epochs = []
    for run in (4, 8, 12):
        (edf,) = mne.datasets.eegbci.load_data(1, run, path=folder, update_path=False, verbose="error")
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        raw.resample(64.0, verbose="error")
        events, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
        metadata = pd.DataFrame({"subject": 1, "run": np.full(len(events), run)})
        epochs.append(mne.Epochs(raw, events, {"left": 1, "right": 2}, tmin=0.0, tmax=2.0 - 1 / 64, baseline=None,
                                 metadata=metadata, preload=True, verbose="error"))
    epochs = mne.concatenate_epochs(epochs, verbose="error")
    epochs.save(path, overwrite=True, verbose="error")
    return path, len(epochs)


@pytest.mark.shared_data
def test_benchmark_on_an_epochs_file_of_eegbci(tmp_path, capsys, monkeypatch):
    path, n_epochs = _eegbci_epochs_file(tmp_path / "eegbci-epo.fif")
    assert n_epochs == 45
    # one subject: the benchmark refuses to split by it, and says so before pretraining
    from skseqclr.transformer import SeqCLRTransformer

    with monkeypatch.context() as patched:
        patched.setattr(SeqCLRTransformer, "fit", lambda *a, **k: pytest.fail("pretraining started"))
        assert main(["benchmark", "--data", str(path), *FAST]) == EXIT_USAGE
        assert "single subject" in capsys.readouterr().err
    # the runs as the groups: runs 4 and 8 train, run 12 tests
    out = tmp_path / "results.json"
    code = main(["benchmark", "--data", str(path), "--subject-column", "run", "--sfreq", "64", *FAST,
                 "--fractions", "1", "--methods", "seqclr", "bands", "--probe-c", "1", "--normalization", "none",
                 "--output", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_OK, printed.err
    report = json.loads(out.read_text())
    assert (report["n_train"], report["n_test"]) == (30, 15)
    assert "classes left, right, 3 subject(s) (column 'run'), train subjects 4,8, test 12" in report["data"]
    assert {r["method"] for r in report["rows"]} >= {"SeqCLR pretrained", "log-variance bands"}
