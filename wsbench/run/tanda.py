"""Pipeline 4: augmentation policies compared on one task (TANDA, Ratner et al. NeurIPS 2017).

For each seed and each policy of ``cfg.policies`` (``none``, ``basic``, ``heuristic``,
``mean_field``, ``lstm``; ``wsbench.augment.POLICIES``):

1. the policy is built (``wsbench.augment.make_policy``); the learned ones train a TANDA generator
   and discriminator on the task's *unlabeled* split (``cfg.tanda``: ``wsbench.augment.Tanda``'s
   hyperparameters; ``cfg.generator.<policy>``: the generator's arguments and its own learning
   rate), timed;
2. the same end model (``cfg.endmodel``), with the same training budget and, within a seed, the same
   initialisation and minibatch key for every policy, is trained on the labelled split with the
   policy applied to every minibatch inside the jitted training step;
3. test accuracy is recorded.

Rows: one per (policy, seed) with ``test/accuracy``, ``test/f1``, ``valid/accuracy``,
``valid/f1`` (on the task's validation split, for choosing hyperparameters without the test set;
NaN where it has none), ``train/final_loss``,
``fit_seconds``, ``tanda_seconds`` (NaN for the policies that train nothing), and for the learned policies the
generator's TF frequencies (``tf_probs``, mean field) or transition matrix (``transitions``, LSTM)
as JSON text next to ``tf_names``, and how many TFs the trained generator still draws
(``gen/effective_tfs``, ``gen/top_tf``, ``gen/top_tf_share``, ``gen/conditional_entropy``:
``wsbench.augment.TFUsage``); a generator whose draws are mostly one TF is reported with a warning
(:func:`warn_if_collapsed`). Traces: the same matrices stacked over seeds, TANDA's
discriminator losses, and ``samples/<policy>``: augmented copies of the first ``cfg.n_samples``
labelled points (seed 0) for the figure's image grid. :func:`export` turns a finished sweep into
the small files ``paper_figures/fig_tanda.py`` reads.

The task comes from ``cfg.task`` (a ``_target_`` returning an ``ImageTask`` or a text task),
optionally cut by ``cfg.subsample``; the TF set from ``cfg.tfs`` (a ``_target_`` returning a
``TFSet``, or a ``_partial_`` taking the task, for TFs estimated on its unlabeled data).
"""

import dataclasses
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from ..augment import (
    CLASS_WEIGHTS,
    DIVERSITY,
    POLICIES,
    Tanda,
    TFSet,
    fit_and_score,
    make_policy,
)
from ..augment._evaluate import is_then_basic
from ..endmodels import AbstractEndModel
from . import results
from .build import build, check_groups, check_seeds, is_int
from .job import Job
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

LEARNED = ("mean_field", "lstm")
COLLAPSE_SHARE = 0.9
"""A learned policy whose most used TF takes more than this share of its draws is reported as
collapsed (:func:`warn_if_collapsed`)."""
SCORES = ("test/accuracy", "test/f1", "valid/accuracy", "valid/f1")
"""The score columns :func:`export` carries (the validation ones where the task has that split)."""
METRICS = ("accuracy", "f1")
"""``cfg.metric``: what the summary, the objective and the exported table report (both are always
recorded): ``f1`` for imbalanced tasks (spouse: 8% positives, where a constant scores 92% accuracy)."""


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Train the end model with every policy of ``cfg.policies`` over ``cfg.seeds`` seeds.

    Args:
        cfg: the composed ``conf/tanda.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        ``test/<metric>/<policy>`` (mean over seeds; ``cfg.metric``, default accuracy) for each
        policy and ``"objective"`` (``cfg.objective``'s). A job already complete in ``out_dir``
        for the same config is skipped.

    Raises:
        ValueError: on a malformed config (unknown policy, missing TF set for a policy that needs
            one, a ``basic`` policy on a non-image task, ...).
    """
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    task = build(cfg.task, "task", str(cfg.task.get("_target_")).rsplit(".", 1)[-1])
    if cfg.get("subsample") is not None:
        task = task.subsample(**OmegaConf.to_container(cfg.subsample, resolve=True))
    policies = [str(p) for p in cfg.policies]
    metric = str(cfg.get("metric", "accuracy"))
    is_image = isinstance(task.x_train, np.ndarray) and task.x_train.ndim == 4
    if "basic" in policies and not is_image:
        raise ValueError(
            f"policy 'basic' (crop + flip) needs (n, H, W, C) images; task {task.name!r} is not "
            "an image task: drop it from policies."
        )
    if cfg.get("then_basic") and not is_image:
        raise ValueError(
            f"then_basic={cfg.then_basic} (a random crop after every TF sequence) needs (n, H, "
            f"W, C) images; task {task.name!r} is not an image task: set then_basic=false."
        )
    tfs = _build_tfs(cfg, task) if set(policies) - {"none", "basic"} else None
    endmodel = build(cfg.endmodel, "endmodel", expect=AbstractEndModel)
    if getattr(endmodel, "vocab_size", 0) is None and hasattr(task, "vocab_size"):
        endmodel = dataclasses.replace(endmodel, vocab_size=int(task.vocab_size))  # text models
    em_name = type(endmodel).__name__
    tanda = None if tfs is None else Tanda(tfs=tfs, **OmegaConf.to_container(cfg.tanda))
    seed_keys = jr.split(named_key(root_key(cfg.seed), "tanda"), cfg.seeds)
    n_samples = min(int(cfg.n_samples), len(jax.tree.leaves(task.x_train)[0]))
    shown = jax.tree.map(lambda a: jnp.asarray(a[:n_samples]), task.x_train)

    rows: list[dict[str, Any]] = []
    traces: dict[str, Any] = {}
    acc: dict[str, list[float]] = {p: [] for p in policies}
    per_seed: dict[str, list[np.ndarray]] = {}
    for s in range(int(cfg.seeds)):
        k_policies, k_fit, k_show = jr.split(seed_keys[s], 3)
        for name in policies:
            k_pol = named_key(k_policies, name)
            policy, info = make_policy(
                name,
                tfs=tfs,
                seq_len=int(cfg.seq_len),
                x_unlabeled=task.x_unlabeled,
                tanda=_tanda_for(tanda, cfg, name),
                disc_width=int(cfg.disc_width),
                discriminator=_discriminator(task, int(cfg.disc_width), named_key(k_pol, "disc")),
                basic_pad=int(cfg.basic_pad),
                then_basic=cfg.get("then_basic", False),
                generator=_generator_kwargs(cfg, name),
                key=k_pol,
            )
            score = fit_and_score(  # the same key for every policy
                endmodel, task, policy, class_weight=cfg.get("class_weight"), key=k_fit
            )
            values: dict[str, Any] = {
                "test/accuracy": score["test_accuracy"],
                "test/f1": score["test_f1"],
                "valid/accuracy": score["valid_accuracy"],
                "valid/f1": score["valid_f1"],
                "train/final_loss": score["final_loss"],
                "fit_seconds": score["fit_seconds"],
                "tanda_seconds": info.get("tanda_seconds", math.nan),
                "tf_names": json.dumps(list(tfs.names)) if tfs is not None else None,
                "tf_probs": None,
                "transitions": None,
            }
            if "usage" in info:
                values.update(usage_values(info["usage"], tfs.names))
                warn_if_collapsed(values, name, task.name, len(tfs))
            for k in ("tf_probs", "transitions"):
                if k in info:
                    values[k] = json.dumps(np.round(info[k], 6).tolist())
                    per_seed.setdefault(f"{k}/{name}", []).append(info[k])
            if "trace" in info:
                per_seed.setdefault(f"d_loss/{name}", []).append(
                    np.asarray(info["trace"]["d_loss"])
                )
            acc[name].append(score[f"test_{metric}"])
            fields = {"policy": name, "task": task.name, "endmodel": em_name, "seed_index": s}
            rows.append(job.row(fields, values))
            log.info(
                "%s, policy %s, seed %d: test accuracy %.4f, F1 %.4f (fit %.1f s, tanda %.1f s)",
                task.name,
                name,
                s,
                score["test_accuracy"],
                score["test_f1"],
                score["fit_seconds"],
                values["tanda_seconds"],
            )
            if s == 0 and n_samples > 0:
                out = policy(shown, key=k_show)
                if is_image:
                    traces[f"samples/{name}"] = np.asarray(jnp.round(out * 255)).astype(np.uint8)
                else:
                    traces[f"samples/{name}"] = np.asarray(jax.tree.leaves(out)[0])
    if is_image and n_samples > 0:
        traces["samples/original"] = np.asarray(jnp.round(shown * 255)).astype(np.uint8)
    traces.update({k: np.stack(v) for k, v in per_seed.items()})
    summary = {f"test/{metric}/{p}": float(np.mean(v)) for p, v in acc.items()}
    summary["objective"] = summary[f"test/{metric}/{cfg.objective}"]
    return job.finish(rows, summary, job_type="tanda", traces=traces)


def usage_values(usage, names) -> dict[str, Any]:
    """A :class:`~wsbench.augment.TFUsage` as row values (``gen/...``)."""
    top, share = usage.top
    return {
        "gen/effective_tfs": float(usage.effective_tfs),
        "gen/top_tf": str(names[top]),
        "gen/top_tf_share": share,
        "gen/conditional_entropy": float(usage.conditional_entropy),
    }


def warn_if_collapsed(values: dict[str, Any], policy: str, task: str, n_tfs: int) -> bool:
    """Warn (and return True) when the generator's most used TF takes more than
    :data:`COLLAPSE_SHARE` of its draws: the learned policy then applies nearly one TF, and how
    much it augments depends on that one TF alone."""
    share = values["gen/top_tf_share"]
    if share <= COLLAPSE_SHARE:
        return False
    log.warning(
        "%s on %s: the trained generator collapsed: %.0f%% of its TF draws are %s (effectively "
        "%.1f of %d TFs), so the learned policy applies nearly that one TF. The discriminator "
        "finds it the least detectable; if it barely changes a point the policy adds little "
        "augmentation. To keep it exploring: a lower tanda.g_lr or fewer tanda.n_steps, or a "
        "diversity term that still pushes points away from their originals (a "
        "tanda.diversity_margin above the distance this TF moves a point, or "
        "tanda.diversity=inverse).",
        policy,
        task,
        100 * share,
        values["gen/top_tf"],
        values["gen/effective_tfs"],
        n_tfs,
    )
    return True


def check_config(cfg: DictConfig) -> None:
    """The TANDA pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    check_groups(cfg, ("task", "endmodel", "logger"))
    policies = cfg.get("policies")
    if policies is None or isinstance(policies, str) or len(policies) == 0:
        raise ValueError(f"config key 'policies' must be a non-empty list of {POLICIES}.")
    bad = [p for p in policies if p not in POLICIES]
    if bad or len(set(policies)) != len(policies):
        raise ValueError(
            f"config key 'policies' must list distinct policies from {POLICIES}, got "
            f"{list(policies)}."
        )
    if set(policies) - {"none", "basic"} and cfg.get("tfs") is None:
        raise ValueError(
            "policies heuristic / mean_field / lstm need a TF set: set config key 'tfs'."
        )
    if cfg.get("class_weight") not in CLASS_WEIGHTS:
        raise ValueError(
            "config key 'class_weight' must be null or 'balanced' (rows weighted so that every "
            f"class has the same total weight), got {cfg.get('class_weight')!r}."
        )
    if cfg.get("metric", "accuracy") not in METRICS:
        raise ValueError(
            f"config key 'metric' must be one of {METRICS} (what the table reports and the "
            f"objective is), got {cfg.get('metric')!r}."
        )
    if cfg.get("objective") not in policies:
        raise ValueError(
            f"config key 'objective' must name one of the policies run {list(policies)} (its "
            f"mean test metric is the sweep objective), got {cfg.get('objective')!r}."
        )
    for key in ("seq_len", "disc_width"):
        if not is_int(cfg.get(key)) or cfg[key] < 1:
            raise ValueError(f"config key {key!r} must be a positive int, got {cfg.get(key)!r}.")
    for key in ("n_samples", "basic_pad"):
        if not is_int(cfg.get(key)) or cfg[key] < 0:
            raise ValueError(
                f"config key {key!r} must be a non-negative int, got {cfg.get(key)!r}."
            )
    then_basic = cfg.get("then_basic", False)
    if not is_then_basic(then_basic):
        raise ValueError(
            "config key 'then_basic' must be false, true (the basic crop + flip after every TF "
            "sequence) or crop (the crop alone, the TANDA authors' CIFAR-10 recipe), got "
            f"{then_basic!r}."
        )
    _check_generator(cfg)
    diversity = (cfg.get("tanda") or {}).get("diversity", "hinge")
    if diversity not in DIVERSITY:
        raise ValueError(
            f"config key 'tanda.diversity' must be one of {DIVERSITY} (hinge: max(0, margin - d); "
            f"inverse: 1 / d, the TANDA authors' term), got {diversity!r}."
        )


GENERATOR_KEYS = {
    "mean_field": ("logit_range", "lr"),
    "lstm": ("logit_range", "hidden", "embed", "lr"),
}
"""``cfg.generator.<policy>``: what a config may set per generator: its constructor's arguments
and ``lr``, its own learning rate (default: ``tanda.g_lr``)."""


def _generator_config(cfg: DictConfig, name: str) -> dict[str, Any]:
    got = (cfg.get("generator") or {}).get(name) or {}
    return OmegaConf.to_container(got, resolve=True) if isinstance(got, DictConfig) else dict(got)


def _generator_kwargs(cfg: DictConfig, name: str) -> dict[str, Any] | None:
    """The constructor arguments of policy ``name``'s generator (None: not a learned policy)."""
    if name not in LEARNED:
        return None
    return {k: v for k, v in _generator_config(cfg, name).items() if k != "lr"}


def _tanda_for(tanda: Tanda | None, cfg: DictConfig, name: str) -> Tanda | None:
    """``tanda`` with policy ``name``'s own generator learning rate, where the config sets one."""
    lr = _generator_config(cfg, name).get("lr") if name in LEARNED else None
    return tanda if tanda is None or lr is None else dataclasses.replace(tanda, g_lr=float(lr))


def _check_generator(cfg: DictConfig) -> None:
    gen = cfg.get("generator")
    if gen is None:
        return
    if not isinstance(gen, DictConfig) or set(gen) - set(GENERATOR_KEYS):
        raise ValueError(
            "config key 'generator' must map learned policies "
            f"{tuple(GENERATOR_KEYS)} to their generator's arguments, got {gen!r}."
        )
    for policy, args in gen.items():
        if args is None:
            continue
        if not isinstance(args, DictConfig) or set(args) - set(GENERATOR_KEYS[policy]):
            raise ValueError(
                f"config key 'generator.{policy}' may set {GENERATOR_KEYS[policy]}, got {args!r}."
            )
        for key, v in args.items():
            if key == "lr" and v is None:  # tanda.g_lr
                continue
            ok = is_int(v) and v >= 1 if key in ("hidden", "embed") else _positive_number(v)
            if not ok:
                what = "a positive int" if key in ("hidden", "embed") else "a positive number"
                raise ValueError(
                    f"config key 'generator.{policy}.{key}' must be {what}, got {v!r}."
                )


def _positive_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _build_tfs(cfg: DictConfig, task) -> TFSet:
    made = build(cfg.tfs, "tfs")
    tfs = made(task) if callable(made) and not isinstance(made, TFSet) else made
    if not isinstance(tfs, TFSet):
        raise ValueError(f"config key 'tfs' must build a TFSet, got {type(tfs).__name__}.")
    return tfs


def _discriminator(task, width: int, key):
    """The task's own discriminator when it has one (text), else the default image one (None)."""
    make = getattr(task, "make_discriminator", None)
    return None if make is None else make(width=width, key=key)


# ----------------------------------------------------------------------------- export


def export(name_or_dir: str | os.PathLike, prefix: str | os.PathLike) -> dict[str, Path]:
    """Write the files ``paper_figures/fig_tanda.py`` reads from a finished TANDA sweep.

    ``<prefix>.csv``: test accuracy and F1 (mean, sem, n_seeds; validation accuracy and F1 too
    where the task has a validation split), ``metric`` (the one the sweep
    reports, ``cfg.metric``), the paired differences in it to ``none`` and
    ``heuristic`` (mean and sem over seeds) and mean TANDA / fit seconds per (task, policy,
    endmodel); ``<prefix>_tf_probs.csv``: the mean-field TF frequencies (mean and sem
    over seeds, one row per TF); ``<prefix>_transitions.csv``: the LSTM's transition matrix
    (mean over seeds; rows ``from`` = a TF or ``start``); ``<prefix>_seeds.csv``: every seed's
    accuracy with its paired difference to ``none`` and ``heuristic`` (:func:`per_seed`);
    ``<prefix>_samples.npz``: seed 0's augmented images per policy (uint8), for the image grid.
    """
    df = results.load(name_or_dir)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    metric = reported_metric(df)
    scores = [c for c in SCORES if c in df.columns and df[c].notna().any()]
    table = results.aggregate(df, ["task", "policy", "endmodel"], scores)
    table.insert(3, "metric", metric)
    secs = df.groupby(["task", "policy", "endmodel"])[["tanda_seconds", "fit_seconds"]].mean()
    table = table.merge(secs.reset_index(), on=["task", "policy", "endmodel"])
    seeds = per_seed(df)
    paired = seeds.groupby(["task", "policy", "endmodel"])[
        ["paired_vs_none", "paired_vs_heuristic"]
    ]
    sem = paired.sem(ddof=1).add_suffix("_sem")
    table = table.merge(paired.mean().join(sem).reset_index(), on=["task", "policy", "endmodel"])
    table = table.sort_values(["task", "policy"], key=_policy_order)
    out["accuracy"] = _write_csv(table, Path(f"{prefix}.csv"))
    out["seeds"] = _write_csv(seeds, Path(f"{prefix}_seeds.csv"))

    for kind, policy in (("tf_probs", "mean_field"), ("transitions", "lstm")):
        part = df[(df["policy"] == policy) & df[kind].notna()]
        if part.empty:
            continue
        names = json.loads(part["tf_names"].iloc[0])
        mats = np.stack([np.asarray(json.loads(v)) for v in part[kind]])
        if kind == "tf_probs":
            sem = mats.std(0, ddof=1) / np.sqrt(len(mats)) if len(mats) > 1 else 0 * mats[0]
            frame = pd.DataFrame(
                {"tf": names, "prob": mats.mean(0), "prob_sem": sem, "n_seeds": len(mats)}
            )
        else:
            mean = mats.mean(0)
            frame = pd.DataFrame(
                [
                    {"from": f, "to": t, "prob": mean[i, j], "n_seeds": len(mats)}
                    for i, f in enumerate([*names, "start"])
                    for j, t in enumerate(names)
                ]
            )
        out[kind] = _write_csv(frame, Path(f"{prefix}_{kind}.csv"))

    samples = _samples(name_or_dir)
    if samples:
        path = Path(f"{prefix}_samples.npz")
        np.savez_compressed(path, **samples)
        out["samples"] = path
    return out


def reported_metric(df: pd.DataFrame) -> str:
    """The sweep's ``cfg.metric`` (``accuracy`` for results written before the option existed)."""
    if "cfg.metric" not in df.columns:
        return "accuracy"
    values = set(df["cfg.metric"].dropna())
    if len(values) > 1:
        raise ValueError(f"one TANDA export mixes metrics {sorted(values)}; export each alone.")
    return values.pop() if values else "accuracy"


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, policy, endmodel, seed): ``test/accuracy`` (and ``test/f1``), the
    training loss and times, the learned policy (``tf_probs`` / ``transitions``, JSON) and
    ``paired_vs_none`` / ``paired_vs_heuristic``: the difference in the reported metric
    (:func:`reported_metric`) to that policy on the same seed. Within a seed every policy trains
    from the same initialisation with the same minibatches, so the paired differences carry less
    seed noise than the two means do."""
    score = f"test/{reported_metric(df)}"
    df = df.rename(columns={"cfg.seed": "seed"})
    if "seed" not in df.columns:
        df = df.assign(seed=0)
    keys = ["task", "endmodel", "seed", "seed_index"]
    cols = [c for c in SCORES if c in df.columns and df[c].notna().any()]
    cols += ["train/final_loss", "fit_seconds", "tanda_seconds", "tf_probs", "transitions"]
    frame = df[[*keys[:2], "policy", *keys[2:], *cols]]
    for base in ("none", "heuristic"):
        ref = frame[frame["policy"] == base][[*keys, score]]
        ref = ref.rename(columns={score: f"_{base}"})
        frame = frame.merge(ref, on=keys, how="left")
        frame[f"paired_vs_{base}"] = frame[score] - frame.pop(f"_{base}")
    return frame.sort_values(
        ["task", "policy", "seed", "seed_index"], key=_policy_order
    ).reset_index(drop=True)


def _policy_order(column: pd.Series) -> pd.Series:
    """Sort key: policies in ``POLICIES`` order, other columns' values as they are."""
    order = {p: i for i, p in enumerate(POLICIES)}
    return column.map(lambda v: order.get(v, v))


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    results.atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode())
    return path


def _samples(name_or_dir) -> dict[str, np.ndarray]:
    """The uint8 image samples of the first complete job (by folder order) that has them."""
    root = Path(name_or_dir)
    root = root if root.is_dir() else Path(results.RESULTS_ROOT) / str(name_or_dir)
    for path in sorted(root.rglob("traces.npz")):
        if not (path.parent / "results.json").exists():
            continue
        with np.load(path) as z:
            got = {
                k.split("/", 1)[1]: z[k]
                for k in z.files
                if k.startswith("samples/") and z[k].dtype == np.uint8
            }
        if got:
            return got
    return {}
