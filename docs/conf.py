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
    # MathJax shipped in _static/mathjax: formulas render without a network
    # (the build machines and many readers' are offline; no CDN script).
    "sphinx-mathjax-offline",
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
    # "# sphinx_gallery_thumbnail_number = 2" configures the gallery; readers
    # should not see it as a line of code.
    "remove_config_comments": True,
    # No sg_execution_times page: it loads jQuery and DataTables from CDNs,
    # and the site must work offline (docs/test_built_site.py checks it).
    "write_computation_times": False,
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
        "getting_started",
        "choosing",
        "user_guide",
        "outliers",
        "benchmarks",
        "faq",
        "related_projects",
        "changelog",
        "contributing",
        "citing",
        "quality",
        "scale",
        "design",
        "imputation",
        "mixed",
    ]
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    # The first five pages of the index's toctree in the top bar, the API
    # reference last among them (it was under "More"); installation, the FAQ,
    # the narrative and the project pages follow under "More". Five keep the
    # bar on one line at 1280 px.
    "header_links_before_dropdown": 5,
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
        "quality": [],
        "imputation": [],
        "mixed": [],
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


# "Read more in the User Guide", as scikit-learn's class pages have: after the
# first paragraph of each skae class's docstring, a link to its section of
# docs/user_guide.rst (labels "ug-<class name in lower case>").
USER_GUIDE_SECTIONS = {
    "AutoencoderTransformer",
    "SparseAutoencoder",
    "DenoisingAutoencoder",
    "ContractiveAutoencoder",
    "VAE",
    "IWAE",
    "OutlierDetector",
    "IWAEImputer",
}


def _link_user_guide(app, what, name, obj, options, lines):
    short = name.rsplit(".", 1)[-1]
    if what != "class" or short not in USER_GUIDE_SECTIONS:
        return
    end = lines.index("") if "" in lines else len(lines)
    lines[end:end] = [
        "",
        f"Read more in the :ref:`User Guide <ug-{short.lower()}>`.",
    ]


# Included benchmark results carry the commit they were measured at, for the
# record; the reader's pages describe the current release and drop it.
_COMMIT = re.compile(
    r",? ?\(?\bskae commit [0-9a-f]{7,40}\)?|\(commit [0-9a-f]{7,40}\)"
)


def _drop_commit_hashes(app, relative_path, parent_docname, content):
    content[0] = _COMMIT.sub("", content[0]).replace("skae 0.1.0 ,", "skae 0.1.0,")


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_inherited_refs)
    app.connect("autodoc-process-docstring", _link_user_guide)
    app.connect("include-read", _drop_commit_hashes)
