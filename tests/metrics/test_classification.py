"""Metrics vs straightforward NumPy implementations, with masks (y = -1), ties and jit."""

import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsbench import metrics
from wsbench.metrics import (
    accuracy,
    align_classes,
    brier,
    confusion_error,
    ece,
    f1,
    log_loss,
    mean_sem,
    roc_auc,
    score,
)

# -----------------------------------------------------------------------------------------------
# NumPy references (loops where that is clearer)


def np_tie_split(p):
    """Each row's prediction as a distribution over its tied argmax classes (random tie-breaking)."""
    out = np.zeros_like(p, dtype=float)
    for i, row in enumerate(p):
        winners = np.flatnonzero(row == row.max())
        out[i, winners] = 1.0 / len(winners)
    return out


def np_accuracy(p, y):
    keep = y >= 0
    w = np_tie_split(p[keep])
    return np.mean([w[i, c] for i, c in enumerate(y[keep])])


def np_f1(p, y):
    keep = y >= 0
    w, yy = np_tie_split(p[keep]), y[keep]
    k = p.shape[1]
    scores = []
    for c in range(k):
        tp = np.sum(w[:, c] * (yy == c))
        fp = np.sum(w[:, c] * (yy != c))
        fn = np.sum((1 - w[:, c]) * (yy == c))
        scores.append(0.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return scores[1] if k == 2 else np.mean(scores)


def np_log_loss(p, y, eps=1e-7):
    keep = y >= 0
    return np.mean([-np.log(np.clip(p[i, y[i]], eps, 1.0)) for i in np.flatnonzero(keep)])


def np_brier(p, y):
    keep = y >= 0
    onehot = np.eye(p.shape[1])[y[keep]]
    return np.mean(((p[keep] - onehot) ** 2).sum(1))


def np_binary_auc(s, pos):
    """Fraction of (positive, negative) pairs ranked correctly; ties count one half."""
    sp, sn = s[pos], s[~pos]
    if len(sp) == 0 or len(sn) == 0:
        return np.nan
    total = sum((a > b) + 0.5 * (a == b) for a in sp for b in sn)
    return total / (len(sp) * len(sn))


def np_roc_auc(p, y):
    keep = y >= 0
    p, y = p[keep], y[keep]
    k = p.shape[1]
    if k == 2:
        return np_binary_auc(p[:, 1], y == 1)
    return np.mean([np_binary_auc(p[:, c], y == c) for c in range(k)])


def np_ece(p, y, n_bins=10):
    keep = y >= 0
    p, y = p[keep], y[keep]
    conf, correct = p.max(1), np_tie_split(p)[np.arange(len(y)), y]
    bins = np.clip((conf * n_bins).astype(int), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            total += abs(conf[sel].sum() - correct[sel].sum())
    return total / len(y)


REFERENCES = {
    "accuracy": (accuracy, np_accuracy),
    "f1": (f1, np_f1),
    "log_loss": (log_loss, np_log_loss),
    "brier": (brier, np_brier),
    "roc_auc": (roc_auc, np_roc_auc),
    "ece": (ece, np_ece),
}


def _random_case(key, n, k, *, mask_frac=0.2, ties=False):
    k_logits, k_y, k_mask, k_temp = jr.split(key, 4)
    logits = jr.normal(k_logits, (n, k)) * 2.0
    p = np.asarray(jax.nn.softmax(logits, axis=-1), dtype=np.float32)
    if ties:  # coarse probabilities: many exact ties in scores and in argmax
        p = np.round(p * 4) / 4
        p = np.where(p.sum(1, keepdims=True) == 0, 1.0 / k, p)
        p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    y = np.asarray(jr.randint(k_y, (n,), 0, k))
    masked = np.asarray(jr.uniform(k_mask, (n,))) < mask_frac
    y = np.where(masked, -1, y).astype(np.int32)
    return p, y


CASES = [(n, k, ties) for n in (7, 60) for k in (2, 3, 5) for ties in (False, True)]


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize(
    "n,k,ties", CASES, ids=[f"n{n}-k{k}{'-ties' if t else ''}" for n, k, t in CASES]
)
def test_metric_matches_numpy(name, n, k, ties, key):
    ours, ref = REFERENCES[name]
    for i in range(3):
        p, y = _random_case(jr.fold_in(key, i), n, k, ties=ties)
        if np.sum(y >= 0) == 0:
            continue
        want = ref(p.astype(np.float64), y)
        got = float(ours(jnp.asarray(p), jnp.asarray(y)))
        if np.isnan(want):
            assert np.isnan(got), (
                f"{name}: expected NaN (a class without positives/negatives), got {got}"
            )
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} case {i}")


def test_masked_items_are_ignored(key):
    # shapes (7, 3) and (60, 3), as in CASES, so no new compilation
    p, y = _random_case(key, 7, 3, mask_frac=0.0)
    garbage_p, _ = _random_case(jr.fold_in(key, 1), 53, 3, mask_frac=0.0)
    p_aug = np.concatenate([p, garbage_p])
    y_aug = np.concatenate([y, np.full(53, -1, np.int32)])
    for name, (fn, _) in REFERENCES.items():
        np.testing.assert_allclose(
            float(fn(jnp.asarray(p_aug), jnp.asarray(y_aug))),
            float(fn(jnp.asarray(p), jnp.asarray(y))),
            rtol=1e-6,
            atol=1e-6,
            err_msg=name,
        )


def test_all_masked_gives_nan_not_an_error():
    p = jnp.full((4, 2), 0.5)
    y = jnp.full((4,), -1, jnp.int32)
    for name in ("accuracy", "log_loss", "brier", "roc_auc"):
        assert np.isnan(float(REFERENCES[name][0](p, y))), name


def test_known_values():
    p = jnp.asarray([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y = jnp.asarray([0, 1, 1, -1])
    assert float(accuracy(p, y)) == pytest.approx(2 / 3)
    assert float(f1(p, y)) == pytest.approx(2 / 3)  # tp=1, fp=0, fn=1
    assert float(log_loss(p, y)) == pytest.approx(
        -(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3, rel=1e-6
    )
    assert float(roc_auc(p, y)) == pytest.approx(1.0)  # positives 0.8, 0.4 vs negative 0.1
    perfect = jnp.eye(3)[jnp.asarray([0, 1, 2, 1])]
    assert float(brier(perfect, jnp.asarray([0, 1, 2, 1]))) == 0.0
    assert float(ece(perfect, jnp.asarray([0, 1, 2, 1]))) == 0.0
    # exact ties count as expected under random tie-breaking: 1/3 right for a 3-way tie
    assert float(accuracy(jnp.full((2, 3), 1 / 3), jnp.asarray([0, 0]))) == pytest.approx(1 / 3)
    assert float(accuracy(jnp.asarray([[0.5, 0.5, 0.0]]), jnp.asarray([1]))) == pytest.approx(0.5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scores=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=12, max_size=12),
    labels=st.lists(st.sampled_from([-1, 0, 1]), min_size=12, max_size=12),
)
def test_roc_auc_with_ties_hypothesis(scores, labels):
    s, y = np.asarray(scores, np.float32), np.asarray(labels, np.int32)
    p = np.stack([1 - s, s], axis=1)
    want = np_roc_auc(p.astype(np.float64), y)
    got = float(roc_auc(jnp.asarray(p), jnp.asarray(y)))
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-6)


def test_metrics_jit_and_score(key):
    p, y = _random_case(key, 60, 3)
    L = np.where(np.asarray(jr.uniform(jr.fold_in(key, 2), (60, 4))) < 0.3, 1, -1).astype(np.int32)
    eager = score(jnp.asarray(p), jnp.asarray(y), jnp.asarray(L))
    jitted = jax.jit(score)(jnp.asarray(p), jnp.asarray(y), jnp.asarray(L))
    assert set(eager) == set(metrics.METRICS) | {"coverage"}
    for name in eager:
        np.testing.assert_allclose(float(jitted[name]), float(eager[name]), rtol=1e-5, err_msg=name)
    for name, (_, ref) in REFERENCES.items():
        if name in eager:
            np.testing.assert_allclose(
                float(eager[name]), ref(p.astype(np.float64), y), rtol=1e-5, atol=1e-6
            )
    assert float(eager["coverage"]) == pytest.approx(np.mean((L != -1).any(1)))
    assert "coverage" not in score(jnp.asarray(p), jnp.asarray(y))


# ----------------------------------------------------------------------------------------------
# recovery metrics


def _true_confusions(key, m=5, k=3):
    raw = jr.uniform(key, (m, k, k)) + 2.0 * jnp.eye(k)[None]
    return raw / raw.sum(-1, keepdims=True)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_align_classes_undoes_a_permutation(k, key):
    k_true, k_perm, k_noise = jr.split(key, 3)
    true = _true_confusions(k_true, k=k)
    perm = np.asarray(jr.permutation(k_perm, k))
    est = true[:, perm] + 0.01 * jr.uniform(
        k_noise, true.shape
    )  # estimated class s = true class perm[s]
    aligned = np.asarray(align_classes(est, true))
    np.testing.assert_array_equal(aligned, np.argsort(perm))
    np.testing.assert_allclose(np.asarray(est)[:, aligned], np.asarray(true), atol=0.011)
    assert float(confusion_error(est, true)) < 0.011
    if not np.array_equal(perm, np.arange(k)):
        assert float(confusion_error(est, true, align=False)) > float(confusion_error(est, true))
    np.testing.assert_array_equal(align_classes(true, true), np.arange(k))
    assert float(confusion_error(true, true)) == 0.0


def test_align_classes_is_optimal_by_brute_force(key):
    k = 4
    for i in range(5):
        est = _true_confusions(jr.fold_in(key, 2 * i), k=k)
        true = _true_confusions(jr.fold_in(key, 2 * i + 1), k=k)
        e, t = np.asarray(est), np.asarray(true)

        def cost(perm, e=e, t=t):
            return np.abs(e[:, list(perm)] - t).sum()

        best = min(cost(p) for p in itertools.permutations(range(k)))
        got = np.asarray(align_classes(est, true))
        assert sorted(got.tolist()) == list(range(k))
        assert cost(got) == pytest.approx(best, rel=1e-5)
        assert float(confusion_error(est, true)) == pytest.approx(best / e.size, rel=1e-5)


def test_mean_sem():
    v = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 3.0]])
    mean, sem = mean_sem(v)
    np.testing.assert_allclose(mean, v.mean(1))
    np.testing.assert_allclose(sem, v.std(1, ddof=1) / np.sqrt(3))
    mean, sem = mean_sem(v, axis=0)
    np.testing.assert_allclose(sem, v.std(0, ddof=1) / np.sqrt(2))
    mean, sem = mean_sem(np.array([[5.0]]))
    assert mean.tolist() == [5.0] and sem.tolist() == [0.0]
