"""Demo: ``python -m skae`` compares PCA with skae's autoencoders on digits.

It fits each model on 75% of ``load_digits`` (pixels 0..16, fed raw) and
prints, on the held-out 25%: the reconstruction error in pixel units and its
ratio to PCA's at the same ``n_components``; for the probabilistic models
(PCA, VAE, IWAE) the mean log-likelihood of an image, ``score``; and the fit
time.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import skae


def _models(n_components, random_state):
    """The models compared, by display name."""
    return {
        "PCA": PCA(n_components=n_components),
        "AutoencoderTransformer": skae.AutoencoderTransformer(
            n_components=n_components, random_state=random_state
        ),
        "VAE": skae.VAE(n_components=n_components, random_state=random_state),
        "IWAE": skae.IWAE(n_components=n_components, random_state=random_state),
    }


# Models whose score is a log-likelihood of X (comparable across models).
_PROBABILISTIC = ("PCA", "VAE", "IWAE")


def compare(n_components_list=(2, 8), random_state=0):
    """Fit PCA and the autoencoders on digits; return the results table.

    Parameters
    ----------
    n_components_list : sequence of int, default=(2, 8)
        Latent sizes to compare.
    random_state : int, default=0
        Seed of the split and of the autoencoders.

    Returns
    -------
    table : pandas.DataFrame
        One row per model and latent size.
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(
        X, test_size=0.25, random_state=random_state, stratify=y
    )
    rows = []
    for n_components in n_components_list:
        pca_error = None
        for name, model in _models(n_components, random_state).items():
            start = time.perf_counter()
            model.fit(X_train)
            fit_seconds = time.perf_counter() - start
            reconstruction = model.inverse_transform(model.transform(X_test))
            error = float(np.mean((reconstruction - X_test) ** 2))
            pca_error = pca_error or error
            log_likelihood = model.score(X_test) if name in _PROBABILISTIC else None
            rows.append(
                {
                    "n_components": n_components,
                    "model": name,
                    "held-out MSE": error,
                    "vs PCA": error / pca_error,
                    "log-likelihood": log_likelihood,
                    "fit [s]": fit_seconds,
                }
            )
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skae", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--n-components", type=int, nargs="+", default=[2, 8], metavar="N"
    )
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"skae {skae.__version__}: PCA vs autoencoders on load_digits")
    print("(1347 training / 450 held-out images, 64 raw pixels in 0..16)\n")
    table = compare(args.n_components, args.random_state)
    print(table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}"))
    print(
        "\nLower held-out MSE is better; 'vs PCA' < 1 means the model beats PCA."
        "\nlog-likelihood: mean log p(x) of a held-out image in nats (higher is"
        "\nbetter), exact for PCA, importance-sampled for VAE and IWAE."
    )


if __name__ == "__main__":
    main()
