"""Sphinx configuration for skae's documentation."""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gallery_order

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
    "matplotlib.sphinxext.plot_directive",
]

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # SKAE_GALLERY_PATTERN=plot_vae runs only the matching examples, for a
    # quick look at one of them (the others keep their last output).
    "filename_pattern": "/" + os.environ.get("SKAE_GALLERY_PATTERN", "plot_"),
    "within_subsection_order": "gallery_order.GalleryOrder",
    # "Examples using X" on each API page: sphinx-gallery writes, per object
    # of doc_module, the examples that use it into backreferences_dir.
    "doc_module": ("skae",),
    "backreferences_dir": "generated/backreferences",
    # (code links to skae's API need no "reference_url", which is deprecated:
    # sphinx-gallery resolves them from the docs being built, and other
    # packages' names from intersphinx_mapping)
}

# Benchmark charts (docs/_plots): the figure only, no source or format links.
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

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
html_title = f"skae {release}"
# Pages without subpages get no (empty) left sidebar: the width goes to the
# text. The API pages and the gallery keep theirs, which lists their siblings.
html_sidebars = {
    page: []
    for page in [
        "index",
        "install",
        "user_guide",
        "outliers",
        "benchmarks",
        "faq",
        "related_projects",
        "changelog",
        "contributing",
        "citing",
    ]
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    # the page TOC shows each class's methods (and the user guide's subsections)
    "show_toc_level": 2,
    # Example pages keep the full width for their code and figures (their
    # sections are listed in the left sidebar anyway), the benchmark pages for
    # their wide result tables.
    # (pages not matched by any pattern get no secondary sidebar).
    "secondary_sidebar_items": {
        "[!a]**": ["page-toc", "sourcelink"],
        "api": ["page-toc", "sourcelink"],
        "auto_examples/*": [],
        # wide result tables
        "outliers": [],
        "benchmarks": [],
    },
}
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

# The page TOC of a class lists "fit()", not "OutlierDetector.fit()": the long
# names overflow the right sidebar.
toc_object_entries_show_parents = "hide"

# Keep straight quotes: default="gaussian" must stay copy-pasteable.
smartquotes = False

# Offline, the :ref: labels in the docstrings that skae's classes inherit from
# scikit-learn (set_output, get_metadata_routing) point nowhere; name them as
# text instead, so that -W keeps catching broken references of our own.
_SKLEARN_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")


def _sklearn_ref_as_text(match):
    title, label, bare = match.groups()
    if title:
        return f"{title} (in scikit-learn's documentation)"
    example = bare.rsplit("_plot_", 1)[-1]
    return f"scikit-learn's example ``plot_{example}``"


def _unlink_inherited_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", "") or ""
    if intersphinx_mapping or module.startswith("skae"):
        return
    lines[:] = [_SKLEARN_REF.sub(_sklearn_ref_as_text, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_inherited_refs)
