"""The chunked-memory benchmark script's ``--set`` overrides (run in the default suite: no timing)."""

import numpy as np
import pytest

from tests.benchmarks.peak_memory_chunked import _parse_value, main


def test_parse_value_reads_yaml_and_exponent_floats():
    assert _parse_value("1e-5") == pytest.approx(1e-5)  # YAML 1.1 reads this as a string
    assert _parse_value("3") == 3 and _parse_value("true") is True
    assert _parse_value("vote_fraction") == "vote_fraction"


@pytest.fixture
def tiny_L(tmp_path):
    path = tmp_path / "L.npy"
    rng = np.random.default_rng(0)
    np.save(path, rng.integers(-1, 2, size=(64, 4), dtype=np.int8))
    return path


def test_set_without_equals_is_a_usage_error(tiny_L, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--estimator", "dawid_skene", "--L", str(tiny_L), "--k", "2", "--set", "tol"])
    assert err.value.code == 2
    assert "--set expects NAME=VALUE" in capsys.readouterr().err


def test_set_with_a_bad_value_names_the_hyperparameter(tiny_L):
    with pytest.raises(TypeError, match="DawidSkene.tol"):
        main(["--estimator", "dawid_skene", "--L", str(tiny_L), "--k", "2", "--set", "tol=abc"])


def test_set_overrides_the_preset(tiny_L, capsys):
    result = main(
        ["--estimator", "dawid_skene", "--L", str(tiny_L), "--k", "2", "--set", "n_iter=3"]
    )
    assert result["overrides"] == {"n_iter": 3} and result["n_iter_run"] == 3 and result["finite"]
