"""Options for the tests of the built documentation (docs/test_built_site.py).

``tox -e docs`` runs them after sphinx-build:
``pytest docs/test_built_site.py --built-site docs/_build/html``.
"""

from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--built-site",
        default=None,
        help="folder of the built HTML documentation to check",
    )


@pytest.fixture(scope="session")
def site(request):
    """The built site's folder; skips the test when there is none."""
    option = request.config.getoption("--built-site")
    if option is None or not (Path(option) / "index.html").is_file():
        pytest.skip("no built site: pass --built-site docs/_build/html")
    return Path(option)
