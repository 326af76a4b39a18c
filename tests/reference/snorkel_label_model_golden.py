"""Golden predictions of snorkel 0.10 ``LabelModel`` with its defaults, for snorkel_label_model.yaml.

Run with the reference environment (snorkel installed), from the repository root:

    python tests/reference/snorkel_label_model_golden.py --mirror <dataset mirror>

Writes ``tests/reference/golden/snorkel_label_model_<set>.npz`` with snorkel's ``predict_proba`` on
the fit rows (WRENCH train split; chemprot has none: valid) and the scalar snorkel drew to scale its
initial ``mu`` (``np.random.random()`` after seeding with ``seed``), and a synthetic file that also
holds its own (synthetic) label matrix. The WRENCH files hold predictions only, never the data.
``LabelModel(cardinality=k).fit(L, seed=SEED, progress_bar=False)``: 100 SGD steps, lr 0.01,
momentum 0.9, l2 0, prec_init 0.7, uniform class balance.
"""

import argparse
import json
import pathlib

import numpy as np

SEED = 123
OUT = pathlib.Path(__file__).resolve().parent / "golden"
SETS = {"wrench_youtube": "train", "wrench_sms": "train", "wrench_chemprot": "valid"}


def read_L(folder: pathlib.Path, split: str) -> tuple[np.ndarray, int]:
    k = len(json.loads((folder / "label.json").read_text()))
    rows = json.loads((folder / f"{split}.json").read_text())
    L = np.array([row["weak_labels"] for row in rows.values()], dtype=np.int64)  # file order
    return L, k


def snorkel_fit(L: np.ndarray, k: int):
    from snorkel.labeling.model import LabelModel

    drawn = []
    real_random = np.random.random

    def recording_random(*args, **kw):
        value = real_random(*args, **kw)
        drawn.append(float(np.asarray(value).ravel()[0]))
        return value

    np.random.random = recording_random
    try:
        model = LabelModel(cardinality=k, verbose=False)
        model.fit(L, seed=SEED, progress_bar=False)
    finally:
        np.random.random = real_random
    assert len(drawn) == 1, drawn  # the one draw in LabelModel._init_params
    return model.predict_proba(L).astype(np.float32), drawn[0]


def synthetic_L(seed: int = 0, n: int = 3000, k: int = 3, m: int = 12) -> np.ndarray:
    """Independent LFs, accuracies 0.55-0.9, propensities 0.1-0.5 (NumPy RNG, fixed seed)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    acc = rng.uniform(0.55, 0.9, m)
    prop = rng.uniform(0.1, 0.5, m)
    correct = rng.random((n, m)) < acc
    wrong = (y[:, None] + rng.integers(1, k, (n, m))) % k
    votes = np.where(correct, y[:, None], wrong)
    return np.where(rng.random((n, m)) < prop, votes, -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", required=True)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    for name, split in SETS.items():
        L, k = read_L(pathlib.Path(args.mirror) / name, split)
        probs, scale = snorkel_fit(L, k)
        np.savez_compressed(
            OUT / f"snorkel_label_model_{name}.npz",
            probs=probs,
            init_scale=scale,
            split=split,
            seed=SEED,
            n_rows=L.shape[0],
        )
        print(name, L.shape, "init_scale", scale)
    L = synthetic_L()
    probs, scale = snorkel_fit(L, 3)
    np.savez_compressed(
        OUT / "snorkel_label_model_synthetic.npz",
        L=L.astype(np.int8),
        probs=probs,
        init_scale=scale,
        n_classes=3,
        seed=SEED,
    )
    print("synthetic", L.shape, "init_scale", scale)


if __name__ == "__main__":
    main()
