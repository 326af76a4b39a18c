"""Spam tasks built from raw text: YouTube comments and SMS messages (spam = 1, ham = 0).

**YouTube** (mirror folder ``youtube_spam_collection_raw``, the five UCI CSVs). Split as in the
Snorkel spam tutorial: the comments on the first four videos (Psy, Katy Perry, LMFAO, Eminem; 1586
rows) are the train split; the Shakira video (370 rows) is cut into valid (120) and test (250),
stratified by class. The tutorial cut Shakira with ``sklearn.train_test_split(random_state=123)``;
we order each class by the CRC-32 of ``COMMENT_ID`` instead (fixed, no RNG), so the sizes match
WRENCH ``youtube`` (1586/120/250) but the valid/test membership is not the same.

The eleven LFs follow the tutorial's final set (keywords ``my``, ``subscribe``, ``http``,
``please``/``plz``, ``song``; regex ``check.*out``; comments with < 5 words); its three model-based
LFs (spaCy PERSON entities, TextBlob polarity and subjectivity) are replaced by dependency-free
stand-ins (``artist_mention``, ``positive_words``, ``opinion``; see each docstring), and one LF is
ours (``money_or_site``: money offers and web addresses, which the tutorial's LFs miss).

**SMS** (mirror folder ``sms_spam_collection_raw``, UCI SMS Spam Collection v.1, 5574 messages).
Split by line index: each line gets ``crc32("sms-<line index>")``; the 500 lowest are test, the
next 500 valid, the rest (4574) train (WRENCH ``sms`` uses 4571/500/500 with its own split). Twelve
LFs: keywords, phone numbers and short codes, prices, URLs, subscription jargon, and ham cues.

Both functions accept ``key`` for API uniformity and ignore it: the data and splits are fixed.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Dataset
from ._common import (
    ABSTAIN,
    build_dataset,
    build_slices,
    dataset_dir,
    hash_order,
    labeling_function,
    require_file,
    slicing_function,
    stratified_hash_split,
)

HAM, SPAM = 0, 1
YOUTUBE_FILES = (
    "Youtube01-Psy.csv",
    "Youtube02-KatyPerry.csv",
    "Youtube03-LMFAO.csv",
    "Youtube04-Eminem.csv",
    "Youtube05-Shakira.csv",
)
_YOUTUBE_COLUMNS = ("COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS")


@dataclass(frozen=True)
class Comment:
    """One YouTube comment (what an LF may read): ``text``, ``author`` and the source ``video``."""

    id: str
    author: str
    text: str
    video: int


@dataclass(frozen=True)
class Message:
    """One SMS message."""

    id: str
    text: str


# ----------------------------------------------------------------------------------- parsing


def read_youtube_csv(path: Path, video: int) -> tuple[list[Comment], np.ndarray]:
    """Parse one UCI YouTube CSV into comments and gold labels.

    Raises:
        ValueError: naming the file and line for a missing column or a CLASS outside {0, 1}.
    """
    comments, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _YOUTUBE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: header lacks column(s) {missing}; expected {list(_YOUTUBE_COLUMNS)}."
            )
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if None in row or any(row[c] is None for c in _YOUTUBE_COLUMNS):
                raise ValueError(f"{where}: wrong number of fields (malformed CSV row).")
            if row["CLASS"].strip() not in ("0", "1"):
                raise ValueError(
                    f"{where}: CLASS must be 0 (ham) or 1 (spam), got {row['CLASS']!r}."
                )
            text = row["CONTENT"].replace("\ufeff", "")
            comments.append(
                Comment(id=row["COMMENT_ID"], author=row["AUTHOR"], text=text, video=video)
            )
            labels.append(int(row["CLASS"]))
    if not comments:
        raise ValueError(f"{path}: no rows.")
    return comments, np.asarray(labels, dtype=np.int32)


def youtube_records(folder: Path) -> tuple[dict[str, list], dict[str, np.ndarray]]:
    """Records and gold labels per split (see the module docstring for the split)."""
    parts = [
        read_youtube_csv(require_file(folder, f), i) for i, f in enumerate(YOUTUBE_FILES, start=1)
    ]
    train = [c for comments, _ in parts[:4] for c in comments]
    y_train = np.concatenate([y for _, y in parts[:4]])
    shakira, y_shakira = parts[4]
    valid_idx, test_idx = stratified_hash_split([c.id for c in shakira], y_shakira, n_first=120)
    records = {
        "train": train,
        "valid": [shakira[i] for i in valid_idx],
        "test": [shakira[i] for i in test_idx],
    }
    y = {"train": y_train, "valid": y_shakira[valid_idx], "test": y_shakira[test_idx]}
    return records, y


def read_sms(path: Path) -> tuple[list[Message], np.ndarray]:
    """Parse ``SMSSpamCollection`` (``<ham|spam>\\t<text>`` per line).

    Raises:
        ValueError: naming the file and line for a line without a tab or with another label.
    """
    messages, labels = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                raise ValueError(
                    f"{path}, line {lineno}: expected '<ham|spam>\\t<message>', found no tab."
                )
            if label not in ("ham", "spam"):
                raise ValueError(
                    f"{path}, line {lineno}: label must be 'ham' or 'spam', got {label!r}."
                )
            messages.append(Message(id=f"sms-{lineno - 1}", text=text))
            labels.append(SPAM if label == "spam" else HAM)
    if not messages:
        raise ValueError(f"{path}: no messages.")
    return messages, np.asarray(labels, dtype=np.int32)


def sms_records(folder: Path, n_valid: int = 500, n_test: int = 500):
    messages, y = read_sms(require_file(folder, "SMSSpamCollection"))
    order = hash_order([m.id for m in messages])
    idx = {
        "test": np.sort(order[:n_test]),
        "valid": np.sort(order[n_test : n_test + n_valid]),
        "train": np.sort(order[n_test + n_valid :]),
    }
    return {s: [messages[i] for i in ix] for s, ix in idx.items()}, {
        s: y[ix] for s, ix in idx.items()
    }


# ------------------------------------------------------------------------------ YouTube LFs


def _keyword_lf(name: str, keywords: tuple[str, ...], label: int):
    @labeling_function(name=name, resources=dict(keywords=keywords))
    def lf(x, keywords):
        text = x.text.lower()
        return label if any(word in text for word in keywords) else ABSTAIN

    return lf


keyword_my = _keyword_lf("keyword_my", ("my",), SPAM)
keyword_subscribe = _keyword_lf("keyword_subscribe", ("subscribe",), SPAM)
keyword_link = _keyword_lf("keyword_link", ("http",), SPAM)
keyword_please = _keyword_lf("keyword_please", ("please", "plz"), SPAM)
keyword_song = _keyword_lf("keyword_song", ("song",), HAM)


@labeling_function()
def regex_check_out(x):
    """Spam if "check ... out" appears (tutorial)."""
    return SPAM if re.search(r"check.*out", x.text, flags=re.I) else ABSTAIN


@labeling_function()
def short_comment(x):
    """Ham if the comment has fewer than 5 words (tutorial)."""
    return HAM if len(x.text.split()) < 5 else ABSTAIN


_MONEY = re.compile(
    r"\$\d|\bmoney\b|\bpaid\b|\bearn\b|\bfree\b|\bprice\b|www\.|\.com\b|bit\.ly", re.I
)


@labeling_function()
def money_or_site(x):
    """Spam if the comment offers money/free things or names a web site (not in the tutorial)."""
    return SPAM if _MONEY.search(x.text) else ABSTAIN


_ARTISTS = re.compile(
    r"\b(psy|katy|perry|lmfao|eminem|rihanna|shakira|marshall|slim shady)\b", re.I
)


@labeling_function()
def artist_mention(x):
    """Ham if a short comment (< 20 words) names one of the artists.

    Stand-in for the tutorial's ``has_person_nlp`` (spaCy PERSON entity in a < 20-token comment),
    since spaCy is not a dependency: on these videos the persons named are mostly the artists.
    """
    return HAM if len(x.text.split()) < 20 and _ARTISTS.search(x.text) else ABSTAIN


_POSITIVE = re.compile(
    r"\b(love|best|awesome|amazing|beautiful|perfect|great|cool|nice|favou?rite)\b", re.I
)


@labeling_function()
def positive_words(x):
    """Ham if a comment without a link uses a strongly positive word.

    Stand-in for the tutorial's ``textblob_polarity`` (polarity > 0.9): praise of the song is ham;
    spam that praises usually carries a link, which this LF excludes.
    """
    text = x.text.lower()
    return HAM if _POSITIVE.search(text) and "http" not in text else ABSTAIN


_OPINION = re.compile(
    r"\b(i think|i love|i like|i hate|this is|so good|so sad|omg|lol|haha)\b", re.I
)


@labeling_function()
def opinion(x):
    """Ham if the comment voices an opinion (first person / exclamations) and asks for nothing.

    Stand-in for the tutorial's ``textblob_subjectivity`` (subjectivity >= 0.5).
    """
    text = x.text.lower()
    asks = any(w in text for w in ("subscribe", "check", "http", "channel"))
    return HAM if _OPINION.search(text) and not asks else ABSTAIN


YOUTUBE_LFS = (
    keyword_my,
    keyword_subscribe,
    keyword_link,
    keyword_please,
    keyword_song,
    regex_check_out,
    short_comment,
    money_or_site,
    artist_mention,
    positive_words,
    opinion,
)

# ---------------------------------------------------------------------------------- SMS LFs

_FREE = re.compile(r"\bfree\b", re.I)
_PRIZE = re.compile(
    r"\b(win|wins|won|winner|prize|award|awarded|claim|reward|bonus|voucher)\b", re.I
)
_PHONE = re.compile(r"\b0\d{9,10}\b|\b\d{5}\b")
_PRICE = re.compile(r"£|\$\d|\b\d+p\b|\bcash\b", re.I)
_URL = re.compile(r"https?://|www\.|\.com\b|\.co\.uk\b|\.net\b", re.I)
_SUBSCRIPTION = re.compile(
    r"\b(stop|unsubscribe|opt ?out|per msg|per min|txt|ringtone|tone|msg)\b", re.I
)
_URGENT = re.compile(
    r"\b(urgent|congratulations|congrats|guaranteed|selected|act now|limited)\b", re.I
)
_CALL_NOW = re.compile(r"\bcall\b\D{0,30}\d{5,}", re.I)
_INFORMAL = re.compile(
    r"\b(lol|haha\w*|hehe|lor|la|da|wat|dun|gonna|wanna|ok|k|:\)|;\))\b|:\)|;\)", re.I
)
_FIRST_PERSON = re.compile(r"\b(i'm|im|i am|i'll|i will|i was|i've|i have|i'd|me)\b", re.I)


def _regex_lf(name: str, pattern: re.Pattern, label: int, doc: str):
    @labeling_function(name=name, resources=dict(pattern=pattern))
    def lf(x, pattern):
        return label if pattern.search(x.text) else ABSTAIN

    lf.__doc__ = doc
    return lf


sms_free = _regex_lf("free", _FREE, SPAM, "Spam if the word 'free' appears.")
sms_prize = _regex_lf("prize", _PRIZE, SPAM, "Spam for prize/claim vocabulary.")
sms_phone = _regex_lf(
    "phone_number", _PHONE, SPAM, "Spam for 11-digit phone numbers or 5-digit short codes."
)
sms_price = _regex_lf(
    "price", _PRICE, SPAM, "Spam for currency, per-message prices (150p) or 'cash'."
)
sms_url = _regex_lf("url", _URL, SPAM, "Spam for URLs and web domains.")
sms_subscription = _regex_lf("subscription", _SUBSCRIPTION, SPAM, "Spam for subscription jargon.")
sms_urgent = _regex_lf("urgent", _URGENT, SPAM, "Spam for urgency/marketing words.")
sms_call_now = _regex_lf("call_now", _CALL_NOW, SPAM, "Spam for 'call' followed by a long number.")
sms_informal = _regex_lf("informal", _INFORMAL, HAM, "Ham for chat slang and emoticons.")
sms_first_person = _regex_lf("first_person", _FIRST_PERSON, HAM, "Ham for first-person phrasing.")


@labeling_function(name="short_message")
def sms_short(x):
    """Ham if the message has fewer than 6 words."""
    return HAM if len(x.text.split()) < 6 else ABSTAIN


@labeling_function(name="no_digits")
def sms_no_digits(x):
    """Ham if the message has no digit and no currency sign (spam nearly always has a number)."""
    return HAM if not re.search(r"[\d£$]", x.text) else ABSTAIN


SMS_LFS = (
    sms_free,
    sms_prize,
    sms_phone,
    sms_price,
    sms_url,
    sms_subscription,
    sms_urgent,
    sms_call_now,
    sms_informal,
    sms_first_person,
    sms_short,
    sms_no_digits,
)

# ---------------------------------------------------------------------------------- slices
# Slices (Snorkel's slicing functions) name subsets whose scores a runner reports separately; they
# read the same records as the LFs and apply to YouTube comments and SMS messages alike.

_LINK = re.compile(r"https?://|www\.|\.com\b|\.co\.uk\b|bit\.ly", re.I)


@slicing_function()
def short_text(x):
    """Fewer than 5 words (the tutorial's ``short_comment`` heuristic, as a slice)."""
    return len(x.text.split()) < 5


@slicing_function()
def has_link(x):
    """Contains a URL or a web domain."""
    return _LINK.search(x.text) is not None


@slicing_function()
def long_text(x):
    """30 words or more."""
    return len(x.text.split()) >= 30


@slicing_function()
def shouting(x):
    """At least half of the letters are upper case (and there are at least 10 letters)."""
    letters = [c for c in x.text if c.isalpha()]
    return len(letters) >= 10 and sum(c.isupper() for c in letters) >= len(letters) / 2


SPAM_SLICES = (short_text, has_link, long_text, shouting)


def youtube_slices(*, mirror: str | None = None, data_dir: str | None = None) -> dict:
    """The slice matrices of the YouTube task: ``{"names": [...], "train"|"valid"|"test": S}``.

    ``S`` is ``(n_split, 4)`` bool in the row order of :func:`make_youtube`'s splits (columns
    :data:`SPAM_SLICES`); score with ``wsbench.metrics.slice_scores`` / ``slice_table``.
    """
    records, _ = youtube_records(
        dataset_dir("youtube_spam_collection_raw", mirror=mirror, data_dir=data_dir)
    )
    return build_slices(SPAM_SLICES, records)


def sms_slices(*, mirror: str | None = None, data_dir: str | None = None) -> dict:
    """The slice matrices of the SMS task (as :func:`youtube_slices`)."""
    records, _ = sms_records(
        dataset_dir("sms_spam_collection_raw", mirror=mirror, data_dir=data_dir)
    )
    return build_slices(SPAM_SLICES, records)


# --------------------------------------------------------------------------------- builders


def _text(record) -> str:
    """The message text (what the featuriser reads)."""
    return record.text


def make_youtube(
    *,
    key=None,
    features="default",
    name: str = "youtube",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The YouTube spam task (train 1586 / valid 120 / test 250; 11 LFs; spam = 1).

    Args:
        key: ignored (fixed data and split); accepted for API uniformity.
        features: the featuriser for ``Split.x``, fitted on the train split's text only:
            ``"default"`` (word 1-2-gram TF-IDF, ``wsbench.features.DEFAULT_TEXT_FEATURES``), a
            name (``"tfidf"``, ``"hashed"``), a mapping ``{"name": ..., **params}``, a
            ``wsbench.features.TextFeaturizer``, or ``None`` (``x`` stays ``None``).
        name: the dataset name recorded with results.
        mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch` (defaults:
            ``$WSBENCH_DATA_MIRROR``, ``$WSBENCH_DATA``).
    """
    del key
    records, y = youtube_records(
        dataset_dir("youtube_spam_collection_raw", mirror=mirror, data_dir=data_dir)
    )
    return build_dataset(name, YOUTUBE_LFS, records, y, features=features, text=_text)


def make_sms(
    *,
    key=None,
    features="default",
    name: str = "sms",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The SMS spam task (train 4574 / valid 500 / test 500; 12 LFs; spam = 1).

    Args:
        key: ignored (fixed data and split); accepted for API uniformity.
        features: the featuriser for ``Split.x``, fitted on the train split's text only:
            ``"default"`` (word 1-2-gram TF-IDF, ``wsbench.features.DEFAULT_TEXT_FEATURES``), a
            name (``"tfidf"``, ``"hashed"``), a mapping ``{"name": ..., **params}``, a
            ``wsbench.features.TextFeaturizer``, or ``None`` (``x`` stays ``None``).
        name: the dataset name recorded with results.
        mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch` (defaults:
            ``$WSBENCH_DATA_MIRROR``, ``$WSBENCH_DATA``).
    """
    del key
    records, y = sms_records(
        dataset_dir("sms_spam_collection_raw", mirror=mirror, data_dir=data_dir)
    )
    return build_dataset(name, SMS_LFS, records, y, features=features, text=_text)
