"""Every public docstring parses into intact numpydoc sections.

numpydoc only recognizes a section header that follows a blank line; a
docstring template that drops it silently merges the next section (Attributes,
See Also) into the previous one, and the API pages render it as one more
parameter followed by a literal line of dashes. These tests parse each public
class of ``skae.__all__`` and each of its public methods, inherited ones
included, as numpydoc does.
"""

import inspect
import re
import warnings

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import validate

import skae

SECTION_TITLES = set(NumpyDocString.sections) - {"Signature", "Summary"}
ENTRY_SECTIONS = [
    "Parameters",
    "Other Parameters",
    "Attributes",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
]
UNDERLINE = re.compile(r"^\s*[-=~^]{3,}\s*$")
# numpydoc.validate codes that a broken section structure trips: unknown or
# misordered sections, parameters missing from or unknown to the signature,
# misordered parameters, and entries without a type.
STRUCTURE_CODES = {"GL06", "GL07", "PR01", "PR02", "PR03", "PR04", "PR10", "RT03"}

CLASSES = [
    getattr(skae, name) for name in skae.__all__ if inspect.isclass(getattr(skae, name))
]
FUNCTIONS = [
    getattr(skae, name)
    for name in skae.__all__
    if inspect.isfunction(getattr(skae, name))
]


def public_methods(cls):
    """Public methods of ``cls``, inherited ones included (no properties)."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        if inspect.isfunction(inspect.getattr_static(cls, name)):
            yield name, getattr(cls, name)


CASES = (
    [pytest.param(cls, cls, id=cls.__name__) for cls in CLASSES]
    + [
        pytest.param(cls, method, id=f"{cls.__name__}.{name}")
        for cls in CLASSES
        for name, method in public_methods(cls)
    ]
    + [pytest.param(function, function, id=function.__name__) for function in FUNCTIONS]
)


def headers_in(docstring):
    """Section titles underlined with dashes in the raw docstring."""
    lines = inspect.cleandoc(docstring).splitlines()
    return [
        title.strip()
        for title, underline in zip(lines, lines[1:])
        if title.strip()
        and set(underline.strip()) == {"-"}
        and len(underline.strip()) == len(title.strip())
    ]


def parse(obj):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unknown sections warn
        return NumpyDocString(inspect.getdoc(obj))


def test_every_public_class_is_covered():
    names = {obj.__name__ for obj in CLASSES + FUNCTIONS}
    assert names == {name for name in skae.__all__ if name != "__version__"}
    assert [function.__name__ for function in FUNCTIONS] == ["load"]


@pytest.mark.parametrize(("cls", "obj"), CASES)
def test_every_underlined_header_is_a_parsed_section(cls, obj):
    doc = parse(obj)
    for title in headers_in(inspect.getdoc(obj)):
        assert title in SECTION_TITLES, f"unknown section {title!r}"
        assert doc[title], f"section {title!r} parsed empty: merged into another"


@pytest.mark.parametrize(("cls", "obj"), CASES)
def test_no_section_swallowed_into_entries(cls, obj):
    doc = parse(obj)
    for section in ENTRY_SECTIONS:
        for entry in doc[section]:
            assert entry.name.strip() not in SECTION_TITLES, (section, entry.name)
            assert not UNDERLINE.match(entry.name), (section, entry.name)
            assert not any(UNDERLINE.match(line) for line in entry.desc), (
                section,
                entry.name,
            )
    for section in ["Summary", "Extended Summary", "Notes", "References"]:
        assert not any(UNDERLINE.match(line) for line in doc[section]), section


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_class_parameters_match_init_signature(cls):
    documented = [entry.name for entry in parse(cls)["Parameters"]]
    assert documented == list(inspect.signature(cls).parameters)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_class_documents_attributes_and_see_also(cls):
    doc = parse(cls)
    attributes = [entry.name for entry in doc["Attributes"]]
    assert attributes, "no Attributes section"
    assert all(name.endswith("_") for name in attributes), attributes
    assert doc["See Also"], "no See Also section"


@pytest.mark.parametrize(
    ("cls", "obj"),
    [case for case in CASES if case.values[1].__module__.startswith("skae")],
)
def test_skae_docstrings_pass_numpydoc_structure_checks(cls, obj):
    if obj is cls:  # a class, or a function such as skae.load
        path = f"skae.{obj.__name__}"
    else:
        path = f"skae.{cls.__name__}.{obj.__name__}"
    errors = [
        (code, message)
        for code, message in validate(path)["errors"]
        if code in STRUCTURE_CODES
    ]
    assert not errors
