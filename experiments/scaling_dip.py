"""Diagnostic for the synthetic scaling figure: the end model is sensitive to the label model's
class balance (issue 9, the old figure's dip at n >= 3e4 with MatrixCompletion).

For the scaling experiment's data (``conf/experiment/scaling.yaml``, matrix completion) and each
size ``n`` and seed of the runner (same keys, same nested subsamples), prints the class balance
MatrixCompletion uses, its test accuracy, and the end model's test accuracy trained on

- its soft labels as fitted, and
- the same soft labels tilted to a wrong class balance ``--tilt`` (``q' ∝ q * tilt / prior``):
  what a label model that estimated ``P(Y = 1) = tilt`` (instead of the true 0.50) hands the end
  model. 0.562 is the balance the pre-fix MatrixCompletion estimated on all 1e5 rows.

python experiments/scaling_dip.py [--sizes 10000,100000] [--tilt 0.562]
"""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from wsbench import metrics
from wsbench.endmodels import votes_weight
from wsbench.run.build import build, build_dataset, build_estimator
from wsbench.run.seeding import named_key, root_key
from wsbench.synthetic import dataset_with_features

CONF = Path(__file__).resolve().parents[1] / "conf"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--tilt", type=float, default=0.562)
    args = parser.parse_args(argv)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("endmodel", overrides=["experiment=scaling", "estimator=matrix_completion"])
    data = build_dataset(cfg)
    feats = OmegaConf.to_container(cfg.features, resolve=True)
    data = dataset_with_features(data, named_key(root_key(cfg.data_seed), "features"), **feats)
    estimator = build_estimator(cfg)
    endmodel = build(cfg.endmodel, "endmodel", "logreg")
    test = data.test

    @jax.jit
    def end_accuracy(x, q, w, key):
        fitted = endmodel.fit(x, q, weights=w, key=key)
        return metrics.accuracy(fitted.predict_proba(test.x), test.y)

    tilt = jnp.asarray([1.0 - args.tilt, args.tilt], jnp.float32)
    print(f"true train balance P(Y=1) = {float((data.train.y == 1).mean()):.4f}")
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    for n in (int(v) for v in args.sizes.split(",")):
        fitted_acc, tilted_acc = [], []
        for s, key in enumerate(keys):
            k_perm, k_lm, _, k_soft, _, _ = jr.split(key, 6)  # the runner's split (_scale_point)
            part = data.train.subset(jr.permutation(k_perm, data.train.n)[:n])
            fitted = estimator.fit(part.weak, key=k_lm)
            prior = fitted.class_prior()
            q = fitted.predict_proba(part.weak.L)
            q_tilt = q * (tilt / prior)[None, :]
            q_tilt = q_tilt / q_tilt.sum(axis=1, keepdims=True)
            w = votes_weight(part.weak.L)
            fitted_acc.append(float(end_accuracy(part.x, q, w, k_soft)))
            tilted_acc.append(float(end_accuracy(part.x, q_tilt, w, k_soft)))
            lm = float(metrics.accuracy(fitted.predict_proba(test.weak.L), test.y))
            print(
                f"n={n} seed={s} MC P(Y=1)={float(prior[1]):.3f} MC test acc={lm:.4f} "
                f"EM test acc: fitted {fitted_acc[-1]:.4f}, tilted to {args.tilt} "
                f"{tilted_acc[-1]:.4f}"
            )
        for name, v in (("fitted", fitted_acc), (f"tilted {args.tilt}", tilted_acc)):
            v = np.asarray(v)
            sem = v.std(ddof=1) / np.sqrt(v.size)
            print(
                f"n={n} EM on {name} soft labels: {v.mean():.4f} ± {sem:.4f} (sem, {v.size} seeds)"
            )


if __name__ == "__main__":
    main()
