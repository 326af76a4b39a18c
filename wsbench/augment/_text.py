"""Text TFs for relation extraction over fixed-length token-id arrays, protecting entity mentions.

A sentence is a :class:`Tokens` pytree: ``ids`` (``(T,)`` int32, ``PAD = 0`` after the last word) and
``protected`` (``(T,)`` bool, True on the tokens of the two entity mentions, or any token that must
stay). Every TF here edits only unprotected, non-pad positions, so the entity mentions survive every
composition unchanged and in order (deletions shift them left, never into each other). Shapes never
change, so the TFs jit and vmap.

TFs (after the relation-extraction TFs of Ratner et al., NeurIPS 2017, section 5):

- :func:`ngram_substitute`: replace one word by a draw from a trigram language model
  (:class:`NgramLM`, interpolated with its bigram and unigram models) estimated on the task's own
  unlabeled sentences, conditioned on the two words to its left;
- :func:`word_dropout`: delete one word (the rest shift left, a PAD enters at the end);
- :func:`adjacent_swap`: swap two neighbouring words.
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .tfs import TF, TFSet

PAD = 0
__all__ = [
    "PAD",
    "NgramLM",
    "Tokens",
    "adjacent_swap",
    "ngram_substitute",
    "pad_tokens",
    "text_tfs",
    "word_dropout",
]


class Tokens(eqx.Module):
    """One sentence (or a batch, with a leading axis): token ids and the protected-token mask."""

    ids: Int[Array, "... T"]
    protected: Bool[Array, "... T"]


def pad_tokens(sentences: Sequence[Sequence[int]], spans, length: int) -> Tokens:
    """Pack sentences into a :class:`Tokens` batch of fixed ``length``.

    Args:
        sentences: token ids per sentence (ids >= 1; 0 is PAD).
        spans: per sentence, a sequence of ``(start, end)`` half-open entity-mention spans.
        length: T; longer sentences raise ``ValueError`` (choose T >= the longest sentence).
    """
    n = len(sentences)
    if len(spans) != n:
        raise ValueError(f"got {n} sentences but {len(spans)} span lists.")
    ids = np.zeros((n, length), np.int32)
    prot = np.zeros((n, length), bool)
    for i, (s, sp) in enumerate(zip(sentences, spans, strict=True)):
        s = np.asarray(s, np.int64)
        if len(s) > length:
            raise ValueError(f"sentence {i} has {len(s)} tokens > length={length}.")
        if np.any(s < 1):
            raise ValueError(f"sentence {i} has ids < 1; 0 is reserved for PAD.")
        ids[i, : len(s)] = s
        for a, b in sp:
            if not 0 <= a < b <= len(s):
                raise ValueError(f"sentence {i}: span ({a}, {b}) outside [0, {len(s)}].")
            prot[i, a:b] = True
    return Tokens(ids=jnp.asarray(ids), protected=jnp.asarray(prot))


# ------------------------------------------------------------------------------ the n-gram LM


def _csr(first: np.ndarray, n_rows: int) -> np.ndarray:
    """Row starts (n_rows + 1,) for entries sorted by ``first``."""
    return np.searchsorted(first, np.arange(n_rows + 1), side="left").astype(np.int32)


class NgramLM(eqx.Module):
    r"""An interpolated trigram language model whose conditional draws are jittable.

    $P(w \mid u, v) = \lambda_3 \hat P(w \mid u, v) + \lambda_2 \hat P(w \mid v) + \lambda_1 \hat P(w)$
    with maximum-likelihood $\hat P$ from counts; a component whose context was never seen is
    dropped and the weights renormalised. The start of a sentence is the context PAD, PAD.
    Counts are stored sorted (CSR), and a draw is a ``searchsorted`` into cumulative counts.
    """

    vocab_size: int = eqx.field(static=True)
    weights: Float[Array, "3"]
    uni_cum: Float[Array, " V"]
    bi_start: Int[Array, " V1"]
    bi_next: Int[Array, " nb"]
    bi_cum: Float[Array, " nb"]
    ctx_keys: Int[Array, " nc"]
    tri_start: Int[Array, " nc1"]
    tri_next: Int[Array, " nt"]
    tri_cum: Float[Array, " nt"]

    @classmethod
    def fit(
        cls,
        sentences: Sequence[Sequence[int]],
        vocab_size: int,
        *,
        weights: tuple[float, float, float] = (0.6, 0.3, 0.1),
    ) -> "NgramLM":
        """Count n-grams in ``sentences`` (ids in ``1 .. vocab_size - 1``; PAD = 0 excluded).

        ``weights`` = (trigram, bigram, unigram) interpolation weights.
        """
        if vocab_size * vocab_size >= 2**31:
            raise ValueError(f"vocab_size={vocab_size} too large (needs vocab_size**2 < 2**31).")
        tri = []
        for i, s in enumerate(sentences):
            s = [int(t) for t in s if int(t) != PAD]
            if any(t < 1 or t >= vocab_size for t in s):
                raise ValueError(f"sentence {i} has ids outside 1..{vocab_size - 1}.")
            ctx = [PAD, PAD, *s]
            tri += [(ctx[j], ctx[j + 1], ctx[j + 2]) for j in range(len(s))]
        if not tri:
            raise ValueError("NgramLM.fit needs at least one non-empty sentence.")
        tri = np.asarray(tri, np.int64)
        uni = np.bincount(tri[:, 2], minlength=vocab_size).astype(np.float64)
        bi_keys, bi_counts = np.unique(tri[:, 1] * vocab_size + tri[:, 2], return_counts=True)
        tri_keys, tri_counts = np.unique(
            (tri[:, 0] * vocab_size + tri[:, 1]) * vocab_size + tri[:, 2], return_counts=True
        )
        ctx_of_tri = tri_keys // vocab_size
        ctx_keys, ctx_first = np.unique(ctx_of_tri, return_index=True)
        tri_start = np.append(ctx_first, len(tri_keys)).astype(np.int32)
        f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
        i32 = lambda a: jnp.asarray(a, jnp.int32)  # noqa: E731
        return cls(
            vocab_size=vocab_size,
            weights=f32(weights),
            uni_cum=f32(np.cumsum(uni)),
            bi_start=i32(_csr(bi_keys // vocab_size, vocab_size)),
            bi_next=i32(bi_keys % vocab_size),
            bi_cum=f32(np.cumsum(bi_counts)),
            ctx_keys=i32(ctx_keys),
            tri_start=i32(tri_start),
            tri_next=i32(tri_keys % vocab_size),
            tri_cum=f32(np.cumsum(tri_counts)),
        )

    def _segment_draw(self, cum, start, end, nxt, u):
        before = jnp.where(start > 0, cum[jnp.maximum(start - 1, 0)], 0.0)
        total = cum[jnp.maximum(end - 1, 0)] - before
        j = jnp.searchsorted(cum, before + u * total, side="right")
        j = jnp.clip(j, start, jnp.maximum(end - 1, start))
        return nxt[j], total

    def sample(self, u: Int[Array, ""], v: Int[Array, ""], key: PRNGKeyArray) -> Int[Array, ""]:
        """Draw the next word after context ``(u, v)`` (ids; PAD = sentence start)."""
        k_mix, k_draw = jr.split(key)
        r = jr.uniform(k_draw)
        V = self.vocab_size
        c = u * V + v
        pos = jnp.searchsorted(self.ctx_keys, c)
        pos_c = jnp.clip(pos, 0, self.ctx_keys.shape[0] - 1)
        tri_ok = self.ctx_keys[pos_c] == c
        w3, _ = self._segment_draw(
            self.tri_cum, self.tri_start[pos_c], self.tri_start[pos_c + 1], self.tri_next, r
        )
        w2, bi_total = self._segment_draw(
            self.bi_cum, self.bi_start[v], self.bi_start[v + 1], self.bi_next, r
        )
        bi_ok = self.bi_start[v + 1] > self.bi_start[v]
        total = self.uni_cum[-1]
        w1 = jnp.clip(jnp.searchsorted(self.uni_cum, r * total, side="right"), 1, V - 1)
        avail = jnp.stack([tri_ok, bi_ok, jnp.array(True)])
        lam = jnp.where(avail, self.weights, 0.0)
        comp = jr.categorical(k_mix, jnp.log(lam / lam.sum()))
        return jnp.stack([w3, w2, w1])[comp].astype(jnp.int32)

    def log_prob_table(self, u: int, v: int) -> np.ndarray:
        """(Testing aid, NumPy) the full distribution P(. | u, v) over the vocabulary."""
        V = self.vocab_size
        p = np.zeros((3, V))
        lam = np.asarray(self.weights, np.float64).copy()
        keys = np.asarray(self.ctx_keys)
        hit = np.flatnonzero(keys == u * V + v)
        if hit.size:
            a, b = int(self.tri_start[hit[0]]), int(self.tri_start[hit[0] + 1])
            cnt = np.diff(np.concatenate([[0.0], np.asarray(self.tri_cum)]))[a:b]
            p[0, np.asarray(self.tri_next)[a:b]] = cnt / cnt.sum()
        else:
            lam[0] = 0
        a, b = int(self.bi_start[v]), int(self.bi_start[v + 1])
        if b > a:
            cnt = np.diff(np.concatenate([[0.0], np.asarray(self.bi_cum)]))[a:b]
            p[1, np.asarray(self.bi_next)[a:b]] = cnt / cnt.sum()
        else:
            lam[1] = 0
        uni = np.diff(np.concatenate([[0.0], np.asarray(self.uni_cum)]))
        p[2] = uni / uni.sum()
        return (lam / lam.sum()) @ p


# ------------------------------------------------------------------------------------ the TFs


def _free(x: Tokens) -> Bool[Array, " T"]:
    return (x.ids != PAD) & ~x.protected


def _pick(mask, key):
    """A uniformly random True position of ``mask`` and whether there is one."""
    logits = jnp.where(mask, 0.0, -jnp.inf)
    any_ = mask.any()
    i = jr.categorical(key, jnp.where(any_, logits, 0.0))
    return i, any_


def ngram_substitute(x: Tokens, key: PRNGKeyArray, *, lm: NgramLM) -> Tokens:
    """Replace one random unprotected word by a draw from ``lm`` given its two left neighbours."""
    k_pos, k_word = jr.split(key)
    i, ok = _pick(_free(x), k_pos)
    u = jnp.where(i >= 2, x.ids[jnp.maximum(i - 2, 0)], PAD)
    v = jnp.where(i >= 1, x.ids[jnp.maximum(i - 1, 0)], PAD)
    w = lm.sample(u, v, k_word)
    ids = jnp.where(ok, x.ids.at[i].set(w), x.ids)
    return Tokens(ids=ids, protected=x.protected)


def word_dropout(x: Tokens, key: PRNGKeyArray) -> Tokens:
    """Delete one random unprotected word; later tokens shift left and PAD fills the end."""
    T = x.ids.shape[0]
    i, ok = _pick(_free(x), key)
    pos = jnp.arange(T)
    order = jnp.argsort(jnp.where(pos == i, T, pos), stable=True)
    ids = x.ids[order].at[-1].set(PAD)
    prot = x.protected[order].at[-1].set(False)
    return Tokens(ids=jnp.where(ok, ids, x.ids), protected=jnp.where(ok, prot, x.protected))


def adjacent_swap(x: Tokens, key: PRNGKeyArray) -> Tokens:
    """Swap a random pair of neighbouring unprotected words."""
    free = _free(x)
    pair = free & jnp.roll(free, -1).at[-1].set(False)
    i, ok = _pick(pair, key)
    T = x.ids.shape[0]
    perm = jnp.arange(T)
    perm = perm.at[i].set(jnp.minimum(i + 1, T - 1)).at[jnp.minimum(i + 1, T - 1)].set(i)
    ids = jnp.where(ok, x.ids[perm], x.ids)
    return Tokens(ids=ids, protected=x.protected)


def text_tfs(lm: NgramLM, *, n_substitute: int = 1) -> TFSet:
    """TF set for relation extraction: LM substitution, word dropout, adjacent swap.

    ``n_substitute`` > 1 adds TFs that substitute that many words at once (``substitute(k)``).
    """
    tfs = [TF("substitute(1)", ngram_substitute, {"lm": lm})]
    for k in range(2, n_substitute + 1):
        tfs.append(TF(f"substitute({k})", _multi_substitute, {"lm": lm, "k": k}))
    tfs += [TF("dropout", word_dropout), TF("swap", adjacent_swap)]
    return TFSet(tuple(tfs))


def _multi_substitute(x, key, *, lm, k):
    for kk in jr.split(key, k):
        x = ngram_substitute(x, kk, lm=lm)
    return x
