"""Chunked fits and predictions (NumPy, memmap, Zarr, Dask) equal the in-memory path."""

import jax
import jax.random as jr
import numpy as np
import pytest

from wsbench.data import WeakLabels
from wsbench.labelmodels import (
    DawidSkene,
    FlyingSquid,
    MajorityVote,
    MatrixCompletion,
    chunked_statistics,
    fit_chunked,
    predict_proba_chunked,
)
from wsbench.synthetic import sample_dawid_skene

N, M, K, CHUNK = 700, 6, 3, 256  # 3 chunks, the last one short

ESTIMATORS = {
    "majority_vote": MajorityVote(),
    "dawid_skene": DawidSkene(n_iter=15, abstain="observed", init="vote_fraction"),
    "dawid_skene_tol": DawidSkene(n_iter=60, tol=1e-4),
    "matrix_completion": MatrixCompletion(n_iter=100),
    "flying_squid": FlyingSquid(),
}


@pytest.fixture(scope="module")
def L():
    sim = sample_dawid_skene(jr.key(3), n=N, m=M, n_classes=K, propensity=0.5)
    return np.asarray(sim.weak.L).astype(np.int8)


def _sources(L, tmp_path):
    """The same matrix as every supported source type."""
    path = tmp_path / "L.npy"
    np.save(path, L)
    out = {"numpy": L, "memmap": np.load(path, mmap_mode="r")}
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(
        store=str(tmp_path / "L.zarr"), shape=L.shape, chunks=(CHUNK, M), dtype="int8"
    )
    z[:] = L
    out["zarr"] = z
    return out


def _assert_same_fit(a, b, L):
    np.testing.assert_allclose(
        np.asarray(predict_proba_chunked(b, L, chunk_rows=CHUNK)), a.predict_proba(L), atol=1e-5
    )
    assert set(a.trace) == set(b.trace)
    for name in a.trace:
        np.testing.assert_allclose(
            np.asarray(b.trace[name], np.float64), np.asarray(a.trace[name], np.float64), rtol=1e-5
        )


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_host_sources_match_in_memory(name, L, tmp_path, key):
    est = ESTIMATORS[name]
    want = est.fit(WeakLabels(L=L, n_classes=K), key=key)
    for source_name, source in _sources(L, tmp_path).items():
        got = fit_chunked(est, source, n_classes=K, key=key, chunk_rows=CHUNK)
        try:
            _assert_same_fit(want, got, L)
        except AssertionError as e:
            raise AssertionError(f"{name} from {source_name}: {e}") from None


def test_overlap_statistics_match(L):
    est = MatrixCompletion()
    want = est.statistics(WeakLabels(L=L, n_classes=K))
    got = chunked_statistics(est, L, n_classes=K, chunk_rows=CHUNK)
    for field in ("second_moments", "third_moments", "coverage", "n_rows"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), atol=1e-6)


def test_predictions_written_to_a_memmap(L, tmp_path, key):
    fitted = fit_chunked(ESTIMATORS["dawid_skene"], L, n_classes=K, key=key, chunk_rows=CHUNK)
    out = np.lib.format.open_memmap(tmp_path / "p.npy", mode="w+", dtype=np.float32, shape=(N, K))
    got = predict_proba_chunked(fitted, L, out=out, chunk_rows=CHUNK)
    assert got is out
    out.flush()
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), fitted.predict_proba(L), atol=1e-6)


_TRACED = []  # names of the functions JAX traces while a test collects them (see below)


def _on_jax_event(event, duration, **kwargs):
    if _TRACED and event == "/jax/core/compile/jaxpr_trace_duration":
        _TRACED.append(str(kwargs.get("fun_name", "")))


jax.monitoring.register_event_duration_secs_listener(_on_jax_event)


def test_dask_on_a_local_cluster(L, key):
    """Two workers of a distributed LocalCluster (threaded, in this process) run the chunk tasks.

    Distributed pickles every task; the Dawid-Skene EM sums must reach the workers as the module's
    one jitted function, not as a pickled copy with an empty cache (which re-traced and compiled
    them in every task of every iteration: 15 iterations x 3 blocks)."""
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        # two blocks, one per worker, of a shape no other test here compiles, so the sums are
        # traced at least once in this test (the host sources cover blocks that do not divide n)
        Ld = da.from_array(L, chunks=(N // 2, M))
        for name in ("dawid_skene", "matrix_completion"):
            est = ESTIMATORS[name]
            want = est.fit(WeakLabels(L=L, n_classes=K), key=key)
            _TRACED[:] = ["(collecting)"]
            got = fit_chunked(est, Ld, n_classes=K, key=key, chunk_rows=CHUNK)
            traced, _TRACED[:] = _TRACED[1:], []
            if name == "dawid_skene":
                n_sums = sum("_ds_iteration_sums" in f for f in traced)
                assert 0 < n_sums < est.n_iter, f"_ds_iteration_sums traced {n_sums} times"
            probs = predict_proba_chunked(got, Ld)
            assert isinstance(probs, da.Array) and probs.chunks[0] == Ld.chunks[0]
            np.testing.assert_allclose(probs.compute(), want.predict_proba(L), atol=1e-5)


def test_flying_squid_chunked_parameters_match(L, key):
    """FlyingSquid's moments from row chunks: the same fitted parameters as in memory (binary and
    one-vs-rest), also for an L whose rows do not fill the last chunk."""
    for k, L_k in ((K, L), (2, np.where(L >= 2, 1, L).astype(np.int8)[:613])):
        want = FlyingSquid().fit(WeakLabels(L=L_k, n_classes=k), key=key)
        got = fit_chunked(FlyingSquid(), L_k, n_classes=k, key=key, chunk_rows=CHUNK)
        for field in ("tables", "task_prior", "moments", "n_triplets", "coverage", "prior"):
            np.testing.assert_allclose(
                np.asarray(getattr(got, field)), np.asarray(getattr(want, field)), atol=1e-6
            )
    with pytest.raises(ValueError, match="at least 3 labeling functions"):
        fit_chunked(FlyingSquid(), L[:, :2], n_classes=K, key=key)


def test_bad_input_is_rejected(L, key):
    bad = L.copy()
    bad[500, 2] = 7
    with pytest.raises(ValueError, match="outside -1..2"):
        fit_chunked(MatrixCompletion(), bad, n_classes=K, key=key, chunk_rows=CHUNK)
    with pytest.raises(ValueError, match="outside -1..2"):
        fit_chunked(DawidSkene(n_iter=3), bad, n_classes=K, key=key, chunk_rows=CHUNK)
    with pytest.raises(ValueError, match="integers"):
        fit_chunked(MajorityVote(), L.astype(float), n_classes=K, key=key)
    with pytest.raises(TypeError, match="slices into rows"):
        fit_chunked(MajorityVote(), [[0, 1]], n_classes=K, key=key)
