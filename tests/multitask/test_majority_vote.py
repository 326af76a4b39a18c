import equinox as eqx
import jax
import numpy as np
import pytest

from wsbench.data import WeakLabels
from wsbench.labelmodels import MajorityVote
from wsbench.multitask import (
    MultitaskMajorityVote,
    MultitaskWeakLabels,
    TaskGraph,
    sample_multitask,
)

G = TaskGraph.hierarchy(2, 3, 1)


def test_one_task_equals_majority_vote(key):
    L = np.array(jax.random.randint(key, (200, 5), -1, 3))
    single = MajorityVote().fit(WeakLabels(L=L, n_classes=3), key=key).predict_proba(L)
    data = MultitaskWeakLabels(L, TaskGraph.single(3), lf_task=(0,) * 5)
    multi = MultitaskMajorityVote().fit(data, key=key)
    np.testing.assert_allclose(multi.predict_proba_joint(L), single)
    np.testing.assert_allclose(multi.predict_proba(L)[0], single)


def test_feasible_set_aware_votes(key):
    # LFs: two coarse (task 0), two fine (task 1); joint labels (0,NA), (1,0), (1,1), (1,2)
    L = np.array(
        [
            [1, 1, 2, 2],  # abnormal + fine 2: (1, 2) has 4 agreeing votes
            [0, 0, 1, -1],  # normal x2 vs one fine vote: (0, NA) wins 2:1
            [0, -1, 1, -1],  # tie 1:1 between (0, NA) and (1, 1)
            [-1, -1, -1, -1],  # no votes: prior
            [1, -1, -1, -1],  # abnormal only: tie over the three abnormal joint labels
        ]
    )
    fitted = MultitaskMajorityVote().fit(MultitaskWeakLabels(L, G, (0, 0, 1, 1)), key=key)
    q = np.asarray(fitted.predict_proba_joint(L))
    np.testing.assert_allclose(q[0], [0, 0, 0, 1])
    np.testing.assert_allclose(q[1], [1, 0, 0, 0])
    np.testing.assert_allclose(q[2], [0.5, 0, 0.5, 0])
    np.testing.assert_allclose(q[3], [0.25] * 4)
    np.testing.assert_allclose(q[4], [0, 1 / 3, 1 / 3, 1 / 3])
    coarse, fine = fitted.predict_proba(L)
    np.testing.assert_allclose(fine[:, 3], coarse[:, 0])  # P(not applicable) = P(normal)
    np.testing.assert_allclose(coarse.sum(1), 1.0)
    np.testing.assert_allclose(fine.sum(1), 1.0)


def test_predict_validates_and_jits(key):
    sim = sample_multitask(key, n=300, graph=G)
    fitted = MultitaskMajorityVote().fit(sim.weak, key=key)
    eager = fitted.predict_proba_joint(sim.weak.L)
    jitted = eqx.filter_jit(lambda f, L: f.predict_proba_joint(L))
    np.testing.assert_allclose(jitted(fitted, sim.weak.L), eager)
    with pytest.raises(ValueError, match="votes on task 0"):
        fitted.predict_proba_joint(np.full((2, sim.weak.m), 2))
    with pytest.raises(ValueError, match="MultitaskWeakLabels"):
        MultitaskMajorityVote().fit(WeakLabels(L=np.zeros((2, 2), int), n_classes=2), key=key)
