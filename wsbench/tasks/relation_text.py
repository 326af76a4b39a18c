"""Relation-extraction candidates as fixed-length :class:`~wsbench.augment.Tokens` for TANDA's text task.

``make_spouse_text`` turns the ``spouse`` candidates (``wsbench.tasks.spouse``) into token-id
sentences of length ``max_len`` whose two person mentions are *protected* (no text TF may alter
them). Vocabulary: lower-cased tokens seen at least ``min_count`` times in the labelled and
unlabeled candidates (never the test ones), id 0 = PAD, id 1 = out-of-vocabulary. A sentence longer
than ``max_len`` is cut to a window around the two mentions, or, when they are farther apart than
``max_len``, to the tokens after the first and before the end of the last (the middle dropped). Splits: the 2811 dev candidates in a fixed hashed order, the first
``n_labelled`` labelled and the rest unlabeled (the generator's and the trigram LM's data); the 2701
test candidates. The text TF set (:func:`text_tf_set`) substitutes words from a trigram LM estimated
on the task's own unlabeled and labelled sentences, drops words and swaps neighbours.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import jax
import numpy as np

from ..augment import NgramLM, TextDiscriminator, TFSet, Tokens, pad_tokens, text_tfs
from ._common import dataset_dir
from ._images import interleave_by_class
from .spouse import load

__all__ = ["TextTask", "encode_candidates", "make_spouse_text", "text_tf_set"]

PAD_ID, OOV_ID = 0, 1


@dataclass(frozen=True)
class TextTask:
    """Labelled / unlabeled / test :class:`Tokens` batches of one relation-extraction task."""

    name: str
    n_classes: int
    vocab: tuple[str, ...]  # vocab[i] is the token of id i (0: "<pad>", 1: "<unk>")
    x_train: Tokens
    y_train: np.ndarray
    x_unlabeled: Tokens
    x_test: Tokens
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def subsample(self, *, n_train=None, n_unlabeled=None, n_test=None) -> "TextTask":
        """The first rows of each split (fixed hashed orders)."""

        def cut(x, n):
            return x if n is None else jax.tree.map(lambda a: a[:n], x)

        return replace(
            self,
            x_train=cut(self.x_train, n_train),
            y_train=cut(self.y_train, n_train),
            x_unlabeled=cut(self.x_unlabeled, n_unlabeled),
            x_test=cut(self.x_test, n_test),
            y_test=cut(self.y_test, n_test),
        )

    def make_discriminator(self, *, width: int, key) -> TextDiscriminator:
        """TANDA's discriminator for this vocabulary."""
        return TextDiscriminator(self.vocab_size, embed=width, width=width, key=key)

    def sentences(self) -> list[list[int]]:
        """The labelled and unlabeled sentences as id lists (PAD stripped): the LM's corpus."""
        out = []
        for x in (self.x_train, self.x_unlabeled):
            for row in np.asarray(x.ids):
                out.append([int(t) for t in row if t != PAD_ID])
        return out


def text_tf_set(task: TextTask, *, n_substitute: int = 1, weights=None) -> TFSet:
    """The text TFs with a trigram LM fitted on ``task``'s own labelled + unlabeled sentences."""
    kw = {} if weights is None else {"weights": tuple(weights)}
    return text_tfs(NgramLM.fit(task.sentences(), task.vocab_size, **kw), n_substitute=n_substitute)


def _keep(n: int, spans, max_len: int) -> np.ndarray:
    """Token positions kept: all (short sentence), a window holding both mentions, or (mentions
    farther apart than ``max_len``) the first ``max_len // 2`` tokens from the first mention and the
    last ``max_len - max_len // 2`` up to the end of the last one (the middle is dropped)."""
    if n <= max_len:
        return np.arange(n)
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    if hi - lo <= max_len:
        start = max(0, min(lo - (max_len - (hi - lo)) // 2, n - max_len))
        return np.arange(start, start + max_len)
    h = max_len // 2
    return np.concatenate([np.arange(lo, lo + h), np.arange(hi - (max_len - h), hi)])


def encode_candidates(tokens, spans, vocab: dict[str, int], max_len: int) -> Tokens:
    """Token strings and half-open mention spans -> a ``(n, max_len)`` :class:`Tokens` batch.

    Words map to ``vocab[word.lower()]`` (``OOV_ID`` when absent); see :func:`_keep` for how a
    sentence longer than ``max_len`` is cut (a mention longer than half of it may be cut too).
    """
    ids, new_spans = [], []
    for toks, sp in zip(tokens, spans, strict=True):
        keep = _keep(len(toks), sp, max_len)
        ids.append([vocab.get(toks[i].lower(), OOV_ID) for i in keep])
        kept = []
        for s, e in sp:
            pos = np.flatnonzero((keep >= s) & (keep < e))
            if len(pos):
                kept.append((int(pos[0]), int(pos[-1]) + 1))
        new_spans.append(kept)
    return pad_tokens(ids, new_spans, max_len)


def make_spouse_text(
    *,
    n_labelled: int = 1000,
    max_len: int = 48,
    min_count: int = 2,
    mirror: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> TextTask:
    """The spouse candidates as a :class:`TextTask` (spouse = 1, ~8% positive).

    Raises:
        ValueError: ``n_labelled`` outside ``1 .. 2810`` or ``max_len`` < 2.
    """
    d = load(dataset_dir("spouse_snorkel", mirror=mirror, data_dir=data_dir))
    dev, test = d["records"]["valid"], d["records"]["test"]
    if not 1 <= n_labelled < len(dev):
        raise ValueError(f"n_labelled must be in 1..{len(dev) - 1}, got {n_labelled}.")
    if max_len < 2:
        raise ValueError(f"max_len must be >= 2, got {max_len}.")
    y_dev, y_test = d["y"]["valid"], d["y"]["test"]
    order = interleave_by_class([c.id for c in dev], y_dev)
    counts: dict[str, int] = {}
    for c in dev:
        for t in c.tokens:
            counts[t.lower()] = counts.get(t.lower(), 0) + 1
    words = sorted(w for w, k in counts.items() if k >= min_count)
    vocab = ("<pad>", "<unk>", *words)
    index = {w: i for i, w in enumerate(vocab)}

    def enc(cands):
        spans = [
            [(c.person1_word_idx[0], c.person1_word_idx[1] + 1),
             (c.person2_word_idx[0], c.person2_word_idx[1] + 1)]
            for c in cands
        ]  # fmt: skip
        return encode_candidates([c.tokens for c in cands], spans, index, max_len)

    lab, unl = [dev[i] for i in order[:n_labelled]], [dev[i] for i in order[n_labelled:]]
    test_order = interleave_by_class([c.id for c in test], y_test)
    return TextTask(
        name="spouse_text",
        n_classes=2,
        vocab=vocab,
        x_train=enc(lab),
        y_train=y_dev[order[:n_labelled]].astype(np.int32),
        x_unlabeled=enc(unl),
        x_test=enc([test[i] for i in test_order]),
        y_test=y_test[test_order].astype(np.int32),
        class_names=("not spouse", "spouse"),
    )
