"""Checks of the built HTML documentation, as a reader would see it.

Run by ``tox -e docs`` after the gallery-executing build; skipped without
``--built-site``. Each check guards against a failure that once shipped:
gallery pages without figures (``plot_gallery=0``, or a figure captured
before it was drawn), class pages without their methods (an autosummary
template that was never found), and numpydoc sections rendered as text with
a line of dashes (a docstring template that dropped a blank line).
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sphinx_gallery

import skae

DOCS = Path(__file__).parent
EXAMPLES = sorted(p.stem for p in (DOCS.parent / "examples").glob("plot_*.py"))
CLASSES = [name for name in skae.__all__ if isinstance(getattr(skae, name), type)]
PLACEHOLDER = Path(sphinx_gallery.__file__).parent / "_static" / "no_image.png"
DASH_LINE = re.compile(r"^\s*[-\u2013\u2014]{4,}\s*$", re.MULTILINE)


class _Page(HTMLParser):
    """The text of a page outside code blocks, and its images."""

    SKIPPED = {"pre", "script", "style", "code"}

    def __init__(self):
        super().__init__()
        self.images, self.ids, self.text = [], set(), []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag in self.SKIPPED:
            self._skip_depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data):
        if not self._skip_depth:
            self.text.append(data)


def parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_example_has_a_page(site):
    pages = {p.stem for p in (site / "auto_examples").glob("plot_*.html")}
    assert pages == set(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_page_shows_its_generated_figures(site, example):
    page_path = site / "auto_examples" / f"{example}.html"
    figures = [
        image
        for image in parse(page_path).images
        if re.search(rf"sphx_glr_{example}_\d{{3}}\.png$", image.get("src", ""))
    ]
    assert figures, f"{example}: no generated figure on the page"
    for image in figures:
        assert (page_path.parent / image["src"]).is_file(), image["src"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_gallery_thumbnail_is_not_the_placeholder(site, example):
    thumbnail = site / "_images" / f"sphx_glr_{example}_thumb.png"
    assert thumbnail.is_file()
    assert thumbnail.read_bytes() != PLACEHOLDER.read_bytes()


@pytest.mark.parametrize("name", CLASSES)
def test_class_page_lists_its_methods_and_examples(site, name):
    page = parse(site / "generated" / f"skae.{name}.html")
    assert f"skae.{name}.fit" in page.ids, "no fit method documented"
    methods = {i for i in page.ids if i.startswith(f"skae.{name}.")}
    assert len(methods) >= 4, sorted(methods)
    assert "Examples using" in "".join(page.text)


def test_no_page_renders_a_line_of_dashes_as_text(site):
    offenders = {}
    for path in sorted(site.rglob("*.html")):
        lines = DASH_LINE.findall("".join(parse(path).text))
        if lines:
            offenders[str(path.relative_to(site))] = lines[:3]
    assert not offenders
