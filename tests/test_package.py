"""The installed package: its dependencies import, its version, its typing marker, its public names."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import tomllib

from packaging.version import Version

import skseqclr
from conftest import REPO_ROOT


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_braindecode_imports():
    # braindecode imports torchaudio-dependent modules; a mismatched torch/torchaudio pair fails here.
    import braindecode
    import braindecode.augmentation
    import braindecode.preprocessing

    assert isinstance(braindecode.__version__, str)


def test_version_is_the_one_pyproject_declares():
    assert isinstance(skseqclr.__version__, str)
    Version(skseqclr.__version__)  # a valid PEP 440 version

    project = _pyproject()
    assert "version" in project["project"]["dynamic"]
    module, _, attribute = project["tool"]["setuptools"]["dynamic"]["version"]["attr"].rpartition(".")
    assert getattr(importlib.import_module(module), attribute) == skseqclr.__version__
    # ...and what pip installed from it (a stale install shows up here).
    assert Version(importlib.metadata.version("skseqclr")) == Version(skseqclr.__version__)


def test_py_typed_ships_in_the_package():
    assert importlib.resources.files("skseqclr").joinpath("py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["skseqclr"]


def test_public_names_import():
    assert "plot_augmentations" in skseqclr.__all__ and "SeqCLRTransformer" in skseqclr.__all__
    namespace: dict = {}
    exec("from skseqclr import *", namespace)  # noqa: S102
    for name in skseqclr.__all__:
        assert name in namespace, name
        assert namespace[name] is getattr(skseqclr, name)
    assert len(set(skseqclr.__all__)) == len(skseqclr.__all__)
