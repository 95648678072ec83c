"""The docs' landing page shows the README's quick start and first example.

The README's Python blocks run in ``test_readme.py``; checking that the
landing page holds the same text makes its example tested too.
"""

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
INDEX = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")


def rst_code_blocks(text, language):
    """Bodies of ``.. code-block:: language`` directives, dedented."""
    pattern = rf"\.\. code-block:: {language}\n\n((?:(?:   .*)?\n)+)"
    return [textwrap.dedent(body).strip() for body in re.findall(pattern, text)]


def markdown_blocks(text, language):
    return [
        body.strip() for body in re.findall(rf"```{language}\n(.*?)```", text, re.S)
    ]


def test_landing_page_example_is_the_readme_example():
    assert rst_code_blocks(INDEX, "python")[0] == markdown_blocks(README, "python")[0]


def test_landing_page_quick_start_is_the_readme_quick_start():
    assert rst_code_blocks(INDEX, "bash")[0] == markdown_blocks(README, "bash")[0]
