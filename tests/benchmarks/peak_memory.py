"""Peak extra memory of one estimator's fit + predict_proba, measured in a fresh process.

Run by ``tests/benchmarks/test_memory.py`` (one subprocess per estimator, so one estimator's
allocations never count against another), or by hand from the repository root::

    python -m tests.benchmarks.peak_memory --estimator matrix_completion --L /tmp/L.npy --k 2

The label matrix is read from an int8 ``.npy`` file before the baseline is taken, so the number is
what a user's ``WeakLabels`` + ``fit`` + ``predict_proba`` add on top of holding ``L``: validation
copies, device transfers, compilation and every temporary. It reads the kernel's high-water mark
(``VmHWM`` in ``/proc/self/status``, Linux only) before and after and prints one JSON line.
"""

import argparse
import json
import time
from pathlib import Path


def high_water_mark_bytes() -> int:
    """The process's peak resident set size so far (Linux ``VmHWM``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory is measured on Linux only")


def reset_high_water_mark() -> bool:
    """Reset ``VmHWM`` to the current RSS (``echo 5 > /proc/self/clear_refs``); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", required=True, help="a conf/estimator/<name>.yaml option")
    parser.add_argument("--L", required=True, type=Path, help="int8 label matrix as .npy")
    parser.add_argument("--k", required=True, type=int, help="number of classes")
    args = parser.parse_args(argv)

    import jax
    import jax.random as jr
    import numpy as np

    from tests._utils import instantiate_estimator
    from wsbench.data import WeakLabels

    L = np.load(args.L)
    est = instantiate_estimator(args.estimator)
    jax.block_until_ready(jax.numpy.zeros(1))  # backend initialised before the baseline
    reset = reset_high_water_mark()
    baseline = high_water_mark_bytes()
    start = time.perf_counter()
    data = WeakLabels(L=L, n_classes=args.k)
    fitted = est.fit(data, key=jr.key(0))
    probs = jax.block_until_ready(fitted.predict_proba(data.L))
    seconds = time.perf_counter() - start
    peak = high_water_mark_bytes()
    out = {
        "estimator": args.estimator,
        "n": int(L.shape[0]),
        "m": int(L.shape[1]),
        "k": args.k,
        "L_dtype": str(L.dtype),
        "peak_extra_mb": (peak - baseline) / 2**20,
        "baseline_mb": baseline / 2**20,
        "hwm_reset": reset,
        "seconds_with_compile": seconds,
        "finite": bool(np.isfinite(np.asarray(probs)).all()),
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
