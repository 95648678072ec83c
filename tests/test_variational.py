"""Tests of the variational module and its training bounds."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from torch import distributions as D

import skae._models.variational
from skae._base.module import make_mlp
from skae._models.variational import LOGVAR_MIN, VAEModule

N_FEATURES, N_COMPONENTS = 6, 3


def _module(likelihood="gaussian", k=1, bound="elbo", beta=1.0, seed=0):
    torch.manual_seed(seed)
    encoder = make_mlp(N_FEATURES, (16,), 2 * N_COMPONENTS)
    decoder = make_mlp(N_COMPONENTS, (16,), N_FEATURES)
    return VAEModule(
        encoder,
        decoder,
        n_components=N_COMPONENTS,
        likelihood=likelihood,
        bound=bound,
        k=k,
        beta=beta,
        variance_floor=torch.full((N_FEATURES,), 1e-3),
        eval_seed=123,
    )


def _loss(module, x, seed=0):
    """The mean of the module's row losses, as the net's criterion takes it."""
    module.generator = torch.Generator().manual_seed(seed)
    return module(x).mean()


@pytest.fixture
def x():
    return torch.as_tensor(np.random.RandomState(0).normal(size=(10, N_FEATURES)))


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_log_weight_terms_match_torch_distributions(likelihood, x):
    module = _module(likelihood)
    x = x.float()
    if likelihood == "bernoulli":
        x = (x > 0).float()
    eps = torch.randn(4, len(x), N_COMPONENTS)
    with torch.no_grad():
        log_px_z, log_pz_qz = module.log_weight_terms(x, eps)
        mu, logvar = module.posterior(x)
        z = mu + (0.5 * logvar).exp() * eps
        q = D.Normal(mu, (0.5 * logvar).exp())
        prior = D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        expected_ratio = (prior.log_prob(z) - q.log_prob(z)).sum(-1)
        out = module.decoder(z)
        if likelihood == "gaussian":
            px = D.Normal(out, module.variance().sqrt())
        else:
            px = D.Bernoulli(logits=out)
        expected_px = px.log_prob(x.expand_as(out)).sum(-1)
    assert log_px_z.shape == log_pz_qz.shape == (4, len(x))
    assert_allclose(log_pz_qz, expected_ratio, rtol=1e-5, atol=1e-4)
    assert_allclose(log_px_z, expected_px, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_iwae_bound_with_one_sample_is_the_sampled_elbo(x, beta):
    module = _module(k=1, bound="iwae", beta=beta)
    loss = _loss(module, x.float(), seed=5)
    eps = torch.randn(
        1, len(x), N_COMPONENTS, generator=torch.Generator().manual_seed(5)
    )
    with torch.no_grad():
        log_px_z, log_pz_qz = module.log_weight_terms(x.float(), eps)
    assert loss.dim() == 0
    assert torch.allclose(loss, -(log_px_z + beta * log_pz_qz).mean())


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_elbo_uses_the_closed_form_kl_the_mean_of_the_sampled_one(x, beta):
    module = _module(k=20000, bound="elbo", beta=beta)
    with torch.no_grad():
        closed_form = _loss(module, x.float())
        mu, logvar = module.posterior(x.float())
        q = D.Normal(mu, (0.5 * logvar).exp())
        prior = D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        expected_kl = D.kl_divergence(q, prior).sum(-1)
        assert torch.allclose(module.kl_divergence(mu, logvar), expected_kl)
        eps = torch.randn(20000, len(x), N_COMPONENTS, generator=torch.Generator())
        log_px_z, log_pz_qz = module.log_weight_terms(x.float(), eps)
        sampled = -(log_px_z + beta * log_pz_qz).mean()
    # The same expectation; the sampled estimate differs by its noise only.
    assert torch.allclose(closed_form, sampled, rtol=2e-3)


def test_warm_up_changes_the_gradient_not_the_value(x):
    module = _module(k=3, bound="elbo")
    full = _loss(module, x.float())
    full.backward()
    full_grad = module.encoder[0].weight.grad.clone()
    module.zero_grad()
    module.kl_weight = 0.2
    warm = _loss(module, x.float())
    warm.backward()
    assert torch.allclose(warm, full)  # the recorded loss is the bound
    assert not torch.allclose(module.encoder[0].weight.grad, full_grad)


def test_iwae_bound_is_at_least_the_elbo_for_the_same_samples(x):
    module = _module(k=10)
    eps = torch.randn(10, len(x), N_COMPONENTS, generator=torch.Generator())
    with torch.no_grad():
        log_w = module.log_weights(x.float(), eps)
    per_row_iwae = torch.logsumexp(log_w, 0) - math.log(10)
    per_row_elbo = log_w.mean(0)
    assert torch.all(per_row_iwae >= per_row_elbo - 1e-5)
    assert (per_row_iwae - per_row_elbo).mean() > 0.01
    elbo_loss = _loss(_module(k=10, bound="elbo"), x.float())
    iwae_loss = _loss(_module(k=10, bound="iwae"), x.float())
    assert iwae_loss < elbo_loss


def test_iwae_gradient_flows_through_the_weights(x):
    module = _module(k=5, bound="iwae")
    _loss(module, x.float()).backward()
    grads = [p.grad for p in module.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert module.encoder[0].weight.grad.abs().sum() > 0


def test_training_noise_comes_from_the_generator(x):
    module = _module(k=3)
    assert torch.equal(_loss(module, x.float(), seed=1), _loss(module, x.float(), 1))
    assert not torch.equal(_loss(module, x.float(), seed=1), _loss(module, x.float()))


def test_eval_noise_is_reproducible_and_shared_by_rows(x):
    module = _module()
    noise = module.eval_noise(50, torch.device("cpu"))
    assert noise.shape == (50, N_COMPONENTS)
    assert torch.equal(noise, module.eval_noise(50, torch.device("cpu")))
    with torch.no_grad():
        full = module.score_samples(x.float(), 50)
        one = module.score_samples(x.float()[3:4], 50)
    assert full.dtype == torch.float64
    assert_allclose(one.numpy(), full[3:4].numpy(), rtol=1e-6)


def test_scoring_in_chunks_of_samples_changes_nothing(x, monkeypatch):
    module = _module()
    with torch.no_grad():
        whole = module.score_samples(x.float(), 40)
        monkeypatch.setattr(skae._models.variational, "SCORE_CHUNK_VALUES", 7)
        chunked = module.score_samples(x.float(), 40)
    assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-10)


def test_variance_floor_and_logvar_clamp_keep_values_finite():
    module = _module()
    with torch.no_grad():
        module.raw_variance.fill_(-1e4)  # variance would underflow to 0
        module.encoder[-1].bias.fill_(-1e4)  # log-variance -1e4
        x = torch.zeros(2, N_FEATURES)
        assert torch.all(module.variance() >= 1e-3)
        _, logvar = module.posterior(x)
        assert torch.all(logvar >= LOGVAR_MIN)
        assert torch.isfinite(module.score_samples(x, 10)).all()
        assert torch.isfinite(module.score_samples(x + 1e6, 10)).all()


def test_encoder_of_wrong_width_raises():
    module = _module()
    module.encoder = make_mlp(N_FEATURES, (), N_COMPONENTS)
    with pytest.raises(ValueError, match="2 \\* n_components"):
        module.encode(torch.zeros(2, N_FEATURES))


def test_iwae_encoder_gradient_is_the_doubly_reparameterized_one(x):
    """Tucker et al. (2019): sum_i w_i^2 d log w_i / dz_i dz_i / dphi."""
    x = x.float()
    module = _module(k=7, bound="iwae")
    _loss(module, x, seed=3).backward()
    encoder = [p.grad.clone() for p in module.encoder.parameters()]
    decoder = [p.grad.clone() for p in module.decoder.parameters()]

    module.zero_grad()
    eps = torch.randn(
        7, len(x), N_COMPONENTS, generator=torch.Generator().manual_seed(3)
    )
    mu, logvar = module.posterior(x)
    z = mu + (0.5 * logvar).exp() * eps
    q = D.Normal(mu.detach(), (0.5 * logvar.detach()).exp())
    prior = D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    log_w = module.log_likelihood(x, z) + (prior.log_prob(z) - q.log_prob(z)).sum(-1)
    weights = torch.softmax(log_w.detach(), dim=0)
    surrogate = -(weights**2 * log_w).sum(0).mean()
    expected_encoder = torch.autograd.grad(
        surrogate, list(module.encoder.parameters()), retain_graph=True
    )
    bound = -(torch.logsumexp(log_w, 0) - math.log(7)).mean()
    expected_decoder = torch.autograd.grad(bound, list(module.decoder.parameters()))
    for got, expected in zip(encoder + decoder, expected_encoder + expected_decoder):
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------
# The per-feature split of the importance-sampled log p(x)


def _binary_if(likelihood, x):
    return (x > 0).float() if likelihood == "bernoulli" else x.float()


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_per_feature_terms_split_the_score_exactly(likelihood, x):
    """The split the docstring states, term by term, from torch.distributions."""
    module = _module(likelihood)
    x = _binary_if(likelihood, x)
    k = 50
    with torch.no_grad():
        score = module.score_samples(x, k)
        terms = module.score_samples_per_feature(x, k)
        mu, logvar = module.posterior(x)
        eps = module.eval_noise(k, x.device)[:, None, :]
        z = mu + (0.5 * logvar).exp() * eps
        out = module.decoder(z)
        if likelihood == "gaussian":
            px = D.Normal(out, module.variance().sqrt())
        else:
            px = D.Bernoulli(logits=out)
        log_px_z = px.log_prob(x.expand_as(out)).double()  # (k, batch, features)
        q = D.Normal(mu, (0.5 * logvar).exp())
        prior = D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        log_pz_qz = (prior.log_prob(z) - q.log_prob(z)).sum(-1).double()
    weights = torch.softmax(log_px_z.sum(-1) + log_pz_qz, dim=0)
    entropy = -(weights * weights.log()).sum(0)
    latent = (weights * log_pz_qz).sum(0) + entropy - math.log(k)
    expected = (weights[..., None] * log_px_z).sum(0) + latent[:, None] / N_FEATURES
    assert terms.dtype == torch.float64 and terms.shape == x.shape
    assert_allclose(terms.sum(-1).numpy(), score.numpy(), rtol=1e-12)
    assert_allclose(terms.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_per_feature_terms_in_chunks_of_draws_and_rows_alone_change_nothing(
    x, monkeypatch
):
    module = _module()
    with torch.no_grad():
        whole = module.score_samples_per_feature(x.float(), 40)
        one = module.score_samples_per_feature(x.float()[3:4], 40)
        monkeypatch.setattr(skae._models.variational, "SCORE_CHUNK_VALUES", 7)
        chunked = module.score_samples_per_feature(x.float(), 40)
    assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-10)
    assert_allclose(one.numpy(), whole[3:4].numpy(), rtol=1e-6)


def test_draws_of_weight_zero_add_nothing_to_the_terms(x, monkeypatch):
    """A draw whose log-likelihood is -inf in one feature has weight 0: it must
    not turn that feature's term into NaN (0 * -inf) while the score ignores it."""
    module = _module()
    x = x.float()
    with torch.no_grad():
        before = module.score_samples_per_feature(x, 20)
    per_feature = module.log_likelihood_per_feature

    def first_draw_impossible(x, z):
        values = per_feature(x, z).clone()
        values[0, :, 2] = -torch.inf
        return values

    monkeypatch.setattr(module, "log_likelihood_per_feature", first_draw_impossible)
    with torch.no_grad():
        score = module.score_samples(x, 20)
        terms = module.score_samples_per_feature(x, 20)
    assert torch.isfinite(terms).all()
    assert_allclose(terms.sum(-1).numpy(), score.numpy(), rtol=1e-12)
    assert not torch.allclose(terms, before)  # the draw was dropped
