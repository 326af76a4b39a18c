"""Text-task glue: candidates -> Tokens with protected mentions; the TextCNN end model trains with text TFs."""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.augment import NgramLM, RandomSequencePolicy, Tokens, text_tfs
from wsbench.endmodels import TextCNN
from wsbench.tasks.relation_text import encode_candidates

MIRROR = os.environ.get("WSBENCH_DATA_MIRROR")


def test_encode_candidates_windows_and_protects_mentions():
    vocab = {w: i + 2 for i, w in enumerate("a b c d e f g h alice bob".split())}
    toks = [
        "a b Alice c Bob d".split(),
        ("e " * 10 + "Alice f g Bob " + "h " * 10).split(),  # longer than max_len: windowed
        "x Alice y".split(),  # out-of-vocabulary words -> 1
    ]
    spans = [[(2, 3), (4, 5)], [(10, 11), (13, 14)], [(1, 2)]]
    x = encode_candidates(toks, spans, vocab, 8)
    ids, prot = np.asarray(x.ids), np.asarray(x.protected)
    assert ids.shape == (3, 8) and prot.shape == (3, 8)
    assert ids[0].tolist() == [2, 3, vocab["alice"], 4, vocab["bob"], 5, 0, 0]
    assert prot[0].tolist() == [False, False, True, False, True, False, False, False]
    # the window keeps both mentions of the long sentence
    assert sorted(ids[1][prot[1]].tolist()) == sorted([vocab["alice"], vocab["bob"]])
    assert ids[2].tolist()[:3] == [1, vocab["alice"], 1] and prot[2].sum() == 1
    far = ["Alice"] + ["a"] * 20 + ["Bob", "c"]  # mentions 21 tokens apart, max_len 8
    y = encode_candidates([far], [[(0, 1), (21, 22)]], vocab, 8)
    assert np.asarray(y.ids)[0].tolist() == [vocab["alice"], 2, 2, 2, 2, 2, 2, vocab["bob"]]
    assert np.asarray(y.protected)[0].tolist() == [True] + [False] * 6 + [True]


def _toy_text(key, n=96, T=10, V=12):
    """Class 1 iff token 3 occurs; mentions at positions 0 and 1."""
    rng = np.random.default_rng(int(jr.randint(key, (), 0, 2**31 - 1)))
    ids = rng.integers(4, V, size=(n, T))
    y = np.arange(n) % 2
    pos = rng.integers(2, T, size=n)
    ids[np.arange(n)[y == 1], pos[y == 1]] = 3
    prot = np.zeros((n, T), bool)
    prot[:, :2] = True
    return Tokens(ids=jnp.asarray(ids, jnp.int32), protected=jnp.asarray(prot)), y


@pytest.mark.slow
def test_text_cnn_learns_with_and_without_text_augmentation(key):
    """Slow (two training-loop compilations, ~1-5 min on 2 shared cores)."""
    x, y = _toy_text(key)
    lm = NgramLM.fit([list(map(int, r)) for r in np.asarray(x.ids)], 12)
    targets = jax.nn.one_hot(y, 2)
    model = TextCNN(vocab_size=12, embed=8, width=8, n_steps=150, batch_size=32, lr=1e-2)
    for aug in (None, RandomSequencePolicy(tfs=text_tfs(lm), seq_len=1)):
        fitted = model.fit(x, targets, augment=aug, key=key)
        acc = float(jnp.mean(fitted.predict_proba(x).argmax(1) == y))
        assert acc > 0.85, (aug, acc)
    with pytest.raises(ValueError, match="vocab_size"):
        TextCNN().fit(x, targets, key=key)
    with pytest.raises(ValueError, match="ids must lie"):
        TextCNN(vocab_size=5).fit(x, targets, key=key)
    with pytest.raises(TypeError, match="Tokens"):
        model.fit(np.zeros((4, 10)), targets[:4], key=key)


def test_spouse_text_task():
    if not MIRROR or not (Path(MIRROR) / "spouse_snorkel").is_dir():
        pytest.skip("dataset 'spouse_snorkel' not available: set WSBENCH_DATA_MIRROR")
    from wsbench.tasks.relation_text import make_spouse_text, text_tf_set

    task = make_spouse_text(n_labelled=500, max_len=40, mirror=MIRROR)
    assert task.x_train.ids.shape == (500, 40) and task.x_unlabeled.ids.shape == (2311, 40)
    assert task.x_test.ids.shape == (2701, 40) and task.vocab[:2] == ("<pad>", "<unk>")
    prot = np.asarray(task.x_train.protected)
    # both person mentions (>= 1 token each) are kept, also when they are > 40 tokens apart
    assert (prot.sum(1) >= 2).all()
    assert int(np.asarray(task.x_test.ids).max()) < task.vocab_size
    assert 0.03 < task.y_train.mean() < 0.15
    tfs = text_tf_set(task)
    assert tfs.names == ("substitute(1)", "dropout", "swap")
    small = task.subsample(n_train=10, n_test=20)
    assert small.x_train.ids.shape == (10, 40) and len(small.y_test) == 20
