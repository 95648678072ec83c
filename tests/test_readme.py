"""The Python snippets of README.md run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README.md has no python example"
    namespace = {}
    for block in blocks:  # later blocks reuse names from earlier ones
        exec(compile(block, str(README), "exec"), namespace)
