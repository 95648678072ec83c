"""Every ``examples/plot_*.py`` runs to the end, offline, without a display."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script, tmp_path):
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(script.parents[1]),
        "OMP_NUM_THREADS": "1",  # pytest-xdist already runs two workers
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
