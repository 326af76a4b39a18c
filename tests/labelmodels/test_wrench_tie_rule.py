"""WRENCH's tie rule (``tie_rule="wrench"``) reproduces WRENCH's published majority-vote cells."""

import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wsbench.labelmodels import wrench_majority_vote_proba
from wsbench.metrics import accuracy, f1, tie_break_wrench

# WRENCH README benchmark figure (images/bench_class1.png, commit dae81567): MV test cells
PUBLISHED = {
    "wrench_youtube": ("acc", 84.00),
    "wrench_sms": ("f1", 23.97),
    "wrench_chemprot": ("acc", 49.04),
}


def _reference(probs):
    """snorkel's probs_to_preds(tie_break_policy="random"), written out as a loop."""
    import hashlib

    out = []
    for i, row in enumerate(np.asarray(probs, np.float64)):
        tied = np.flatnonzero(np.abs(row - row.max()) < 1e-5)
        h = int(hashlib.sha1(str(i).encode("utf-8")).hexdigest(), 16)
        out.append(tied[0] if len(tied) == 1 else tied[h % len(tied)])
    return np.array(out)


def test_tie_rule_matches_the_loop_and_runs_under_jit():
    rng = np.random.default_rng(0)
    votes = rng.integers(0, 3, (400, 4))  # many ties among 2..4 classes
    probs = np.stack([(votes == c).sum(1) for c in range(4)], 1) / 4.0
    want = _reference(probs)
    np.testing.assert_array_equal(tie_break_wrench(jnp.asarray(probs)), want)
    np.testing.assert_array_equal(jax.jit(tie_break_wrench)(jnp.asarray(probs)), want)
    y = jnp.asarray(rng.integers(0, 4, 400))
    got = jax.jit(lambda p: accuracy(p, y, tie_rule="wrench"))(jnp.asarray(probs))
    np.testing.assert_allclose(float(got), float((want == np.asarray(y)).mean()), atol=1e-6)
    with pytest.raises(ValueError, match="tie_rule must be"):
        accuracy(jnp.asarray(probs), y, tie_rule="lowest")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_majority_vote_reproduces_wrench_published_cell(name):
    mirror = os.environ.get("WSBENCH_DATA_MIRROR")
    if not mirror or not (pathlib.Path(mirror) / name).is_dir():
        pytest.skip(
            f"needs the dataset mirror: set WSBENCH_DATA_MIRROR to a folder holding {name}/"
        )
    from wsbench.data import load_wrench

    ds = load_wrench(pathlib.Path(mirror) / name, missing_train="valid")
    probs = wrench_majority_vote_proba(ds.test.weak.L, ds.n_classes)
    metric, want = PUBLISHED[name]
    fn = accuracy if metric == "acc" else f1
    got = 100 * float(fn(jnp.asarray(probs), ds.test.y, tie_rule="wrench"))
    assert round(got, 2) == want, (name, metric, got)
