"""Every estimator config (``conf/estimator/*.yaml``) x every contract check, plus the registry guard."""

import inspect

from omegaconf import OmegaConf

import wsbench.labelmodels as labelmodels
from tests._utils import estimator_configs, instantiate_group
from wsbench.labelmodels import AbstractLabelModel
from wsbench.labelmodels.checks import parametrize_with_checks


@parametrize_with_checks(instantiate_group("estimator"))
def test_contract(estimator, check, key):
    check(estimator, key=key)


def _exported_estimators() -> dict[str, type]:
    """Concrete ``AbstractLabelModel`` subclasses in ``wsbench.labelmodels.__all__``."""
    out = {}
    for name in labelmodels.__all__:
        obj = getattr(labelmodels, name)
        if inspect.isclass(obj) and issubclass(obj, AbstractLabelModel) and not inspect.isabstract(obj):
            out[f"wsbench.labelmodels.{name}"] = obj
    return out


def _config_targets() -> dict[str, str]:
    """``{yaml file name: _target_}`` for every estimator config."""
    return {
        f"conf/estimator/{path.name}": OmegaConf.to_container(OmegaConf.load(path)).get("_target_", "")
        for path in estimator_configs().values()
    }


def test_there_are_estimator_configs():
    assert estimator_configs(), "conf/estimator/ has no *.yaml files: the benchmark has no estimators."


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
        f"(exported: {sorted(exported)}). Use `_target_: wsbench.labelmodels.<ClassName>` and add the "
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
