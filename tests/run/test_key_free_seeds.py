"""Seeds that cannot change the result are not fitted (issue 10): an estimator whose fit provably
ignores its key is fitted and scored for one seed, the other seeds' rows are copies, and the rows
and the summary say so (``seeds_fitted``)."""

import jax.random as jr
import numpy as np
import pandas as pd
import pytest

from tests._utils import compose_fast
from wsbench.labelmodels import DawidSkene, FlyingSquid, MajorityVote, MatrixCompletion
from wsbench.labelmodels.grid import fit_ignores_key
from wsbench.run import labelmodel
from wsbench.synthetic import sample_independent


def _cfg(*overrides):
    return compose_fast("labelmodel", *overrides)


@pytest.fixture(scope="module")
def weak():
    return sample_independent(jr.key(0), n=300, m=6, accuracy=0.8, propensity=0.6).weak


def test_fit_ignores_key_is_true_only_where_the_key_cannot_matter(weak):
    for est in (MajorityVote(), DawidSkene(), FlyingSquid()):
        assert fit_ignores_key(est, weak), type(est).__name__
    noisy = MatrixCompletion(n_iter=20, init_noise=0.2)
    assert not fit_ignores_key(noisy, weak)
    # and that answer is right: two keys give two different fits
    a = noisy.fit(weak, key=jr.key(1)).predict_proba(weak.L)
    b = noisy.fit(weak, key=jr.key(2)).predict_proba(weak.L)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


def _spy_fit_grid(monkeypatch):
    calls = []
    real = labelmodel.fit_grid

    def spy(stacked, train, splits, keys, **kw):
        calls.append(int(keys.shape[0]))
        return real(stacked, train, splits, keys, **kw)

    monkeypatch.setattr(labelmodel, "fit_grid", spy)
    return calls


@pytest.mark.slow
def test_key_free_estimator_fits_one_seed_and_says_so(tmp_path, monkeypatch):
    calls = _spy_fit_grid(monkeypatch)
    summary = labelmodel.run(_cfg("estimator=dawid_skene", "seeds=3"), out_dir=tmp_path / "a")
    assert calls == [1]  # one fit, not three
    df = pd.read_parquet(tmp_path / "a" / "results.parquet")
    assert len(df) == 3 and (df["seeds_fitted"] == 1).all()
    assert summary["seeds_fitted"] == 1.0 and summary["seeds_identical"] == 1.0
    assert summary["test/accuracy_sem"] == 0.0
    # the copied rows are the numbers a one-seed run gives
    one = labelmodel.run(_cfg("estimator=dawid_skene", "seeds=1"), out_dir=tmp_path / "b")
    for col in ("test/accuracy", "test/log_loss", "test/accuracy_lo", "test/accuracy_hi"):
        assert df[col].nunique() == 1, col
        assert df[col].iloc[0] == pytest.approx(one[col], abs=1e-6), col


@pytest.mark.slow
def test_estimator_that_uses_its_key_fits_every_seed(tmp_path, monkeypatch):
    calls = _spy_fit_grid(monkeypatch)
    summary = labelmodel.run(
        _cfg("estimator=matrix_completion", "estimator.init_noise=0.3", "seeds=2"),
        out_dir=tmp_path,
    )
    assert calls == [2]
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert (df["seeds_fitted"] == 2).all() and summary["seeds_fitted"] == 2.0
    assert df["test/log_loss"].nunique() == 2  # the seeds differ
