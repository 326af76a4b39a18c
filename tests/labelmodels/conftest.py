"""The contract suite's split between the default run and the slow pass.

Every (config, check) pair runs in CI (its second pass runs ``-m slow``). The default run keeps every
check on the first config of each estimator class (``dawid_skene``, ``flying_squid``,
``majority_vote``, ``matrix_completion``: alphabetical) and every config on all but the three costliest
checks; those three (measured: 20-50 s a pair on 2 cores) on the further configs of a class
(``snorkel_label_model``, a new YAML of an existing class) are marked slow. A new estimator class runs every check by default.
"""

import pytest

COSTLY_CHECKS = {
    "check_beats_chance_on_easy_data",
    "check_output_is_distribution",
    "check_latent_classes_named_by_lf_agreement",
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects on the marks
def pytest_collection_modifyitems(config, items):
    first_config_of_class: dict[type, str] = {}
    contract = [i for i in items if getattr(i, "originalname", None) == "test_contract"]
    for item in sorted(contract, key=lambda i: i.callspec.id):
        name = item.callspec.id.split("-check_")[0]
        first_config_of_class.setdefault(type(item.callspec.params["estimator"]), name)
    for item in contract:
        name = item.callspec.id.split("-check_")[0]
        check = item.callspec.params["check"].__name__
        primary = first_config_of_class[type(item.callspec.params["estimator"])] == name
        if check in COSTLY_CHECKS and not primary:
            item.add_marker(pytest.mark.slow)
