"""CITATION.cff and the docs' citation page name the current version."""

import re
from pathlib import Path

import skae

ROOT = Path(__file__).parents[1]


def test_citation_file_has_the_required_keys_and_current_version():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    keys = set(re.findall(r"^([a-z-]+):", text, flags=re.MULTILINE))
    assert {"cff-version", "message", "title", "authors", "version"} <= keys
    assert re.search(r'^version: "(.*)"$', text, re.MULTILINE)[1] == skae.__version__


def test_citing_page_bibtex_has_the_current_version():
    text = (ROOT / "docs" / "citing.rst").read_text(encoding="utf-8")
    assert re.search(r"version = \{(.*)\}", text)[1] == skae.__version__
