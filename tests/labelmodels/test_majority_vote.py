"""Majority vote: agreement with the loop reference, ties, priors for uncovered rows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.reference import GOLDEN
from tests.reference.majority_vote_numpy import majority_vote
from wsbench.data import WeakLabels
from wsbench.labelmodels import MajorityVote
from wsbench.synthetic import sample_independent


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("class_balance", [None, "skewed"])
def test_matches_numpy_reference(key, n_classes, class_balance):
    cb = (
        None
        if class_balance is None
        else np.arange(1, n_classes + 1) / np.arange(1, n_classes + 1).sum()
    )
    sim = sample_independent(key, n=400, m=6, n_classes=n_classes, propensity=0.3)
    weak = WeakLabels(L=sim.weak.L, n_classes=n_classes, class_balance=cb)
    got = MajorityVote().fit(weak, key=key).predict_proba(weak.L)
    want = majority_vote(np.asarray(weak.L), n_classes, cb)
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.reference
def test_matches_snorkel_golden(key):
    """snorkel 0.10.0 ``MajorityLabelVoter.predict_proba`` (from tests/reference/regenerate.py)."""
    g = np.load(GOLDEN / "snorkel_majority_vote_toy.npz")
    data = WeakLabels(L=g["L"], n_classes=int(g["n_classes"]))
    probs = MajorityVote().fit(data, key=key).predict_proba(data.L)
    np.testing.assert_allclose(probs, g["probas"], atol=1e-6)


def test_ties_are_split_uniformly(key):
    L = np.array([[0, 1, -1], [0, 1, 2], [2, 2, 1], [1, 1, 0], [-1, 2, 0]])
    probs = MajorityVote().fit(WeakLabels(L, 3), key=key).predict_proba(L)
    want = [[0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1], [0, 1, 0], [0.5, 0, 0.5]]
    np.testing.assert_allclose(probs, want, atol=1e-7)


def test_uncovered_rows_get_uniform_without_class_balance(key):
    L = np.array([[0, 1], [-1, -1], [1, 1]])
    probs = MajorityVote().fit(WeakLabels(L, 4), key=key).predict_proba(L)
    np.testing.assert_array_equal(probs[1], np.full(4, 0.25, np.float32))


def test_uncovered_rows_get_the_class_balance(key):
    L = np.array([[0, 1], [-1, -1], [2, 2]])
    cb = np.array([0.5, 0.3, 0.2])
    fitted = MajorityVote().fit(WeakLabels(L, 3, class_balance=cb), key=key)
    probs = fitted.predict_proba(L)
    np.testing.assert_allclose(probs[1], cb, atol=1e-7)
    np.testing.assert_allclose(
        np.asarray(probs)[[0, 2]], [[0.5, 0.5, 0], [0, 0, 1]], atol=1e-7
    )  # votes, not prior


def test_jit_matches_eager(key):
    sim = sample_independent(key, n=300, m=5, n_classes=3, propensity=0.4)
    eager = MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L)
    jitted = jax.jit(lambda w: MajorityVote().fit(w, key=key).predict_proba(w.L))(sim.weak)
    np.testing.assert_array_equal(eager, jitted)
    assert bool(jnp.all(jnp.isfinite(eager)))
