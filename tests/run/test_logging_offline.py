"""wandb offline mode resolves no host name: no DNS query from Python, nor from wandb-core."""

import os
import socket
import sys
import types

import numpy as np
import pytest

from wsbench.run import logging as wslog


def test_offline_init_gets_the_no_network_settings(tmp_path, monkeypatch):
    seen = {}
    fake = types.ModuleType("wandb")

    class Settings(dict):
        def __init__(self, **kw):
            super().__init__(**kw)

    class Run:
        summary: dict = {}

        def log(self, *a, **k):
            pass

        def finish(self):
            pass

    def init(**kw):
        seen.update(kw)
        seen["env_error_reporting"] = os.environ.get("WANDB_ERROR_REPORTING")
        return Run()

    fake.Settings, fake.init = Settings, init
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_ERROR_REPORTING", raising=False)
    lg = wslog.WandbLogger()
    lg.start(out_dir=tmp_path, config={"a": 1}, group="g", job_type="t")
    assert seen["mode"] == "offline"
    for name, value in wslog.OFFLINE_SETTINGS.items():
        assert seen["settings"][name] == value, name
    assert seen["settings"]["x_disable_stats"] is True  # the system monitor probes metadata hosts
    assert seen["env_error_reporting"] == "false"  # Sentry would resolve sentry.io on an error
    lg.finish()

    # online keeps wandb's defaults (system metrics are the point there)
    seen.clear()
    monkeypatch.delenv("WANDB_ERROR_REPORTING", raising=False)
    lg = wslog.WandbLogger(mode="online")
    lg.start(out_dir=tmp_path, config={"a": 1}, group="g", job_type="t")
    assert "x_disable_stats" not in seen["settings"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_offline_run_resolves_no_host_name_in_python(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in (
        "HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "WANDB_DIR",
        "WANDB_CACHE_DIR",
        "WANDB_CONFIG_DIR",
        "WANDB_DATA_DIR",
    ):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    lookups = []

    def refuse(name):
        def fn(*args, **kwargs):
            lookups.append((name, args[:1]))
            raise OSError(f"test: {name} called in offline mode")

        return fn

    for name in (
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "getfqdn",
        "create_connection",
    ):
        monkeypatch.setattr(socket, name, refuse(name))
    lg = wslog.WandbLogger(project="wsbench-test")
    lg.start(out_dir=tmp_path / "job", config={"a": 1}, group="g", job_type="t")
    lg.log_traces({"objective": np.ones((1, 1, 3))})
    lg.log_summary({"objective": 0.5})
    lg.finish()
    assert lookups == []
