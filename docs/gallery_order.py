"""The order of the examples in the gallery: from a first use to the details.

sphinx-gallery imports this class by name (``within_subsection_order``);
examples not listed follow, by file name.
"""

ORDER = [
    "plot_pca_vs_autoencoder.py",
    "plot_training_curves.py",
    "plot_denoising_digits.py",
    "plot_inpainting.py",
    "plot_mixed_tables.py",
    "plot_sparse_codes.py",
    "plot_vae_samples.py",
    "plot_model_selection_loglik.py",
    "plot_model_selection_reconstruction.py",
    "plot_outlier_detection.py",
    "plot_outlier_explanations.py",
]


class GalleryOrder:
    """Sort key: position in :data:`ORDER`, then file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return (position, filename)

    def __repr__(self):
        return f"<{type(self).__name__}>"
