"""How a variational autoencoder fills missing entries: from p(x_mis | x_obs)."""

import math

import torch

from .._base.missing import observed_mask, zero_filled


class VariationalFill:
    """The ``fill_missing`` of :class:`~skae._models.variational.VAEModule`.

    A mixin of the module: it uses the module's posterior, decoder, log
    terms and evaluation noise.
    """

    def fill_missing(self, x, observed=None, *, k=100, generator=None):
        """``x`` with its missing entries filled from p(x_mis | x_obs).

        By self-normalized importance sampling (MIWAE, Mattei and Frellsen,
        2019): with ``k`` draws ``z_i`` from q(z | x) and the weights
        ``w_i`` proportional to p(x_obs | z_i) p(z_i) / q(z_i | x), the
        conditional mean E[x_mis | x_obs] is ``sum_i w_i E[x_mis | z_i]``.
        With a ``generator``, one draw instead, by sampling importance
        resampling: ``z_i`` picked with probability ``w_i``, then ``x_mis``
        drawn from p(x_mis | z_i). The draws are the fixed evaluation noise
        (:meth:`eval_noise`), so the mean is deterministic.
        """
        observed = observed_mask(x) if observed is None else observed
        if observed is None:
            return x
        eps = self.eval_noise(k, x.device)
        mu, logvar = self.posterior(x)
        std = (0.5 * logvar).exp()
        # Over chunks of draws, the weights normalized as they come (an
        # online softmax): memory stays bounded whatever k.
        peak = torch.full(
            (x.shape[0],), -math.inf, dtype=torch.float64, device=x.device
        )
        total = torch.zeros_like(peak)
        weighted = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
        log_weights = []
        for part in self._eval_noise_chunks(x, k):
            z = mu + std * part[:, None, :]
            out = self._decoder_output(z)
            log_w = self._log_terms(x, out, observed).sum(-1)
            log_w = (
                log_w + self._log_prior_ratio(z, part[:, None, :], logvar)
            ).double()
            # A row that no draw can explain (a category not seen in fit has
            # probability 0 whatever z) keeps the encoder's draws unweighted.
            log_w = torch.where(torch.isneginf(log_w).all(0), 0.0, log_w)
            log_weights.append(log_w)
            new_peak = torch.maximum(peak, log_w.max(dim=0).values)
            shrink = (peak - new_peak).exp()
            w = (log_w - new_peak).exp()
            mean = self.mean_of_output(out)
            total = total * shrink + w.sum(dim=0)
            weighted = weighted * shrink[:, None] + torch.einsum(
                "kb,kbf->bf", w, mean.double()
            )
            peak = new_peak
        if generator is None:
            fill = (weighted / total[:, None]).to(x.dtype)
        else:
            weights = torch.softmax(torch.cat(log_weights), dim=0)
            pick = torch.multinomial(weights.T.float(), 1, generator=generator)[:, 0]
            chosen = mu + std * eps[pick]
            fill = self._draw(self._mean_of(chosen), generator)
        # Rows without an observed value: the encoder knows nothing of them,
        # and the prior itself is the posterior.
        empty = ~observed.any(dim=1)
        if bool(empty.any()):
            prior = self._mean_of(eps)
            if generator is None:
                prior = prior.mean(dim=0)
            else:
                pick = torch.randint(k, (x.shape[0],), generator=generator)
                prior = self._draw(prior[pick.to(prior.device)], generator)
            fill = torch.where(empty[:, None], prior, fill)
        return torch.where(observed, zero_filled(x, observed), fill)

    def _mean_of(self, z):
        """The mean of p(x | z) for latent points ``z`` of shape (..., n_components)."""
        return self.mean_of_output(self._decoder_output(z))

    def _draw(self, mean, generator):
        """A draw from p(x | z), given its mean."""
        if self.columns is not None:
            return self.columns.draw(mean, self.variance(), generator)
        if self.likelihood == "bernoulli":
            noise = torch.rand(mean.shape, generator=generator, device=mean.device)
            return (noise.to(mean.dtype) < mean).to(mean.dtype)
        normal = torch.randn(mean.shape, generator=generator, device=mean.device)
        return mean + self.variance().sqrt() * normal.to(mean.dtype)
