"""Class-conditional features: the designed Bayes accuracy is reachable from x alone."""

import jax
import jax.random as jr
import numpy as np
import pytest

from wsbench.endmodels import LogisticRegression
from wsbench.metrics import accuracy
from wsbench.synthetic import (
    dataset_with_features,
    features_bayes_accuracy,
    features_posterior,
    make_independent,
    make_with_features,
    sample_features,
    sample_independent,
)


def test_classifier_on_features_reaches_bayes_accuracy(key):
    k_y, k_x, k_fit = jr.split(key, 3)
    n, sep = 20_000, 2.0
    y = jr.randint(k_y, (n,), 0, 2)
    x = sample_features(k_x, y, n_classes=2, d=8, separation=sep)
    bayes = features_bayes_accuracy(sep)  # Phi(1) = 0.841
    train, test = slice(0, n // 2), slice(n // 2, n)
    fitted = LogisticRegression(n_steps=300, lr=0.1).fit(
        x[train], jax.nn.one_hot(y[train], 2), key=k_fit
    )
    acc = float(accuracy(fitted.predict_proba(x[test]), y[test]))
    assert abs(acc - bayes) < 0.015, (acc, bayes)
    # the Bayes posterior computed from the same key achieves it too
    post = features_posterior(k_x, x[test], jax.numpy.full((2,), 0.5), d=8, separation=sep)
    assert abs(float(accuracy(post, y[test])) - bayes) < 0.015


def test_class_means_pairwise_separation(key):
    y = jax.numpy.repeat(jax.numpy.arange(3), 4000)
    x = sample_features(key, y, n_classes=3, d=6, separation=3.0, noise=0.5)
    means = np.stack([np.asarray(x[np.asarray(y) == c]).mean(0) for c in range(3)])
    dists = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(3, 1)]
    np.testing.assert_allclose(dists, 3.0, atol=0.05)


def test_make_with_features_and_dataset_with_features(key):
    from functools import partial

    ds = make_with_features(
        key=key,
        sampler=partial(sample_independent, m=4, n_classes=2),
        n_train=50,
        n_valid=20,
        n_test=30,
        d=3,
    )
    assert ds.train.x.shape == (50, 3) and ds.test.x.shape == (30, 3)
    ds2 = dataset_with_features(
        make_independent(key=key, n_train=50, n_valid=20, n_test=30, m=4), key, d=5
    )
    assert ds2.valid.x.shape == (20, 5)


def test_bad_feature_parameters_raise(key):
    y = jax.numpy.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="d must be"):
        sample_features(key, y, n_classes=3, d=2)
    with pytest.raises(ValueError, match="noise"):
        sample_features(key, y, n_classes=2, d=2, noise=0.0)
