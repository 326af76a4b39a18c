"""``WeakLabels`` / ``Split`` / ``Dataset``: validation with clear messages, and the happy paths."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests._utils import instantiate_group
from wsbench.data import Dataset, Split, WeakLabels
from wsbench.labelmodels import (
    DawidSkene,
    FlyingSquid,
    MajorityVote,
    MatrixCompletion,
    set_params,
)

L_OK = np.array([[0, 1, -1], [1, 1, 0], [-1, -1, 2], [2, 0, 1], [0, -1, -1]])  # n=5, m=3, k=3


def weak(L=L_OK, n_classes=3, class_balance=None):
    return WeakLabels(L=L, n_classes=n_classes, class_balance=class_balance)


# ----------------------------------------------------------------------------------------------
# malformed inputs: (id, callable, regex the ValueError message must match)

MALFORMED = [
    ("L-float", lambda: weak(L_OK.astype(float)), r"integer array.*got dtype float64"),
    (
        "L-float-nan",
        lambda: weak(np.where(L_OK < 0, np.nan, L_OK)),
        r"NaN cannot encode an abstain",
    ),
    ("L-jax-float", lambda: weak(jnp.asarray(L_OK, jnp.float32)), r"integer array.*float32"),
    ("L-bool", lambda: weak(L_OK > 0), r"integer array.*got dtype bool"),
    ("L-str", lambda: weak(np.array([["a", "b"]])), r"integer array"),
    ("L-none", lambda: weak(None), r"L is None"),
    ("L-1d", lambda: weak(L_OK[:, 0]), r"must be 2-D.*got shape \(5,\).*L\[:, None\]"),
    ("L-3d", lambda: weak(L_OK[None]), r"must be 2-D.*got shape \(1, 5, 3\)"),
    ("L-below-minus-1", lambda: weak(np.where(L_OK < 0, -2, L_OK)), r"outside -1\.\.2.*\[-2\]"),
    ("L-equal-k", lambda: weak(L_OK, n_classes=2), r"outside -1\.\.1.*\[2\].*first at row 2, LF 2"),
    ("L-metal-convention", lambda: weak(L_OK + 1), r"outside -1\.\.2.*from_metal"),
    ("L-no-rows", lambda: weak(np.zeros((0, 3), int)), r"no rows"),
    ("L-no-columns", lambda: weak(np.zeros((4, 0), int)), r"no columns"),
    ("k-1", lambda: weak(np.zeros((2, 2), int), n_classes=1), r"n_classes must be >= 2, got 1"),
    ("k-0", lambda: weak(np.zeros((2, 2), int), n_classes=0), r"n_classes must be >= 2"),
    ("k-float", lambda: weak(n_classes=3.0), r"n_classes must be a Python int.*float"),
    (
        "k-bool",
        lambda: weak(np.zeros((2, 2), int), n_classes=True),
        r"n_classes must be a Python int.*bool",
    ),
    ("k-str", lambda: weak(n_classes="3"), r"n_classes must be a Python int"),
    (
        "cb-length",
        lambda: weak(class_balance=[0.5, 0.5]),
        r"class_balance must have shape \(3,\).*\(2,\)",
    ),
    (
        "cb-2d",
        lambda: weak(class_balance=[[0.2, 0.3, 0.5]]),
        r"class_balance must have shape \(3,\)",
    ),
    ("cb-negative", lambda: weak(class_balance=[-0.2, 0.6, 0.6]), r"finite and non-negative"),
    ("cb-sum", lambda: weak(class_balance=[0.2, 0.2, 0.2]), r"must sum to 1, got sum 0\.6"),
    ("cb-nan", lambda: weak(class_balance=[np.nan, 0.5, 0.5]), r"finite and non-negative"),
    ("cb-inf", lambda: weak(class_balance=[np.inf, 0.5, 0.5]), r"finite and non-negative"),
    ("split-weak-array", lambda: Split(weak=L_OK), r"Split\.weak must be a WeakLabels.*ndarray"),
    ("y-length", lambda: Split(weak(), y=np.zeros(4, int)), r"y must have shape \(5,\).*\(4,\)"),
    ("y-2d", lambda: Split(weak(), y=np.zeros((5, 1), int)), r"y must have shape \(5,\)"),
    (
        "y-range-high",
        lambda: Split(weak(), y=np.array([0, 1, 2, 3, 0])),
        r"y has values outside -1\.\.2.*\[3\]",
    ),
    (
        "y-range-low",
        lambda: Split(weak(), y=np.array([0, 1, 2, -5, 0])),
        r"y has values outside.*\[-5\]",
    ),
    ("y-float", lambda: Split(weak(), y=np.zeros(5)), r"y must be an integer array.*float64"),
    ("y-bool", lambda: Split(weak(), y=np.zeros(5, bool)), r"y must be an integer array.*bool"),
    (
        "x-rows",
        lambda: Split(weak(), x=np.zeros((4, 2))),
        r"x must have shape \(n, \.\.\.\) with n=5.*\(4, 2\)",
    ),
    ("x-1d", lambda: Split(weak(), x=np.zeros(5)), r"x must have shape \(n, \.\.\.\)"),
    ("x-str", lambda: Split(weak(), x=np.full((5, 2), "a")), r"x must be a numeric.*<U1"),
    ("x-object", lambda: Split(weak(), x=np.full((5, 2), None)), r"x must be a numeric.*object"),
    ("x-nan", lambda: Split(weak(), x=np.full((5, 2), np.nan)), r"x contains NaN or infinite"),
    ("x-inf", lambda: Split(weak(), x=np.full((5, 2), np.inf)), r"x contains NaN or infinite"),
    (
        "dataset-m",
        lambda: Dataset(Split(weak()), Split(weak(L_OK[:, :2])), Split(weak()), name="d"),
        r"Dataset 'd': splits have different numbers of LFs.*'valid': 2",
    ),
    (
        "dataset-k",
        lambda: Dataset(Split(weak()), Split(weak()), Split(weak(n_classes=4)), name="d"),
        r"Dataset 'd': splits disagree on n_classes.*'test': 4",
    ),
    (
        "dataset-not-split",
        lambda: Dataset(Split(weak()), weak(), Split(weak()), name="d"),
        r"Dataset\.valid must be a Split, got WeakLabels",
    ),
    (
        "set-params-unknown",
        lambda: set_params(DawidSkene(), alpha=1.0),
        r"no hyperparameter\(s\) \['alpha'\].*smoothing",
    ),
    (
        "set-params-mv",
        lambda: set_params(MajorityVote(), n_iter=3),
        r"MajorityVote has no hyperparameter",
    ),
]


@pytest.mark.parametrize("make,match", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_input_raises_clear_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_malformed_cases_are_many_and_distinct():
    ids = [m[0] for m in MALFORMED]
    assert len(ids) == len(set(ids)) >= 20


# estimators: fit needs WeakLabels; predict_proba validates against the fitted shape


# ----------------------------------------------------------------------------------------------
# estimator hyperparameters, fit keys and predict inputs (issue 10): (id, callable, error, regex)
# Every message names the argument and the fix.

L_FIT = np.array([[0, 1, 0, 1], [1, 1, 1, 0], [0, 0, 0, 0], [1, 1, -1, 1], [0, -1, 0, 0]])
W_FIT = WeakLabels(L=L_FIT, n_classes=2)
_KEY = jr.key(0)


def _csr(L):
    import scipy.sparse  # here, not at the top: importing it costs every pytest process ~0.5 s

    return scipy.sparse.csr_matrix(L)


def _fitted_mc():
    return MatrixCompletion(n_iter=2, class_balance_from="uniform").fit(W_FIT, key=_KEY)


ESTIMATOR_MALFORMED = [
    ("mc-lr-nan", lambda: MatrixCompletion(lr=float("nan")), ValueError, r"lr .*must be finite"),
    ("mc-lr-negative", lambda: MatrixCompletion(lr=-1), ValueError, r"lr .*\(0\.0, inf\).*-1"),
    ("mc-lr-zero", lambda: MatrixCompletion(lr=0.0), ValueError, r"MatrixCompletion\.lr"),
    ("mc-lr-str", lambda: MatrixCompletion(lr="0.01"), TypeError, r"lr must be a real number"),
    ("mc-l2-negative", lambda: MatrixCompletion(l2=-10), ValueError, r"l2 .*\[0\.0, inf\)"),
    (
        "mc-prec-init",
        lambda: MatrixCompletion(prec_init=1.5),
        ValueError,
        r"prec_init .*\[0\.0, 1\.0\]",
    ),
    ("mc-init-noise", lambda: MatrixCompletion(init_noise=-0.1), ValueError, r"init_noise"),
    (
        "mc-init-scale-inf",
        lambda: MatrixCompletion(init_scale=np.inf),
        ValueError,
        r"init_scale.*finite",
    ),
    (
        "mc-n-iter-zero",
        lambda: MatrixCompletion(n_iter=0),
        ValueError,
        r"n_iter must be an int >= 1",
    ),
    ("mc-n-iter-float", lambda: MatrixCompletion(n_iter=50.0), TypeError, r"n_iter must be an int"),
    ("mc-n-iter-bool", lambda: MatrixCompletion(n_iter=True), TypeError, r"n_iter must be an int"),
    (
        "mc-balance-choice",
        lambda: MatrixCompletion(class_balance_from="dev"),
        ValueError,
        r"class_balance_from must be one of",
    ),
    (
        "mc-optimizer",
        lambda: MatrixCompletion(optimizer="lbfgs"),
        ValueError,
        r"optimizer must be one of",
    ),
    (
        "mc-anchor-str",
        lambda: MatrixCompletion(anchor="yes"),
        TypeError,
        r"anchor must be True or False",
    ),
    (
        "mc-edges-triple",
        lambda: MatrixCompletion(edges=[[0, 1, 2]]),
        ValueError,
        r"edges must be pairs.*\[0, 1, 2\].*several pairs",
    ),
    ("mc-edges-float", lambda: MatrixCompletion(edges=[[0, 1.5]]), TypeError, r"int LF indices"),
    ("mc-edges-int", lambda: MatrixCompletion(edges=3), TypeError, r"list of LF index pairs"),
    (
        "mc-key-none",
        lambda: MatrixCompletion(n_iter=2).fit(W_FIT, key=None),
        TypeError,
        r"key=jax\.random\.key\(seed\)",
    ),
    (
        "mc-key-int",
        lambda: MatrixCompletion(n_iter=2).fit(W_FIT, key=0),
        TypeError,
        r"MatrixCompletion\.fit: key.*got 0",
    ),
    (
        "mc-key-float-array",
        lambda: MatrixCompletion(n_iter=2).fit(W_FIT, key=np.zeros(2)),
        TypeError,
        r"dtype float64.*jax\.random\.key",
    ),
    ("ds-key-none", lambda: DawidSkene().fit(W_FIT, key=None), TypeError, r"DawidSkene\.fit: key"),
    ("fs-key-int", lambda: FlyingSquid().fit(W_FIT, key=0), TypeError, r"FlyingSquid\.fit: key"),
    ("mv-key-int", lambda: MajorityVote().fit(W_FIT, key=0), TypeError, r"MajorityVote\.fit: key"),
    ("ds-smoothing-nan", lambda: DawidSkene(smoothing=np.nan), ValueError, r"smoothing .*finite"),
    (
        "ds-smoothing-negative",
        lambda: DawidSkene(smoothing=-1),
        ValueError,
        r"smoothing .*\[0\.0, inf\)",
    ),
    (
        "ds-n-iter-float",
        lambda: DawidSkene(n_iter=1.5),
        TypeError,
        r"DawidSkene\.n_iter must be an int",
    ),
    (
        "ds-init",
        lambda: DawidSkene(init="random"),
        ValueError,
        r"init must be one of.*vote_fraction",
    ),
    ("ds-abstain", lambda: DawidSkene(abstain="drop"), ValueError, r"abstain must be one of"),
    (
        "fs-aggregate",
        lambda: FlyingSquid(aggregate="mode"),
        ValueError,
        r"aggregate must be one of",
    ),
    ("fs-triplets", lambda: FlyingSquid(triplets="some"), ValueError, r"triplets must be one of"),
    (
        "cb-string",
        lambda: weak(class_balance="uniform"),
        TypeError,
        r"class_balance must be a \(k,\) array.*np\.full\(k, 1 / k\)",
    ),
    (
        "L-sparse",
        lambda: weak(_csr(np.maximum(L_OK, 0))),
        TypeError,
        r"sparse matrix.*toarray",
    ),
    (
        "predict-weak-labels",
        lambda: _fitted_mc().predict_proba(W_FIT),
        TypeError,
        r"got WeakLabels; pass its votes: predict_proba\(weak\.L\)",
    ),
]


@pytest.mark.parametrize(
    "make,error,match",
    [m[1:] for m in ESTIMATOR_MALFORMED],
    ids=[m[0] for m in ESTIMATOR_MALFORMED],
)
def test_malformed_estimator_input_raises_clear_error(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_numpy_ints_and_near_normalised_balances_are_accepted():
    """``n_iter=np.int64(50)`` works for every estimator with ``n_iter``; a class balance that sums
    to 1 within 1e-4 is normalised rather than returned as given."""
    for cls in (MatrixCompletion, DawidSkene):
        est = cls(n_iter=np.int64(3))
        assert type(est.n_iter) is int and est.n_iter == 3
    est = MatrixCompletion(
        n_iter=np.int32(2), class_balance_from="uniform", edges=[(np.int64(0), 1)]
    )
    assert est.edges == ((0, 1),)
    cb = WeakLabels(L=L_FIT, n_classes=2, class_balance=[0.50004, 0.5]).class_balance
    assert abs(float(cb.sum()) - 1.0) < 1e-6
    # a legacy raw key and a typed key are both accepted
    MajorityVote().fit(W_FIT, key=jax.random.PRNGKey(0))
    MajorityVote().fit(W_FIT, key=_KEY)


def test_swept_hyperparameters_are_not_checked_when_traced():
    """Under vmap the continuous hyperparameters are tracers; construction must not fail on them."""
    lrs = jnp.asarray([0.01, 0.02])
    out = jax.vmap(lambda lr: MatrixCompletion(n_iter=2, lr=lr).lr)(lrs)
    np.testing.assert_allclose(out, lrs)


@pytest.fixture(scope="module")
def estimators():
    return instantiate_group("estimator")


def test_fit_rejects_raw_array(estimators, key):
    checked = []
    for name, est in estimators.items():
        with pytest.raises(ValueError, match=r"fit expects wsbench\.data\.WeakLabels, got ndarray"):
            est.fit(L_OK, key=key)
        with pytest.raises(ValueError, match=r"WeakLabels, got ArrayImpl"):
            est.fit(jnp.asarray(L_OK), key=key)
        checked.append(name)
    # every estimator YAML was instantiated and checked (an empty group would check nothing)
    assert {"majority_vote", "dawid_skene", "matrix_completion"} <= set(checked)


@pytest.mark.parametrize(
    "bad,match",
    [
        (L_OK[:, :2], r"has 2 labeling functions \(columns\) but the model was fitted on 3"),
        (np.concatenate([L_OK, L_OK], axis=1), r"has 6 labeling functions"),
        (np.where(L_OK == 2, 3, L_OK), r"outside -1\.\.2"),
        (np.where(L_OK < 0, -7, L_OK), r"outside -1\.\.2"),
        (L_OK.astype(np.float32), r"integer array"),
        (L_OK[:, 0], r"must be 2-D"),
    ],
    ids=["fewer-lfs", "more-lfs", "value-k", "value-below", "float", "1d"],
)
def test_predict_proba_rejects_bad_L(estimators, key, bad, match):
    for est in estimators.values():
        fitted = est.fit(weak(), key=key)
        with pytest.raises(ValueError, match=match):
            fitted.predict_proba(bad)


# ----------------------------------------------------------------------------------------------
# happy paths


@pytest.mark.parametrize(
    "L",
    [L_OK, L_OK.astype(np.int64), L_OK.astype(np.int16), jnp.asarray(L_OK), L_OK.tolist()],
    ids=["numpy-int", "int64", "int16", "jax", "list"],
)
def test_weak_labels_accepts_int_inputs_as_int32(L):
    w = WeakLabels(L=L, n_classes=3)
    assert isinstance(w.L, jax.Array)
    assert w.L.dtype == jnp.int32
    np.testing.assert_array_equal(w.L, L_OK)
    assert (w.n, w.m, w.n_classes) == (5, 3, 3)
    assert w.class_balance is None


def test_weak_labels_keeps_int8_and_copies_it():
    """int8 stays int8 on the device (4x less memory than int32) and is a copy, not a view."""
    L = L_OK.astype(np.int8)
    w = WeakLabels(L=L, n_classes=3)
    assert w.L.dtype == jnp.int8
    np.testing.assert_array_equal(w.L, L_OK)
    L[0, 0] = 2  # changing the caller's array afterwards does not change the weak labels
    np.testing.assert_array_equal(w.L, L_OK)
    # k too large for the abstain-as-class-k recoding in int8: widened to int32
    assert WeakLabels(L=L_OK.astype(np.int8), n_classes=127).L.dtype == jnp.int32


def test_n_classes_numpy_int_and_class_balance():
    w = WeakLabels(L=L_OK, n_classes=np.int64(3), class_balance=[0.2, 0.3, 0.5])
    assert type(w.n_classes) is int and w.n_classes == 3
    assert w.class_balance.dtype == jnp.float32
    np.testing.assert_allclose(w.class_balance, [0.2, 0.3, 0.5])
    # class_balance is a leaf (may differ between datasets without recompiling); n_classes is static
    assert len(jax.tree.leaves(w)) == 2


def test_all_abstain_and_large_k_are_valid():
    w = WeakLabels(L=np.full((3, 2), -1), n_classes=2)
    assert int(w.L.min()) == -1
    w = WeakLabels(L=np.array([[99, -1]]), n_classes=100)
    assert w.m == 2


def test_weak_labels_is_a_pytree_usable_under_jit():
    w = weak(class_balance=[0.2, 0.3, 0.5])

    @eqx.filter_jit
    def f(data):
        # reconstruction inside jit (tracers) skips value checks but keeps shape/dtype checks
        inner = WeakLabels(L=data.L, n_classes=data.n_classes, class_balance=data.class_balance)
        return (inner.L >= 0).sum(), inner.class_balance.sum()

    votes, total = f(w)
    assert int(votes) == int((L_OK >= 0).sum())
    assert abs(float(total) - 1.0) < 1e-6
    w2 = jax.tree.map(lambda x: x, w)
    assert eqx.tree_equal(w, w2)


def test_split_and_dataset_happy_path(key):
    x = jr.normal(key, (5, 4))
    y = np.array([0, 1, -1, 2, 0])  # -1 = unknown gold label
    s = Split(weak(), y=y, x=x)
    assert s.n == 5
    assert s.y.dtype == jnp.int32
    np.testing.assert_array_equal(s.y, y)
    np.testing.assert_array_equal(s.x, x)
    assert Split(weak()).y is None and Split(weak()).x is None
    s_img = Split(weak(), x=np.zeros((5, 2, 2, 3), np.float32))  # images: (n, h, w, c)
    assert s_img.x.shape == (5, 2, 2, 3)
    d = Dataset(train=s, valid=Split(weak(L_OK[:2])), test=Split(weak(L_OK[2:])), name="toy")
    assert d.n_classes == 3
    assert d.name == "toy"
    assert d.valid.n == 2 and d.test.n == 3


def test_set_params_returns_new_validated_object():
    est = DawidSkene(n_iter=5)
    est2 = set_params(est, smoothing=0.5)
    assert est2 is not est and est2.smoothing == 0.5 and est2.n_iter == 5
    assert est.smoothing != 0.5
