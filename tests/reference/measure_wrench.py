"""Measure every estimator YAML on the vendored WRENCH sets (fit on train without gold, score test).

Protocol of issue 13: fit on the train split (chemprot has none: fit on valid), no gold labels and no
class balance given to the model; test accuracy and F1 with ties scored as the expectation under
uniform random tie-breaking (``wsbench.metrics``) and, for reference, with the WRENCH/snorkel
hash-based tie rule (``tie_rule="wrench"``).

Run from the repository root:
    WSBENCH_DATA_MIRROR=<mirror> python -m tests.reference.measure_wrench [--json out.json]
"""

import argparse
import json
import os
import pathlib

import jax.random as jr
import yaml

from wsbench.data import WeakLabels, load_wrench
from wsbench.metrics import accuracy, f1

CONF = pathlib.Path(__file__).resolve().parents[2] / "conf" / "estimator"
SETS = ("wrench_youtube", "wrench_sms", "wrench_chemprot")


def instantiate(path: pathlib.Path):
    cfg = yaml.safe_load(path.read_text())
    module, name = cfg.pop("_target_").rsplit(".", 1)
    import importlib

    cls = getattr(importlib.import_module(module), name)
    if "edges" in cfg:
        cfg["edges"] = tuple(tuple(e) for e in cfg["edges"])
    return cls(**cfg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", nargs="*", default=None, help="estimator YAML stems")
    args = ap.parse_args()
    mirror = pathlib.Path(os.environ["WSBENCH_DATA_MIRROR"])
    rows = {}
    for path in sorted(CONF.glob("*.yaml")):
        if args.only and path.stem not in args.only:
            continue
        est = instantiate(path)
        for name in SETS:
            ds = load_wrench(mirror / name, missing_train="valid")
            fit_split = ds.train
            weak = WeakLabels(L=fit_split.weak.L, n_classes=ds.n_classes)
            fitted = est.fit(weak, key=jr.key(0))
            probs = fitted.predict_proba(ds.test.weak.L)
            y = ds.test.y
            cell = {"acc": 100 * float(accuracy(probs, y)), "f1": 100 * float(f1(probs, y))}
            cell["acc_wrench_tie"] = 100 * float(accuracy(probs, y, tie_rule="wrench"))
            cell["f1_wrench_tie"] = 100 * float(f1(probs, y, tie_rule="wrench"))
            if hasattr(fitted, "diagnostics"):
                d = fitted.diagnostics(weak.L)
                cell["fit_rows_n_predicted_classes"] = int(d["n_predicted_classes"])
                cell["share_votes_not_own_class"] = round(float(d["share_votes_not_own_class"]), 3)
            rows[(path.stem, name)] = cell
            print(path.stem, name, {a: round(b, 2) for a, b in cell.items()}, flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(
            json.dumps({f"{a}|{b}": v for (a, b), v in rows.items()}, indent=1)
        )


if __name__ == "__main__":
    main()
