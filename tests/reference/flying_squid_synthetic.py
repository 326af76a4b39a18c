"""FlyingSquid on synthetic truth: the recovery rate and the Bayes gap (the numbers behind the tests).

From the repository root: ``python -m tests.reference.flying_squid_synthetic`` (key 0; the tests use
per-test keys and assert the bars).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from wsbench.data import WeakLabels
from wsbench.labelmodels import FlyingSquid, MajorityVote
from wsbench.metrics import accuracy
from wsbench.synthetic import bayes_posterior, sample_independent


def main() -> None:
    key = jr.key(0)
    sizes = [1000, 4000, 16_000, 64_000]
    errors = []
    for n in sizes:
        errs = []
        for seed in range(8):
            kd, kf = jr.split(jr.fold_in(key, seed))
            sim = sample_independent(kd, n=n, m=8, accuracy=(0.6, 0.9), propensity=0.5)
            f = FlyingSquid().fit(sim.weak, key=kf)
            errs.append(float(jnp.abs(f.confusions() - sim.confusions).mean()))
        errors.append(np.mean(errs))
    print(
        "confusion MAE",
        dict(zip(sizes, np.round(errors, 5), strict=True)),
        "slope",
        np.polyfit(np.log(sizes), np.log(errors), 1)[0],
    )
    for cb in (None, (0.7, 0.3)):
        sim = sample_independent(
            key, n=20_000, m=10, accuracy=(0.55, 0.85), propensity=0.4, class_balance=cb
        )
        w = WeakLabels(sim.weak.L, 2, class_balance=cb)
        a = float(accuracy(FlyingSquid().fit(w, key=key).predict_proba(w.L), sim.y))
        b = float(accuracy(bayes_posterior(sim, w.L), sim.y))
        print("binary cb", cb, "FS", a, "Bayes", b, "gap", b - a)
    sim = sample_independent(key, n=20_000, m=10, n_classes=4, accuracy=(0.5, 0.85), propensity=0.5)
    a = float(accuracy(FlyingSquid().fit(sim.weak, key=key).predict_proba(sim.weak.L), sim.y))
    b = float(accuracy(bayes_posterior(sim, sim.weak.L), sim.y))
    mv = float(accuracy(MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L), sim.y))
    print("k=4 FS", a, "Bayes", b, "MV", mv)


if __name__ == "__main__":
    main()
