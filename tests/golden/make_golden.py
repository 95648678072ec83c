"""Write the outputs and model files that ``tests/test_golden.py`` checks.

Run once, from the repository root, with the code whose behaviour is the
reference: ``python tests/golden/make_golden.py``. It writes
``tests/golden/outputs.npz`` and one ``<case>.skae`` model file per case.
``python tests/golden/make_golden.py --refit CASE...`` rewrites only the fit
references of those cases, in ``fit_outputs.npz`` (see :func:`refit`).
"""

import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from tests._golden_cases import cases, datasets, outputs, saveable  # noqa: E402


def fitted(name, data):
    """The case ``name`` fitted on its training rows, and its outputs."""
    data_name, model = cases()[name]
    X_train, X_eval = data[data_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train)
    return model, {f"{name}/{m}": v for m, v in outputs(model, X_eval).items()}


def refit(names):
    """Rewrite the fit references of the cases ``names`` only, in
    ``fit_outputs.npz``: for a change meant to change their fits, while
    ``outputs.npz`` stays the reference of the model files written before."""
    data, path = datasets(), HERE / "fit_outputs.npz"
    arrays = dict(np.load(path)) if path.exists() else {}
    for name in names:
        arrays.update(fitted(name, data)[1])
        print(name, "refitted")
    np.savez_compressed(path, **arrays)


def main():
    if sys.argv[1:2] == ["--refit"]:
        return refit(sys.argv[2:])
    data = datasets()
    arrays = {}
    for name in cases():
        model, values = fitted(name, data)
        arrays.update(values)
        if saveable(model):
            model.save(HERE / f"{name}.skae")
        print(name, "ok")
    np.savez_compressed(HERE / "outputs.npz", **arrays)


if __name__ == "__main__":
    main()
