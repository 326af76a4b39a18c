"""The array annotations hold at run time: every estimator YAML's happy path under jaxtyping's checker.

A subprocess imports ``wsbench`` through ``jaxtyping.install_import_hook`` (every annotated function
and Equinox module of the package is checked with beartype: dtypes, and shapes consistent across
arguments, e.g. ``predict_proba(L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]``), then runs the
fit / predict / vmap contract checks and the metrics on each estimator. It runs in its own process
because the checker must wrap the package before anything imports it, and because the malformed-input
tests elsewhere expect wsbench's own ``ValueError``s, which the checker would pre-empt.
"""

import subprocess
import sys
import textwrap

import pytest

from tests._utils import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import jaxtyping

    with jaxtyping.install_import_hook(["wsbench"], "beartype.beartype"):
        import wsbench.labelmodels
        import wsbench.metrics
        from wsbench.labelmodels import checks

    import jax.numpy as jnp
    import jax.random as jr

    from tests._utils import estimator_configs, instantiate_config

    # the checker is on: a label vector one row short of the probabilities is refused by it
    try:
        wsbench.metrics.accuracy(jnp.full((5, 2), 0.5), jnp.zeros(4, jnp.int32))
    except jaxtyping.TypeCheckError:
        pass
    else:
        raise SystemExit("jaxtyping's import hook did not check wsbench.metrics.accuracy")

    key = jr.key(0)
    happy = (
        checks.check_output_is_distribution,
        checks.check_uncovered_rows_get_prior,
        checks.check_all_abstain_lf_is_ignored,
        checks.check_grid_stacking,
    )
    for name, path in sorted(estimator_configs().items()):
        est = instantiate_config(path)
        for check in happy:
            check(est, key=key)
        print("typechecked", name, flush=True)
    """
)


@pytest.mark.slow  # a subprocess fitting every estimator YAML with checked calls (~1 min)
def test_annotations_hold_under_jaxtyping_runtime_checks():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    checked = [
        line.split()[1] for line in proc.stdout.splitlines() if line.startswith("typechecked")
    ]
    from tests._utils import estimator_configs

    assert sorted(checked) == sorted(estimator_configs())
