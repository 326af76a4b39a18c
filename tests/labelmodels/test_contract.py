"""Every ``conf/estimator/*.yaml`` x every contract check, plus the registry guard."""

import inspect

import pytest
from omegaconf import OmegaConf

import wsbench.labelmodels as labelmodels
from tests._utils import estimator_configs, instantiate_config
from wsbench.labelmodels import AbstractLabelModel
from wsbench.labelmodels.checks import parametrize_with_checks


class _BrokenConfig:
    """Stands in for an option file that does not instantiate, so collection still succeeds."""

    def __init__(self, path, err):
        self.path, self.err = path, err


def _estimators() -> dict:
    out = {}
    for name, path in estimator_configs().items():
        try:
            out[name] = instantiate_config(path)
        except Exception as err:  # noqa: BLE001 - reported by test_contract
            out[name] = _BrokenConfig(path, err)
    return out


@parametrize_with_checks(_estimators())
def test_contract(estimator, check, key):
    if isinstance(estimator, _BrokenConfig):
        pytest.fail(
            f"conf/estimator/{estimator.path.name} does not instantiate: {estimator.err!r}. "
            "Its `_target_` must be an estimator class and its keys that class's fields."
        )
    check(estimator, key=key)


def _exported_estimators() -> dict[str, type]:
    """Concrete ``AbstractLabelModel`` subclasses in ``wsbench.labelmodels.__all__``."""
    out = {}
    for name in labelmodels.__all__:
        obj = getattr(labelmodels, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, AbstractLabelModel)
            and not inspect.isabstract(obj)
        ):
            out[f"wsbench.labelmodels.{name}"] = obj
    return out


def _config_targets() -> dict[str, str]:
    """``{yaml file name: _target_}`` for every estimator config."""
    return {
        f"conf/estimator/{path.name}": OmegaConf.to_container(OmegaConf.load(path)).get(
            "_target_", ""
        )
        for path in estimator_configs().values()
    }


def test_there_are_estimator_configs():
    assert estimator_configs(), (
        "conf/estimator/ has no *.yaml files: the benchmark has no estimators."
    )


def test_every_exported_estimator_has_a_config():
    targets = set(_config_targets().values())
    missing = [t for t in _exported_estimators() if t not in targets]
    assert not missing, (
        f"exported estimator(s) {missing} have no conf/estimator/*.yaml, so they silently drop out "
        "of every experiment and of the contract tests. Add conf/estimator/<snake_name>.yaml with "
        "`_target_: wsbench.labelmodels.<ClassName>` and its constructor arguments."
    )


def test_every_config_targets_an_exported_estimator():
    exported = _exported_estimators()
    bad = {f: t for f, t in _config_targets().items() if t not in exported}
    assert not bad, (
        f"config(s) {bad} do not target an estimator exported by wsbench.labelmodels "
        f"(exported: {sorted(exported)}). Use `_target_: wsbench.labelmodels.<ClassName>` and add "
        "the "
        "class to wsbench/labelmodels/__init__.py (__all__)."
    )


def test_config_files_hold_only_constructor_arguments():
    import dataclasses

    exported = _exported_estimators()
    for path in estimator_configs().values():
        cfg = OmegaConf.to_container(OmegaConf.load(path))
        cls = exported.get(cfg.get("_target_"))
        if cls is None:
            continue  # reported by test_every_config_targets_an_exported_estimator
        fields = {f.name for f in dataclasses.fields(cls)}
        extra = set(cfg) - {"_target_"} - fields
        assert not extra, (
            f"conf/estimator/{path.name} has keys {sorted(extra)} that are not fields of "
            f"{cls.__name__} ({sorted(fields)}); option files hold only constructor arguments."
        )


# ----------------------------------------------------------------------------------------------
# The checks themselves: a well-behaved toy estimator passes every check, and each deliberately
# broken variant is caught by the check written for that defect.

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jaxtyping import Array, Float  # noqa: E402

from wsbench.data import vote_counts  # noqa: E402
from wsbench.labelmodels import AbstractFitted, check_weak_labels, checked_L  # noqa: E402
from wsbench.labelmodels import checks as C  # noqa: E402

_IMPURE_CALLS = [0]


class _ToyFitted(AbstractFitted):
    log_prior: Float[Array, " k"]
    bias: Float[Array, " k"]
    n_lfs: int = eqx.field(static=True)
    defect: str = eqx.field(static=True)
    trace: dict

    def predict_proba(self, L):
        k = self.log_prior.shape[0]
        if self.defect == "no_validation":
            L = jnp.asarray(L)
        else:
            L = checked_L(L, n_classes=k, n_lfs=self.n_lfs)
        counts = vote_counts(L, k)
        scale = 2.0 / self.n_lfs if self.defect == "depends_on_m" else 2.0
        logits = self.log_prior[None, :] + scale * counts + self.bias[None, :]
        if self.defect == "jit_differs" and isinstance(L, jax.core.Tracer):
            logits = logits + jnp.arange(k, dtype=jnp.float32)[None, :]
        if self.defect == "constant":
            logits = jnp.broadcast_to(self.log_prior[None, :], logits.shape)
        if self.defect == "unnormalized":
            return jnp.exp(logits)
        probs = jax.nn.softmax(logits, axis=-1)
        if self.defect == "uncovered_class0":
            uncovered = (counts.sum(axis=1) == 0)[:, None]
            probs = jnp.where(uncovered, jax.nn.one_hot(jnp.zeros_like(L[:, 0]), k), probs)
        return probs


class _Toy(AbstractLabelModel):
    """A weighted vote, softmax(log prior + 2 * votes); ``defect`` switches on one violation."""

    defect: str = eqx.field(static=True, default="none")

    def fit(self, data, *, key):
        del key
        if self.defect != "no_validation":
            data = check_weak_labels(data)
        k = data.n_classes
        prior = jnp.full((k,), 1.0 / k) if data.class_balance is None else data.class_balance
        bias = jnp.zeros((k,))
        if self.defect == "impure":
            _IMPURE_CALLS[0] += 1
            bias = bias.at[0].set(0.1 * _IMPURE_CALLS[0])
        if self.defect == "first_row":
            bias = vote_counts(data.L[:1], k)[0]
        return _ToyFitted(
            log_prior=jnp.log(prior),
            bias=bias,
            n_lfs=data.m,
            defect=self.defect,
            trace={"objective": jnp.zeros(3)},
        )


class _TupleField(AbstractLabelModel):
    """Has a tuple field but no converter: a YAML list would come back as a list."""

    weights: tuple = eqx.field(static=True, default=(1, 2))

    def fit(self, data, *, key):
        return _Toy().fit(data, key=key)


@pytest.mark.parametrize("check", C.ALL_CHECKS, ids=lambda c: c.__name__)
def test_checks_pass_on_a_correct_estimator(check, key):
    check(_Toy(), key=key)


@pytest.mark.parametrize(
    "est,check,match",
    [
        (_Toy("unnormalized"), C.check_output_is_distribution, "sum to 1"),
        (_Toy("jit_differs"), C.check_jit_matches_eager, "jitted"),
        (_Toy("impure"), C.check_same_key_same_result, "same key"),
        (_Toy("depends_on_m"), C.check_all_abstain_lf_is_ignored, "all-abstain"),
        (_Toy("uncovered_class0"), C.check_uncovered_rows_get_prior, "no votes"),
        (_Toy("first_row"), C.check_row_permutation_equivariance, "permuted"),
        (_Toy("constant"), C.check_beats_chance_on_easy_data, "accuracy"),
        (_Toy("no_validation"), C.check_rejects_bad_input, "ValueError|did not raise"),
        (_TupleField(), C.check_config_roundtrip, "round trip"),
    ],
    ids=lambda v: (
        getattr(v, "__name__", None) if callable(v) and not isinstance(v, eqx.Module) else None
    ),
)
def test_checks_catch_violations(est, check, match, key):
    with pytest.raises(AssertionError, match=match):
        check(est, key=key)


def test_parametrize_with_checks_ids():
    mark = C.parametrize_with_checks({"toy": _Toy()}, checks=C.ALL_CHECKS[:2])
    assert mark.args[0] == "estimator,check"
    assert mark.kwargs["ids"] == [f"toy-{c.__name__}" for c in C.ALL_CHECKS[:2]]
    mark = C.parametrize_with_checks([_Toy()])
    assert mark.kwargs["ids"][0] == "_Toy-check_output_is_distribution"
