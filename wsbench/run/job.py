"""The job lifecycle every pipeline shares: output dir, config, skip-if-complete, cache, logger, write.

A pipeline's ``run(cfg, *, out_dir=None)`` is::

    job = Job.open(cfg, out_dir, check=my_checks)   # checks, skip test, compile cache, logger
    if job.done is not None:
        return job.done["summary"]                 # complete results for this config: skipped
    ...                                            # build objects (run/build.py), compute
    rows = [job.row({"estimator": name, "n": n}, values) for ...]
    return job.finish(rows, summary, job_type=name)  # atomic write, then the logger

The order is the same for every pipeline: the config is checked and the logger built *before* any
work (a bad logger config fails fast), results are written atomically (``results.write``) *before*
the logger sees them (a logger failure never loses results).
"""

import dataclasses
import gc
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from . import results
from .build import build_logger, flatten_config, override_columns
from .logging import Logger

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Job:
    """One job of a pipeline: where it writes, its resolved config and its logger.

    Attributes:
        cfg: the composed config; config: it resolved to plain containers (what is hashed/stored).
        out_dir: the job folder.
        done: the stored ``results.json`` when the folder already holds complete results for this
            config (then nothing else is set up), else None.
        logger: the built logger (None when ``done``).
    """

    cfg: DictConfig
    config: dict[str, Any]
    out_dir: Path
    done: dict[str, Any] | None = None
    logger: Logger | None = None
    _common: tuple[dict[str, Any], dict[str, Any]] | None = dataclasses.field(
        default=None, repr=False
    )

    @classmethod
    def open(
        cls,
        cfg: DictConfig,
        out_dir: str | os.PathLike | None = None,
        *,
        check: Callable[[DictConfig], Any] | None = None,
    ) -> "Job":
        """Resolve the config, run ``check(cfg)``, skip if complete, else set up the job.

        Args:
            cfg: the composed config; out_dir: the job folder (default: Hydra's output dir).
            check: the pipeline's config checks (raise ``ValueError``); run before the skip test
                so that a malformed config fails even where results exist.

        Raises:
            ValueError: from ``check``, a bad logger config, or no ``out_dir`` outside Hydra.
        """
        out_dir = Path(out_dir) if out_dir is not None else hydra_output_dir()
        config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        if check is not None:
            check(cfg)
        job = cls(cfg=cfg, config=config, out_dir=out_dir)
        job.done = results.is_complete(out_dir, config)
        if job.done is not None:
            log.info("skipping completed job %s (results.json matches this config)", out_dir)
            return job
        enable_compile_cache(cfg.get("jax_cache"))
        job.logger = build_logger(cfg)  # before any work: a bad logger config must not cost a fit
        return job

    def row(self, fields: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        """A result row: ``fields`` (what identifies it), the ``override.*`` columns, ``values``
        (the metrics) and the flattened config (``cfg.*``), in that column order."""
        if self._common is None:
            self._common = (override_columns(), flatten_config(self.config))
        overrides, flat = self._common
        return {**fields, **overrides, **values, **flat}

    def finish(
        self,
        rows: list[dict[str, Any]],
        summary: dict[str, float],
        *,
        job_type: str,
        traces: Mapping[str, Any] | None = None,
    ) -> dict[str, float]:
        """Write rows, summary (and traces) atomically, then hand them to the logger; returns ``summary``."""
        trace_arrays = None if traces is None else {k: np.asarray(v) for k, v in traces.items()}
        results.write(rows, self.out_dir, self.config, summary=summary, traces=trace_arrays)
        logger = self.logger if self.logger is not None else build_logger(self.cfg)
        logger.start(
            out_dir=self.out_dir,
            config=self.config,
            group=str(self.cfg.get("name", "")),
            job_type=job_type,
        )
        logger.log_rows(rows)
        if trace_arrays is not None:
            logger.log_traces(trace_arrays)
        logger.log_summary(summary)
        logger.finish()
        release_compiled_programs_if_needed()
        return summary


def hydra_output_dir() -> Path:
    """This Hydra job's output dir (``run(cfg)`` outside a Hydra app needs an explicit one)."""
    if not HydraConfig.initialized():
        raise ValueError("run(cfg) outside a Hydra app needs an explicit out_dir=...")
    return Path(HydraConfig.get().runtime.output_dir)


# Every XLA:CPU executable holds its own memory mappings; a process that keeps thousands of them
# (a long sweep of jobs in one process: Hydra's basic launcher) reaches the kernel's map limit
# (vm.max_map_count, 65530 by default), after which LLVM's next allocation fails inside the compiler
# and the process segfaults. Past this share of the limit, a finished job drops JAX's compiled
# programs (the persistent compilation cache, when on, makes the recompiles cheap).
MAP_SHARE_BEFORE_RELEASE = 0.5


def _memory_maps() -> tuple[int, int] | None:
    """(mappings this process holds, the kernel's limit), or None where /proc does not say."""
    try:
        with open("/proc/self/maps", "rb") as f:
            held = sum(1 for _ in f)
        with open("/proc/sys/vm/max_map_count") as f:
            limit = int(f.read())
    except (OSError, ValueError):
        return None
    return held, limit


def release_compiled_programs_if_needed(share: float = MAP_SHARE_BEFORE_RELEASE) -> bool:
    """Clear JAX's caches of compiled programs when this process holds more than ``share`` of the
    kernel's memory-map limit; returns whether it did."""
    maps = _memory_maps()
    if maps is None or maps[0] < share * maps[1]:
        return False
    log.info("releasing compiled programs: %d of %d memory maps held", *maps)
    jax.clear_caches()
    gc.collect()
    return True


def enable_compile_cache(path: str | None) -> None:
    """Use JAX's persistent compilation cache at ``path`` (shared by a sweep's jobs); None: off."""
    if path:
        jax.config.update("jax_compilation_cache_dir", str(Path(path).absolute()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
