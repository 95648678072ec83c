"""The ``python -m skae`` demo."""

import pytest

from skae.__main__ import main


@pytest.mark.slow
def test_demo_prints_the_comparison_table(capsys):
    main(["--n-components", "2"])
    out = capsys.readouterr().out
    for name in ("PCA", "AutoencoderTransformer", "VAE", "IWAE", "log-likelihood"):
        assert name in out
