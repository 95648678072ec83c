"""Checks of the built HTML documentation, as a reader would see it.

Run by ``tox -e docs`` after the gallery-executing build; skipped without
``--built-site``. Each check guards against a failure that once shipped:
gallery pages without figures (``plot_gallery=0``, or a figure captured
before it was drawn), class pages without their methods (an autosummary
template that was never found), and numpydoc sections rendered as text with
a line of dashes (a docstring template that dropped a blank line).
"""

import html
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
# Paths of the machines that built the docs or ran a benchmark.
LOCAL_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users)/")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


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


class _Resources(HTMLParser):
    """Scripts and style sheets a page loads, its links, and all its text
    (code blocks included: a reader sees those too)."""

    def __init__(self):
        super().__init__()
        self.loaded, self.links, self.text = [], [], []
        self._in_script_or_style = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.loaded.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.loaded.append(attrs.get("href", ""))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("script", "style"):
            self._in_script_or_style += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._in_script_or_style:
            self._in_script_or_style -= 1

    def handle_data(self, data):
        if not self._in_script_or_style:
            self.text.append(data)


def resources(path):
    page = _Resources()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_pages(site):
    return [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]


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


def test_no_page_loads_an_external_script_or_style(site):
    """Math and styles work offline: MathJax ships in _static, no CDN."""
    offenders = {}
    for path in html_pages(site):
        external = [url for url in resources(path).loaded if EXTERNAL.match(url)]
        if external:
            offenders[str(path.relative_to(site))] = external
    assert not offenders
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_math_pages_load_the_shipped_mathjax(site):
    loaded = resources(site / "user_guide.html").loaded
    assert any("_static/mathjax/" in url for url in loaded), loaded


def test_no_page_shows_a_local_path(site):
    offenders = {}
    for path in html_pages(site):
        text = "".join(resources(path).text)
        found = LOCAL_PATH.findall(text)
        if found:
            where = LOCAL_PATH.search(text).start()
            offenders[str(path.relative_to(site))] = text[where - 60 : where + 60]
    assert not offenders


def test_no_page_shows_a_sphinx_gallery_config_comment(site):
    offenders = [
        str(path.relative_to(site))
        for path in html_pages(site)
        if "sphinx_gallery_" in "".join(resources(path).text)
    ]
    assert not offenders


@pytest.mark.parametrize("name", CLASSES)
def test_class_page_links_to_the_user_guide(site, name):
    page = resources(site / "generated" / f"skae.{name}.html")
    assert "Read more in the" in "".join(page.text)
    assert any(link.startswith("../user_guide.html#ug-") for link in page.links)
    anchor = next(
        link.split("#")[1]
        for link in page.links
        if link.startswith("../user_guide.html#ug-")
    )
    assert anchor in parse(site / "user_guide.html").ids


def test_getting_started_and_limitations_pages_exist(site):
    getting_started = "".join(resources(site / "getting_started.html").text)
    assert re.search(r"pip\s+install", getting_started)
    assert "Where to go next" in getting_started
    choosing = parse(site / "choosing.html")
    assert "limitations" in choosing.ids
    text = "".join(choosing.text)
    assert "Limitations" in text and "n_components" in text


def test_api_reference_is_in_the_top_bar(site):
    header = (site / "index.html").read_text(encoding="utf-8")
    header = header.split('navbar-nav"', 1)[1].split("dropdown", 1)[0]
    assert 'href="api.html"' in header


class _CodeBlocks(HTMLParser):
    """The text of each ``<pre>`` block of a page."""

    def __init__(self):
        super().__init__()
        self.blocks, self._depth = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self._depth += 1
            self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "pre" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.blocks[-1] += data


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_page_has_no_empty_code_block(site, example):
    """A cell that held only a config comment shows as an empty box."""
    page = _CodeBlocks()
    page.feed((site / "auto_examples" / f"{example}.html").read_text("utf-8"))
    assert all(block.strip() for block in page.blocks)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_output_lines_fit_the_page(site, example):
    """Output boxes do not wrap: a longer line is clipped at the right."""
    text = (site / "auto_examples" / f"{example}.html").read_text("utf-8")
    outputs = re.findall(r"sphx-glr-script-out.*?<pre>(.*?)</pre>", text, re.S)
    lines = [
        line
        for output in outputs
        for line in html.unescape(re.sub(r"<[^>]+>", "", output)).splitlines()
    ]
    assert lines, "no output shown"
    assert all(len(line) <= 90 for line in lines), max(lines, key=len)


def test_no_page_shows_a_commit_hash(site):
    """User pages describe the release; the results files keep the commits."""
    commit = re.compile(r"\bcommit [0-9a-f]{7,40}\b")
    offenders = [
        str(path.relative_to(site))
        for path in html_pages(site)
        if commit.search("".join(resources(path).text))
    ]
    assert not offenders
