"""Sphinx configuration for skae's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import skae  # noqa: E402

project = "skae"
author = "skae developers"
copyright = "2026, skae developers"
release = version = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "reference_url": {"skae": None},
}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
}
# The build machines are offline: no inventories are fetched there.
if os.environ.get("SKAE_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

html_theme = "pydata_sphinx_theme"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
