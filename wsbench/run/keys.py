"""The one list of config keys that do not affect results (no Hydra, no JAX: imported everywhere).

They are left out of the config hash that decides skip-if-complete (``results``), out of the
``override.<key>`` result columns (``build.override_columns``) and out of the multirun folder names
(``exclude_keys`` in ``conf/hydra/default.yaml``, checked equal by ``tests/test_configs.py``).
"""

NOT_RESULT_KEYS = ("experiment", "jax_cache", "launcher", "logger", "progress")
"""Where and how a job runs (launcher, logger, cache, progress bar, which preset), never what it computes."""
