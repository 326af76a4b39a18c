"""Peak memory of ``fit_chunked`` + ``predict_proba_chunked`` from a memory-mapped ``.npy``.

Run by ``tests/benchmarks/test_memory_chunked.py`` (one subprocess per estimator), or by hand::

    python -m tests.benchmarks.peak_memory_chunked --estimator matrix_completion --L /tmp/L.npy --k 2
    python -m tests.benchmarks.peak_memory_chunked --estimator dawid_skene --set tol=1e-5 --L ...

``L`` is opened with ``np.load(mmap_mode="r")`` and never loaded whole; predictions go to a
``.npy`` memmap beside it. Pages of a file mapping that have been read count in the resident set
until the kernel drops them, so besides the high-water mark (``VmHWM``, file pages included) it
reports the peak anonymous memory (``RssAnon``, sampled every 5 ms: the process's own
allocations, which is what does not scale with the file).
"""

import argparse
import dataclasses
import json
import threading
import time
from pathlib import Path

import yaml

from tests.benchmarks.peak_memory import high_water_mark_bytes, reset_high_water_mark


def rss_anon_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


class AnonSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss_anon_bytes()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_anon_bytes())
            time.sleep(0.005)


def _parse_value(text: str):
    """YAML, plus the exponent floats YAML 1.1 reads as strings (``1e-5``)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", required=True, help="a conf/estimator/<name>.yaml option")
    parser.add_argument("--L", required=True, type=Path, help="int8 label matrix as .npy")
    parser.add_argument("--k", required=True, type=int)
    parser.add_argument("--chunk-rows", type=int, default=1 << 18)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a hyperparameter of the preset (VALUE read as YAML), e.g. tol=1e-5",
    )
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects NAME=VALUE, got {item!r}")
        overrides[name] = _parse_value(value)

    import jax
    import jax.random as jr
    import numpy as np

    from tests._utils import instantiate_estimator
    from wsbench.labelmodels import fit_chunked, predict_proba_chunked

    L = np.load(args.L, mmap_mode="r")
    n = int(L.shape[0])
    est = instantiate_estimator(args.estimator)
    est = dataclasses.replace(est, **overrides)  # validated like any construction
    jax.block_until_ready(jax.numpy.zeros(1))
    reset = reset_high_water_mark()
    baseline, anon0 = high_water_mark_bytes(), rss_anon_bytes()
    sampler = AnonSampler()
    sampler.start()
    start = time.perf_counter()
    fitted = fit_chunked(est, L, n_classes=args.k, key=jr.key(0), chunk_rows=args.chunk_rows)
    fit_s = time.perf_counter() - start
    out_path = args.L.with_name(args.L.stem + f"_probs_{args.estimator}.npy")
    out = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=(n, args.k))
    predict_proba_chunked(fitted, L, out=out, chunk_rows=args.chunk_rows)
    out.flush()
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    finite = bool(np.isfinite(out[:: max(1, n // 100_000)]).all())
    del out
    out_path.unlink()
    result = {
        "estimator": args.estimator,
        "overrides": overrides,
        "n": n,
        "m": int(L.shape[1]),
        "k": args.k,
        "L_mb": L.nbytes / 2**20,
        "chunk_rows": args.chunk_rows,
        "peak_extra_mb_hwm": (high_water_mark_bytes() - baseline) / 2**20,
        "peak_extra_mb_anon": (sampler.peak - anon0) / 2**20,
        "hwm_reset": reset,
        "fit_seconds_with_compile": fit_s,
        "seconds_with_compile": seconds,
        "n_iter_run": int(fitted.trace["ran"].sum()) if "ran" in fitted.trace else None,
        "finite": finite,
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
