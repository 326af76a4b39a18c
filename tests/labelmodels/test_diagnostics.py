"""``fitted.diagnostics(L)``: collapse signs on every generative fit (issue 13)."""

import warnings

import equinox as eqx
import numpy as np
import pytest

from tests.labelmodels._problems import one_sided
from wsbench.labelmodels import DawidSkene, MatrixCompletion

KEYS = {
    "prior_min",
    "prior_at_boundary",
    "share_lfs_below_chance",
    "share_votes_not_own_class",
    "loss_fit",
    "loss_uniform_prior",
    "pred_histogram",
    "n_predicted_classes",
}


def _weak():
    weak, _, _ = one_sided(0, n=2000, k=4, lfs_per_class=[4, 3, 3, 2], prior=[0.4, 0.3, 0.2, 0.1])
    return weak


@pytest.mark.parametrize(
    "est",
    [DawidSkene(n_iter=20, abstain="observed"), MatrixCompletion(n_iter=100)],
    ids=["ds_observed", "mc"],
)
@pytest.mark.slow
def test_diagnostics_keys_values_and_jit(est, key):
    weak = _weak()
    fitted = est.fit(weak, key=key)
    d = fitted.diagnostics(weak.L)
    assert set(d) == KEYS
    np.testing.assert_allclose(float(d["pred_histogram"].sum()), 1.0, atol=1e-5)
    assert int(d["n_predicted_classes"]) >= 3
    assert not bool(d["prior_at_boundary"])
    assert np.isfinite(float(d["loss_fit"])) and np.isfinite(float(d["loss_uniform_prior"]))
    jitted = eqx.filter_jit(lambda f, L: f.diagnostics(L))(fitted, weak.L)
    for name in KEYS:
        np.testing.assert_allclose(np.asarray(jitted[name]), np.asarray(d[name]), rtol=1e-5)


def test_diagnostics_flag_a_constant_fit(key):
    """Classic DS on one-sided LFs predicts one class: the histogram shows it."""
    weak = _weak()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = DawidSkene(n_iter=20).fit(weak, key=key)
    d = fitted.diagnostics(weak.L)
    assert int(d["n_predicted_classes"]) == 1
    assert float(d["pred_histogram"].max()) > 0.99


@pytest.mark.slow
def test_diagnostics_flag_lfs_moved_off_their_class(key):
    """Without the anchor, a converged fit moves one-sided LFs' votes to other classes."""
    from tests.labelmodels.test_matrix_completion import _one_sided_problem

    weak, _, _ = _one_sided_problem(k=9)
    kw = dict(n_iter=2000, lr=0.05, class_balance_from="uniform")
    free = MatrixCompletion(anchor=False, **kw).fit(weak, key=key).diagnostics(weak.L)
    anchored = MatrixCompletion(**kw).fit(weak, key=key).diagnostics(weak.L)
    assert float(free["share_votes_not_own_class"]) > 0.05
    assert float(anchored["share_votes_not_own_class"]) == 0.0
