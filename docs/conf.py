"""Sphinx configuration of the skseqclr documentation.

Build (as ``.ci/run`` does)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The build needs no network: no intersphinx inventories are fetched. The
gallery (``examples/plot_*.py``) runs on the CPU; ``SKSEQCLR_DOCS_QUICK=1``
shrinks its settings further, and ``-D plot_gallery=0`` skips running it.
"""

from __future__ import annotations

import os
import sys
import warnings
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's package, also without `pip install -e`
sys.path.insert(0, str(HERE))  # render_results.py: the Results page's tables, from docs/results/*.json

import skseqclr  # noqa: E402

# braindecode and MNE emit FutureWarnings when imported; they are not ours.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

# -- Project ------------------------------------------------------------------
project = "skseqclr"
author = "skseqclr developers"
copyright = f"{date.today().year}, {author}"
version = release = skseqclr.__version__

# -- Command-line help, generated so that the docs follow the parser --------------


def _write_cli_help() -> None:
    """Write ``skseqclr [COMMAND] --help`` to ``generated/cli_*.txt`` for the CLI page."""
    import argparse

    os.environ["COLUMNS"] = "88"  # argparse wraps help text to the terminal width
    from skseqclr.cli import build_parser

    parser = build_parser()
    texts = {"main": parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            texts.update({name: sub.format_help() for name, sub in action.choices.items()})
    folder = HERE / "generated"
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        path = folder / f"cli_{name}.txt"
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)


_write_cli_help()

# -- General ------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "render_results",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "py:obj"
pygments_style = "sphinx"
# No network at build time: no inventories to fetch.
intersphinx_mapping: dict = {}

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters sections state the types
autodoc_member_order = "bysource"
autodoc_default_options: dict = {}

numpydoc_show_class_members = False  # methods are listed by the autosummary class template
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# -- sphinx-gallery -------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|_helpers\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"skseqclr": None},
    "backreferences_dir": None,
    "show_memory": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 1,
    # One failing example fails the build (sphinx-gallery reports it at the end).
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skseqclr {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # No icon links, no version switcher: nothing that needs the network.
}
html_sidebars = {"index": [], "installation": [], "quickstart": [], "paper": []}
html_show_sourcelink = False
