"""Text TFs: the trigram LM matches a counting reference, and no TF ever alters an entity mention."""

import collections

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.augment import PAD, NgramLM, Tokens, pad_tokens, text_tfs

V = 12


def _corpus(key, n=60):
    """Sentences from a small Markov chain over ids 1..V-1 (so contexts repeat)."""
    rng = np.random.default_rng(int(jr.randint(key, (), 0, 2**31 - 1)))
    trans = rng.dirichlet(np.full(V - 1, 0.3), size=V)
    out = []
    for _ in range(n):
        w, s = 0, []
        for _ in range(rng.integers(3, 9)):
            w = int(rng.choice(V - 1, p=trans[w])) + 1
            s.append(w)
        out.append(s)
    return out


def _reference(sentences, u, v, weights=(0.6, 0.3, 0.1)):
    tri, bi, uni = collections.Counter(), collections.Counter(), collections.Counter()
    for s in sentences:
        c = [PAD, PAD, *s]
        for j in range(len(s)):
            tri[(c[j], c[j + 1], c[j + 2])] += 1
            bi[(c[j + 1], c[j + 2])] += 1
            uni[c[j + 2]] += 1
    lam, comps = np.array(weights, float), np.zeros((3, V))
    for w in range(V):
        comps[0, w] = tri[(u, v, w)]
        comps[1, w] = bi[(v, w)]
        comps[2, w] = uni[w]
    for i in range(3):
        if comps[i].sum() == 0:
            lam[i] = 0
        else:
            comps[i] /= comps[i].sum()
    return (lam / lam.sum()) @ comps


def test_lm_matches_counting_reference_and_samples_from_it(key):
    sents = _corpus(key)
    lm = NgramLM.fit(sents, V)
    contexts = [(PAD, PAD), (PAD, sents[0][0]), (sents[0][0], sents[0][1]), (3, 4), (V - 1, V - 1)]
    draw = jax.jit(jax.vmap(lambda u, v, k: lm.sample(u, v, k)))
    n = 20000
    for u, v in contexts:
        want = _reference(sents, u, v)
        np.testing.assert_allclose(lm.log_prob_table(u, v), want, atol=1e-6)
        w = draw(jnp.full(n, u), jnp.full(n, v), jr.split(jr.fold_in(key, u * V + v), n))
        emp = np.bincount(np.asarray(w), minlength=V) / n
        assert emp[PAD] == 0
        assert 0.5 * np.abs(emp - want).sum() < 0.03, (u, v)


def test_lm_validation():
    with pytest.raises(ValueError, match="outside"):
        NgramLM.fit([[1, 2, 99]], 10)
    with pytest.raises(ValueError, match="at least one"):
        NgramLM.fit([[]], 10)


def _batch(key, n=32, T=14):
    sents = _corpus(key, n)
    spans = []
    for i, s in enumerate(sents):
        a = i % len(s)
        spans.append([(a, a + 1)] + ([(len(s) - 2, len(s))] if len(s) - 2 > a + 1 else []))
    return sents, pad_tokens(sents, spans, T)


def _mentions(ids, prot):
    return [int(t) for t, p in zip(ids, prot, strict=True) if p]


@pytest.mark.slow
def test_text_tfs_never_touch_entity_mentions(key):
    sents, x = _batch(key)
    tfs = text_tfs(NgramLM.fit(sents, V), n_substitute=2)
    L = 6
    k_idx, k_tf = jr.split(key)
    idx = jr.randint(k_idx, (x.ids.shape[0], L), 0, len(tfs))
    pre = jax.jit(jax.vmap(tfs.apply_sequence))(x, idx, jr.split(k_tf, x.ids.shape[0]))
    x_ids, x_prot = np.asarray(x.ids), np.asarray(x.protected)  # host copies: no per-item dispatch
    pre_ids, pre_prot = np.asarray(pre.ids), np.asarray(pre.protected)
    changed = 0
    for b in range(x_ids.shape[0]):
        want = _mentions(x_ids[b], x_prot[b])
        n0 = int((x_ids[b] != PAD).sum())
        for t in range(L + 1):
            ids, prot = pre_ids[b, t], pre_prot[b, t]
            assert _mentions(ids, prot) == want  # same mention tokens, same order
            assert prot.sum() == len(want)
            n_t = int((ids != PAD).sum())
            assert np.all(ids[:n_t] != PAD) and np.all(ids[n_t:] == PAD)  # PAD only at the end
            assert n0 - t <= n_t <= n0
            assert not np.any(prot[n_t:])
        changed += int(np.any(pre_ids[b, -1] != x_ids[b]))
    assert changed > x_ids.shape[0] // 2


@pytest.mark.parametrize("name", ["substitute(1)", "dropout", "swap"])
def test_text_tf_determinism_jit_vmap(name, key):
    sents, x = _batch(key, n=6)
    tfs = text_tfs(NgramLM.fit(sents, V))
    tf = tfs.tfs[tfs.index(name)]
    keys = jr.split(key, 6)
    one = jax.tree.map(lambda a: a[0], x)
    single = jax.jit(lambda x, k: tf(x, k))
    a = tf(one, keys[0])  # eager
    np.testing.assert_array_equal(single(one, keys[0]).ids, a.ids)  # jit == eager
    np.testing.assert_array_equal(single(one, keys[0]).ids, single(one, keys[0]).ids)
    batched = jax.jit(jax.vmap(lambda x, k: tf(x, k)))(x, keys)
    for i in range(6):
        yi = single(jax.tree.map(lambda a, i=i: a[i], x), keys[i])
        np.testing.assert_array_equal(batched.ids[i], yi.ids)  # vmap == loop
        np.testing.assert_array_equal(batched.protected[i], yi.protected)


def test_fully_protected_sentence_is_unchanged(key):
    x = Tokens(
        ids=jnp.array([3, 4, 5, 0, 0]), protected=jnp.array([True, True, True, False, False])
    )
    tfs = text_tfs(NgramLM.fit([[3, 4, 5]], 8))
    apply = jax.jit(lambda x, i, k: tfs.apply(x, i, k))  # one compilation for every TF
    for i in range(len(tfs)):
        y = apply(x, i, key)
        np.testing.assert_array_equal(y.ids, x.ids)
        np.testing.assert_array_equal(y.protected, x.protected)


def test_pad_tokens_validation():
    with pytest.raises(ValueError, match="length"):
        pad_tokens([[1, 2, 3]], [[(0, 1)]], 2)
    with pytest.raises(ValueError, match="span"):
        pad_tokens([[1, 2, 3]], [[(2, 5)]], 4)
    with pytest.raises(ValueError, match="PAD"):
        pad_tokens([[0, 2]], [[]], 4)


@pytest.mark.slow
def test_tanda_runs_on_text_and_keeps_mentions(key):
    from wsbench.augment import MeanFieldGenerator, Tanda, TextDiscriminator

    sents, x = _batch(key, n=40)
    tfs = text_tfs(NgramLM.fit(sents, V))
    k_d, k_fit, k_p = jr.split(key, 3)
    tanda = Tanda(tfs=tfs, n_steps=5, batch_size=8)
    policy, trace = tanda.fit(
        x,
        MeanFieldGenerator(len(tfs), 3),
        TextDiscriminator(V, embed=8, width=8, key=k_d),
        key=k_fit,
    )
    assert np.all(np.isfinite(trace["d_loss"])) and np.all(np.isfinite(trace["g_loss"]))
    y = policy(x, key=k_p)
    for b in range(x.ids.shape[0]):
        assert _mentions(y.ids[b], y.protected[b]) == _mentions(x.ids[b], x.protected[b])
