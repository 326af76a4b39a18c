"""The entry points end to end, as a user runs them: sweeps, kill-and-resume, the submitit launcher.

Each test runs ``python experiments/labelmodel.py ...`` in a subprocess from the repository root,
with the sweep folder and JAX compile cache under pytest's tmp folder. All but the main-job test are
``slow`` (run with ``pytest -m slow tests/test_experiments.py``).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests._utils import REPO_ROOT, group_configs

ENTRY = REPO_ROOT / "experiments" / "labelmodel.py"
SKIP_LINE = "skipping completed job"


@pytest.fixture(scope="module")
def jax_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("jax_cache")


def _env():
    env = dict(os.environ)
    env.update(WANDB_MODE="disabled", JAX_PLATFORMS="cpu", HYDRA_FULL_ERROR="1")
    return env


def _cmd(sweep_dir, jax_cache, *overrides):
    return [
        sys.executable,
        str(ENTRY),
        *overrides,
        f"jax_cache={jax_cache}",
        f"hydra.sweep.dir={sweep_dir}",
    ]


def _run(sweep_dir, jax_cache, *overrides, timeout=600):
    proc = subprocess.run(
        _cmd(sweep_dir, jax_cache, *overrides),
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _complete_jobs(sweep_dir: Path) -> dict[str, int]:
    """{job folder name: mtime of its results.json} for every complete job."""
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/results.json")}


@pytest.mark.slow
def test_main_job_prints_table_and_writes_summary_png(tmp_path, jax_cache):
    """The README's main job (experiment=quickstart), cut to majority vote so it stays fast."""
    sweep = tmp_path / "sweep"
    out = _run(
        sweep,
        jax_cache,
        "experiment=quickstart",
        "debug=smoke",
        "hydra.sweeper.params.estimator=majority_vote",
    )
    assert "6 complete job(s)" in out  # 2 datasets x 3 data draws
    assert "test/accuracy" in out and "±" in out  # the estimator x metric table
    assert "synthetic_independent" in out and "synthetic_ds" in out
    assert (sweep / "summary.png").stat().st_size > 1000
    summary = pd.read_csv(sweep / "summary.csv")
    # one row per dataset: data draws are replicates (aggregated over), 3 draws x 2 smoke seeds
    assert len(summary) == 2 and (summary["n_seeds"] == 6).all()


@pytest.mark.slow
def test_sweep_over_every_estimator(tmp_path, jax_cache):
    sweep = tmp_path / "sweep"
    out = _run(
        sweep, jax_cache, "-m", "estimator=glob(*)", "seeds=3", "debug=smoke", "launcher=basic"
    )
    estimators = sorted(group_configs("estimator"))
    jobs = _complete_jobs(sweep)
    assert len(jobs) == len(estimators), sorted(jobs)
    for est in estimators:
        df = pd.read_parquet(sweep / f"debug=smoke,estimator={est},seeds=3" / "results.parquet")
        assert len(df) == 3 and set(df["estimator"]) == {est}
    assert f"{len(estimators)} complete job(s)" in out and (sweep / "summary.png").is_file()
    assert SKIP_LINE not in out


@pytest.mark.slow
def test_killed_sweep_resumes_missing_jobs_only(tmp_path, jax_cache):
    """Acceptance: run the glob sweep, SIGKILL it after the first job completes, run it again."""
    sweep = tmp_path / "sweep"
    overrides = ("-m", "estimator=glob(*)", "seeds=3", "debug=smoke", "launcher=basic")
    n_jobs = len(group_configs("estimator"))
    log = open(tmp_path / "first.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        _cmd(sweep, jax_cache, *overrides),
        cwd=REPO_ROOT,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not _complete_jobs(sweep) and proc.poll() is None:
            assert time.monotonic() < deadline, "no job completed within 300 s"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    before = _complete_jobs(sweep)
    assert 1 <= len(before), (tmp_path / "first.log").read_text()[-3000:]
    print(f"killed after {len(before)} of {n_jobs} jobs: {sorted(before)}")
    assert len(before) < n_jobs, "the sweep finished before it could be killed"

    out = _run(sweep, jax_cache, *overrides)
    after = _complete_jobs(sweep)
    assert len(after) == n_jobs, sorted(after)
    # completed jobs were skipped (their results untouched); only the missing ones ran
    assert out.count(SKIP_LINE) == len(before), out[-3000:]
    for job, mtime in before.items():
        assert after[job] == mtime, job
    for job in after:  # every job holds complete, readable results
        rows = pd.read_parquet(sweep / job / "results.parquet")
        assert len(rows) == 3 and rows["test/accuracy"].notna().all()
        assert (sweep / job / "config.yaml").is_file() and (sweep / job / "traces.npz").is_file()
    assert not list(sweep.rglob("*.tmp"))
    assert f"{n_jobs} complete job(s)" in out

    # a third run has nothing left to do
    again = _run(sweep, jax_cache, *overrides)
    assert again.count(SKIP_LINE) == n_jobs
    assert _complete_jobs(sweep) == after


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_job(tmp_path, jax_cache):
    sweep = tmp_path / "sweep"
    out = _run(
        sweep,
        jax_cache,
        "-m",
        "estimator=majority_vote",
        "debug=smoke",
        "launcher=local",
        "hydra.launcher.timeout_min=10",
    )
    jobs = _complete_jobs(sweep)
    assert list(jobs) == ["debug=smoke,estimator=majority_vote"], out[-3000:]
    assert (sweep / ".submitit").is_dir()  # the job ran through submitit, not in-process
    assert "1 complete job(s)" in out


@pytest.mark.slow
def test_smoke_experiment_runs(tmp_path, jax_cache):
    sweep = tmp_path / "sweep"
    out = _run(sweep, jax_cache, "experiment=smoke", "debug=smoke")
    n = 2 * len(group_configs("estimator"))
    assert len(_complete_jobs(sweep)) == n and f"{n} complete job(s)" in out
    assert (sweep / "summary.png").is_file()
