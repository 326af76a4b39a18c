"""Row-sharded fits over 4 forced host devices equal the single-device fit (subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
import jax, jax.random as jr, numpy as np
from wsbench.data import WeakLabels
from wsbench.labelmodels import DawidSkene, MajorityVote, MatrixCompletion, shard_rows
from wsbench.synthetic import sample_dawid_skene

assert len(jax.devices()) == 4, jax.devices()
L = np.asarray(sample_dawid_skene(jr.key(0), n=800, m=6, n_classes=3).weak.L)
Ls = shard_rows(L)
out = {"n_shards": len(Ls.sharding.device_set),
       "shard_rows": sorted({s.data.shape[0] for s in Ls.addressable_shards})}
for name, est in [("mv", MajorityVote()), ("ds", DawidSkene(n_iter=20, tol=1e-5)),
                  ("mc", MatrixCompletion(n_iter=100))]:
    key = jr.key(1)
    one = est.fit(WeakLabels(L=L, n_classes=3), key=key)
    many = est.fit(WeakLabels(L=Ls, n_classes=3), key=key)
    out[name] = float(np.abs(np.asarray(one.predict_proba(L)) - np.asarray(many.predict_proba(Ls))).max())
try:
    shard_rows(L[:799])
except ValueError as e:
    out["uneven"] = str(e)
print("RESULT", json.dumps(out))
"""


def test_sharded_equals_single_device():
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env = dict(os.environ, XLA_FLAGS=flags.strip(), JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, proc.stdout[-2000:]
    out = json.loads(line[0][len("RESULT ") :])
    assert out["n_shards"] == 4 and out["shard_rows"] == [200]
    for name in ("mv", "ds", "mc"):
        assert out[name] <= 1e-5, (name, out[name])
    assert "do not split evenly" in out["uneven"]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
