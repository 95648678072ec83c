"""The torch module of the variational autoencoders, and its training bounds.

The module computes, for ``k`` latent samples per row, the two parts of each
importance log-weight

    log w = log p(x | z) + [log p(z) - log q(z | x)],    z ~ q(z | x),

with a Gaussian encoder ``q(z | x) = N(mu(x), diag(exp(logvar(x))))``, a
standard normal prior and a Gaussian or Bernoulli decoder. Its training loss
is minus a bound on log p(x): the ELBO, the mean of the log-weights over the
``k`` samples (the VAE), or the importance-weighted bound, their
log-mean-exp (the IWAE of Burda, Grosse and Salakhutdinov, 2016). With
``k = 1`` both are the same number.
"""

import math

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from .._base.inference import inference_chunk_rows
from .._base.missing import masked_terms, observed_mask, zero_filled
from .._base.module import AutoencoderModule
from .linear_gaussian import factor_analysis, flip_signs, probabilistic_pca
from .variational_fill import VariationalFill

LIKELIHOODS = ("gaussian", "bernoulli")
NOISE_VARIANCES = ("per_feature", "shared")

# Bounds of the encoder's log-variance: exp(-12) ~ 6e-6 and exp(8) ~ 3e3.
# Outside them the reparameterized samples are numerically meaningless, and an
# unbounded log-variance is the classic source of NaN in VAE training.
LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0

_LOG_2PI = math.log(2.0 * math.pi)

# The decoder variance is min_variance + softplus(VARIANCE_GAIN * raw). Adam
# moves each parameter by about lr per step whatever its gradient, so without
# a gain the log-variance of a feature would need thousands of steps to go from
# its start (1, a standardized feature) to a small noise level, far more than
# the mean network needs; the gain lets the variances keep up with the means.
VARIANCE_GAIN = 10.0

# A latent dimension is active when the variance, over the data, of its
# posterior mean exceeds this (Burda, Grosse and Salakhutdinov, 2016).
ACTIVE_UNIT_THRESHOLD = 1e-2

# Importance samples times rows times features per pass of score_samples:
# bounds the memory of the decoder's activations whatever k_eval.
SCORE_CHUNK_VALUES = 2**24


class VAEModule(VariationalFill, AutoencoderModule):
    """Gaussian encoder, standard normal prior, Gaussian or Bernoulli decoder.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_features)`` to ``(batch, 2 * n_components)``: the
        posterior means followed by the posterior log-variances.
    decoder : torch.nn.Module
        Maps ``(batch, n_components)`` to ``(batch, n_features)``: the mean of
        p(x|z) for ``"gaussian"``, its logits for ``"bernoulli"``.
    n_components : int
        Size of the latent space.
    likelihood : {"gaussian", "bernoulli", "mixed"}
        The decoder distribution p(x|z); ``"mixed"``: one per input column,
        as ``columns`` says.
    bound : {"elbo", "iwae"}
        The training bound.
    k : int
        Latent samples per row in the training bound.
    beta : float
        Weight of ``log p(z) - log q(z|x)`` in each log-weight (``beta=1``
        is the bound itself).
    variance_floor : tensor of shape (n_features,), default=None
        Floor of the per-feature variance of the Gaussian decoder.
    noise_variance : {"per_feature", "shared"}, default="per_feature"
        Whether the Gaussian decoder learns one variance per feature (as
        factor analysis) or one for all (as probabilistic PCA), each above
        its feature's floor.
    eval_seed : int, default=0
        Seed of the fixed noise used to estimate log p(x) at inference.
    columns : ColumnTerms, default=None
        The columns' distributions, for ``likelihood="mixed"`` (see
        :mod:`~skae._base.column_terms`); the variance covers every model
        column, and its Gaussian ones use it.
    """

    score_is_log_density = True

    def __init__(
        self,
        encoder,
        decoder,
        *,
        n_components,
        likelihood,
        bound,
        k,
        beta,
        variance_floor=None,
        noise_variance="per_feature",
        eval_seed=0,
        columns=None,
    ):
        super().__init__(encoder, decoder)
        self.columns = columns
        self.n_components = n_components
        self.likelihood = likelihood
        self.bound = bound
        self.k = k
        self.beta = beta
        # The share of the KL term in training, raised from 0 to 1 by the
        # estimator's warm-up; 1 outside training.
        self.kl_weight = 1.0
        self.eval_seed = eval_seed
        self.noise_variance = noise_variance
        if likelihood in ("gaussian", "mixed"):
            self.register_buffer(
                "variance_floor", torch.as_tensor(variance_floor, dtype=torch.float32)
            )
            shape = (1,) if noise_variance == "shared" else self.variance_floor.shape
            self.raw_variance = nn.Parameter(torch.empty(shape))
            self.reset_parameters()

    def reset_parameters(self):
        """Start the decoder variance at 1 (that of a standardized feature)."""
        if self.likelihood in ("gaussian", "mixed"):
            self.set_variance(torch.maximum(self.variance_floor + 1e-2, torch.ones(1)))

    def start_from_linear_model(self, X, random_state):
        """Start as the linear-Gaussian model of the scaled training data ``X``.

        Factor analysis, ``x = W z + mean + noise`` with per-feature noise
        variances (``noise_variance="per_feature"``), or probabilistic PCA,
        with one noise variance (``"shared"``), is the VAE whose decoder is
        linear, and its posterior is Gaussian: with the default networks (a
        linear bypass beside each MLP, whose output starts at zero) the VAE
        can start exactly there. The factors are rotated so that the
        posterior covariance ``(I + W Psi^-1 W^T)^-1`` is diagonal, as the
        encoder's is; the bound is then tight, and the model's
        log-likelihood at the start is that of the linear model with its
        noise variances raised to the floor. Latent dimensions beyond the
        data's rank start as the prior. Mixed-type columns keep the random
        start of the networks. Bernoulli data have no
        linear-Gaussian counterpart: the networks keep their random start,
        with the decoder's bias at the logits of each feature's mean, the
        model of independent features.
        """
        if not self.has_bypass() or len(X) < 2:
            return
        if self.columns is not None:
            # Mixed columns have no linear-Gaussian counterpart, and the
            # first-order one (ColumnTerms.linearized) started worse than the
            # random networks: held-out log-likelihood -17.84 against -17.67
            # nats on penguins, equal on a generated table (3 seeds each).
            return
        if self.likelihood == "bernoulli":
            rate = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
            with torch.no_grad():
                self.decoder.linear.bias.copy_(
                    torch.as_tensor(np.log(rate / (1 - rate)))
                )
            return
        n_factors = min(self.n_components, *X.shape)
        if self.noise_variance == "shared":
            mean, loadings, noise = probabilistic_pca(X, n_factors, random_state)
        else:
            mean, loadings, noise = factor_analysis(X, n_factors, random_state)
        noise = np.maximum(noise, self.variance_floor.cpu().double().numpy())
        eigenvalues, rotation = np.linalg.eigh((loadings / noise) @ loadings.T)
        loadings = flip_signs(rotation.T @ loadings)
        posterior_variance = 1.0 / (1.0 + np.maximum(eigenvalues, 0.0))
        projection = posterior_variance[:, None] * (loadings / noise)

        k = self.n_components
        weight = np.zeros((2 * k, X.shape[1]))
        bias = np.zeros(2 * k)
        weight[:n_factors] = projection
        bias[:n_factors] = -projection @ mean
        bias[k : k + n_factors] = np.log(posterior_variance)
        decoder_weight = np.zeros((X.shape[1], k))
        decoder_weight[:, :n_factors] = loadings.T
        self.encoder.set_linear(weight, bias)
        self.set_decoder_start(decoder_weight, mean)
        self.set_variance(noise)

    def set_variance(self, variance):
        """Set the decoder's variance (kept above the floor).

        With ``noise_variance="shared"``, the mean excess of ``variance``
        over the floor is shared by every feature.
        """
        # In float64 on the CPU (any device's parameters accept the copy).
        floor = self.variance_floor.cpu().double()
        variance = torch.as_tensor(variance, dtype=torch.float64).cpu()
        excess = (variance - floor).clamp(min=1e-6)
        if self.noise_variance == "shared":
            excess = excess.mean().reshape(1)
        raw = excess + torch.log(-torch.expm1(-excess))  # softplus^-1
        with torch.no_grad():
            self.raw_variance.copy_(raw / VARIANCE_GAIN)

    # ------------------------------------------------------------------
    # The distributions

    def posterior(self, x):
        """Return the mean and the (clamped) log-variance of q(z|x)."""
        h = self.encoder(self.encoder_input(x))
        if h.shape[-1] != 2 * self.n_components:
            raise ValueError(
                "The encoder of a variational autoencoder must output "
                f"2 * n_components = {2 * self.n_components} numbers per row "
                "(posterior means, then log-variances), got "
                f"{h.shape[-1]}."
            )
        mu, logvar = h.split(self.n_components, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def variance(self):
        """Per-feature variance of the Gaussian decoder (floored), ``(n_features,)``."""
        return self.variance_floor + F.softplus(VARIANCE_GAIN * self.raw_variance)

    def _decoder_output(self, z):
        # Custom decoders need not accept extra leading dimensions: flatten
        # (k, batch, n_components) to (k * batch, n_components) and back.
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, out.shape[-1])

    def log_likelihood(self, x, z):
        """log p(x_obs|z), summed over the observed features; ``z`` is
        ``(..., batch, n_components)``."""
        return self.log_likelihood_per_feature(x, z).sum(-1)

    def log_likelihood_per_feature(self, x, z):
        """log p(x_j|z) of each feature: ``(..., batch, n_features)``.

        The decoder makes the features independent given ``z``, so they sum
        to log p(x|z); a missing feature is marginalized out, which leaves
        the log-likelihood of the observed ones (MIWAE, Mattei and Frellsen,
        2019): its term is 0. The terms are computed on the zero-filled row,
        so that no NaN reaches the gradient.
        """
        return self._log_terms(x, self._decoder_output(z), observed_mask(x))

    def _log_terms(self, x, out, observed):
        """log p(x_j | z) of each feature from the decoder's output ``out``;
        0 for missing features."""
        if self.columns is not None:
            return self.columns.log_prob(out, x, self.variance())
        x = zero_filled(x, observed)
        if self.likelihood == "bernoulli":
            # Numerically stable for any logits; a proper log-probability for
            # binary x (for x in (0, 1) it is minus the cross-entropy).
            terms = -F.binary_cross_entropy_with_logits(
                out, x.expand_as(out), reduction="none"
            )
        else:
            variance = self.variance()
            terms = -0.5 * ((x - out).pow(2) / variance + variance.log() + _LOG_2PI)
        return masked_terms(terms, observed)

    def log_weight_terms(self, x, eps):
        """The two parts of the log importance weights for the noise ``eps``.

        Parameters
        ----------
        x : tensor of shape (batch, n_features)
        eps : tensor of shape (k, batch, n_components) or (k, n_components)
            Standard normal noise; a 2-D ``eps`` is shared by all rows.

        Returns
        -------
        log_px_z : tensor of shape (k, batch)
            log p(x | z_i).
        log_pz_qz : tensor of shape (k, batch)
            log p(z_i) - log q(z_i | x).
        """
        z, log_pz_qz = self._latent_samples(x, eps)
        return self.log_likelihood(x, z), log_pz_qz

    def _latent_samples(self, x, eps, posterior=None):
        """Draws ``z_i`` from q(z|x) for the noise ``eps``, and their log p/q.

        Returns ``z`` of shape ``(k, batch, n_components)`` and
        ``log p(z_i) - log q(z_i|x)`` of shape ``(k, batch)``. ``posterior``:
        ``(mu, logvar)`` of :meth:`posterior`, when already computed.
        """
        mu, logvar = self.posterior(x) if posterior is None else posterior
        if eps.dim() == 2:
            eps = eps[:, None, :]
        z = mu + (0.5 * logvar).exp() * eps
        return z, self._log_prior_ratio(z, eps, logvar)

    @staticmethod
    def _log_prior_ratio(z, eps, logvar):
        # log N(z; 0, I) - log N(z; mu, diag(exp(logvar))), with
        # (z - mu) / std = eps; the log(2 pi) terms cancel.
        return 0.5 * (eps.pow(2) - z.pow(2) + logvar).sum(-1)

    def log_weights(self, x, eps):
        """``log p(x|z_i) + log p(z_i) - log q(z_i|x)``, shape (k, batch)."""
        log_px_z, log_pz_qz = self.log_weight_terms(x, eps)
        return log_px_z + log_pz_qz

    # ------------------------------------------------------------------
    # The module protocol of skae

    def encode(self, x):
        """The posterior mean: a deterministic code."""
        return self.posterior(x)[0]

    def decode(self, z):
        """The mean of p(x|z) (probabilities for ``"bernoulli"``)."""
        return self.mean_of_output(self.decoder(z))

    def mean_of_output(self, out):
        """The mean of p(x|z) from the decoder's output ``out``."""
        if self.columns is not None:
            return self.columns.mean(out)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def kl_divergence(self, mu, logvar):
        """KL(q(z|x) || N(0, I)) per row, in closed form."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)

    def forward(self, x):
        """Minus the training bound of each row, in nats.

        The ELBO uses the closed-form KL term, which has no sampling noise.
        The importance-weighted bound needs ``log p(z) - log q(z|x)`` at each
        sample; its encoder gradient is the doubly reparameterized one
        (DReG, Tucker et al., 2019), whose signal does not fade as ``k``
        grows as that of the plain bound does, and its value and decoder
        gradient are those of the bound. Both weight the KL part by
        ``beta * kl_weight``, where ``kl_weight`` rises from 0 to 1 during
        the warm-up epochs.
        """
        mu, logvar = self.posterior(x)
        eps = self.standard_normal((self.k, x.shape[0], self.n_components), like=x)
        z = mu + (0.5 * logvar).exp() * eps
        log_px_z = self.log_likelihood(x, z)
        if self.bound == "elbo":
            kl = self.kl_divergence(mu, logvar)
            return self._warmed_up(lambda beta: beta * kl - log_px_z.mean(0))
        # log q at stopped parameters: the encoder is reached through z only.
        log_q = -0.5 * (
            (z - mu.detach()).pow(2) / logvar.detach().exp() + logvar.detach()
        ).sum(-1)
        log_pz_qz = -0.5 * z.pow(2).sum(-1) - log_q  # the log(2 pi) cancel
        if z.requires_grad:
            beta = self.beta * self.kl_weight
            weights = torch.softmax((log_px_z + beta * log_pz_qz).detach(), dim=0)
            # The plain gradient reaching z_i carries w_i; DReG's carries w_i^2.
            z.register_hook(lambda grad: grad * weights[..., None])
        return self._warmed_up(
            lambda beta: (
                math.log(self.k) - torch.logsumexp(log_px_z + beta * log_pz_qz, dim=0)
            )
        )

    def _warmed_up(self, negative_bound):
        """``negative_bound(beta)``, with the gradient of the warm-up's weight.

        During the warm-up (``kl_weight < 1``) the gradient is that of the
        bound with the KL term down-weighted, while the value is that of the
        bound itself, so that the recorded loss is always minus the bound.
        """
        loss = negative_bound(self.beta)
        if self.kl_weight == 1.0 or not torch.is_grad_enabled():
            return loss
        warm = negative_bound(self.beta * self.kl_weight)
        return warm + (loss - warm).detach()

    def eval_noise(self, k, device):
        """The fixed ``(k, n_components)`` noise used to estimate log p(x).

        It is regenerated from :attr:`eval_seed` on each call, so estimates
        are reproducible, the same for a row alone or in a batch (every row
        uses the same noise), and ``k`` can change after fit.
        """
        generator = torch.Generator().manual_seed(self.eval_seed)
        return torch.randn(k, self.n_components, generator=generator).to(device)

    def score_samples(self, x, k=100, posterior=None):
        """Importance-sampled estimate of log p(x) per row, in float64.

        ``log (1/k) sum_i p(x, z_i) / q(z_i | x)`` over ``k`` draws from
        q(z|x), computed over chunks of draws so that memory stays bounded
        whatever ``k``. For a row with missing values, the estimate of
        log p(x_obs); 0 for a row without an observed value. ``posterior``:
        ``(mu, logvar)`` of :meth:`posterior`, when already computed.
        """
        # One encoder pass for every chunk of draws (an encoder without the
        # mask fills an incomplete row by passes of its own).
        posterior = self.posterior(x) if posterior is None else posterior
        log_sums = []
        for part in self._eval_noise_chunks(x, k):
            z, log_pz_qz = self._latent_samples(x, part, posterior)
            log_w = self.log_likelihood(x, z) + log_pz_qz
            log_sums.append(torch.logsumexp(log_w.double(), dim=0))
        scores = torch.logsumexp(torch.stack(log_sums), dim=0) - math.log(k)
        observed = observed_mask(x)
        if observed is None:
            return scores
        # A row without an observed value has log p = log 1, exactly.
        return torch.where(observed.any(dim=1), scores, 0.0)

    def _eval_noise_chunks(self, x, k):
        """:meth:`eval_noise` in chunks of draws that bound the decoder's memory.

        Batches of up to a full inference chunk of rows are split alike,
        whatever their rows: the split changes the float64 rounding of the
        score, which would then depend on the rows beside a row.
        """
        rows = max(x.shape[0], inference_chunk_rows(x.shape[1]))
        chunk = max(1, SCORE_CHUNK_VALUES // (rows * x.shape[1]))
        return self.eval_noise(k, x.device).split(chunk)

    def score_samples_per_feature(self, x, k=100):
        """Each feature's share of :meth:`score_samples`, in float64.

        With the log-weights ``log w_i = log p(x|z_i) + log p(z_i) -
        log q(z_i|x)`` of the ``k`` draws of :meth:`score_samples` and their
        normalized weights ``w~ = softmax(log w)``, the estimate splits
        exactly into

            logsumexp(log w) - log k
                = sum_j sum_i w~_i log p(x_j|z_i)
                  + [sum_i w~_i (log p(z_i) - log q(z_i|x)) + H(w~) - log k],

        where ``H`` is the entropy of the weights (``log w~_i = log w_i -
        logsumexp(log w)``; the decoder makes the features independent given
        ``z``). Feature ``j`` gets its weighted log-likelihood
        ``sum_i w~_i log p(x_j|z_i)`` plus an equal share of the bracket,
        the latent part. That part is one number for the whole row: dividing
        it evenly over the features changes no feature's standing against
        the others in the row, and the terms then sum exactly to the score.

        The weights need every draw: the score (their log-normalizer) is
        computed first, as by :meth:`score_samples`, and the weighted
        log-likelihoods are then accumulated over the same chunks of draws,
        so memory stays bounded whatever ``k``; the bracket is what remains
        of the score. A draw of weight 0 (log-weight ``-inf``) adds nothing,
        even where its log-likelihood is ``-inf``.
        """
        posterior = self.posterior(x)
        log_normalizer = self.score_samples(x, k, posterior) + math.log(k)
        shape = (x.shape[0], self.n_inputs(x))
        weighted = torch.zeros(shape, dtype=torch.float64, device=x.device)
        for part in self._eval_noise_chunks(x, k):
            z, log_pz_qz = self._latent_samples(x, part, posterior)
            per_feature = self.log_likelihood_per_feature(x, z)
            # The log-weights exactly as score_samples computes them.
            log_w = (per_feature.sum(-1) + log_pz_qz).double()
            weights = (log_w - log_normalizer).exp()[..., None]
            terms = torch.where(weights > 0, weights * per_feature.double(), 0.0)
            weighted += terms.sum(0)
        latent = log_normalizer - math.log(k) - weighted.sum(-1)
        observed = self.observed_inputs(x)
        if observed is None:
            return weighted + (latent / shape[1])[:, None]
        # The latent part is shared by the observed features only.
        count = observed.sum(dim=1, keepdim=True).clamp(min=1)
        return masked_terms(weighted + latent[:, None] / count, observed, math.nan)


class KLWarmup(Callback):
    """Raise the module's ``kl_weight`` linearly from 0 to 1 over the first epochs.

    KL annealing (Bowman et al., 2016; Sonderby et al., 2016): with little
    weight on the KL term at first, the decoder learns to use the latent
    code before the prior pulls the posterior towards it, which keeps the
    model from settling on a posterior that ignores the data (posterior
    collapse). After the warm-up the objective is the bound itself.

    Parameters
    ----------
    epochs : int
        Epochs of the warm-up; 0 trains on the bound from the start.
    """

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        done = len(net.history) - 1  # epochs finished before this one
        net.module_.kl_weight = min(1.0, done / self.epochs) if self.epochs else 1.0
        if net.module_.kl_weight < 1.0:
            # The schedule does not judge progress on a changing objective.
            net.history.record("warmup", True)

    def on_train_end(self, net, **kwargs):
        net.module_.kl_weight = 1.0
