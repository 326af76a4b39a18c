"""Raw-text tasks: builds from the mirror, fixed splits, spouse LFs vs the shipped weak labels,
CDR candidate construction, chest X-ray negation, and clear errors on bad data."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from wsbench.lf import LFApplicationError, apply_lfs
from wsbench.tasks import cdr, chest_xray, spam, spouse

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO.parent / "shared" / "datasets")
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(),
    reason=f"no dataset mirror at {MIRROR} (set WSBENCH_DATA_MIRROR to a copy of shared/datasets)",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("wsbench_data")


def _build(maker, data_dir):
    return maker(mirror=str(MIRROR), data_dir=str(data_dir))


def _check(ds, sizes, pos_rate, m):
    splits = (ds.train, ds.valid, ds.test)
    assert tuple(s.n for s in splits) == sizes
    for s, rate in zip(splits, pos_rate, strict=True):
        assert float(np.mean(np.asarray(s.y))) == pytest.approx(rate, abs=5e-4)
        L = np.asarray(s.weak.L)
        assert L.shape[1] == m and L.min() >= -1 and L.max() <= 1
        assert (L != -1).any(axis=0).all()  # every LF fires somewhere in every split


# ------------------------------------------------------------------------------- mirror builds


@needs_mirror
def test_youtube_split_and_lfs(data_dir):
    ds = _build(spam.make_youtube, data_dir)
    _check(ds, (1586, 120, 250), (831 / 1586, 56 / 120, 118 / 250), 11)
    assert ds.name == "youtube"


@needs_mirror
def test_youtube_split_is_by_video(data_dir):
    records, _ = spam.youtube_records(MIRROR / "youtube_spam_collection_raw")
    assert {c.video for c in records["train"]} == {1, 2, 3, 4}
    assert {c.video for s in ("valid", "test") for c in records[s]} == {5}
    shakira = [c for s in ("valid", "test") for c in records[s]]
    assert (
        len(shakira) == 370 and len(set(map(id, shakira))) == 370
    )  # a partition (one COMMENT_ID repeats)


def _sms_split_from_the_documented_rule(path):
    """Sizes and spam counts per split, recomputed from the raw file and the rule in
    ``wsbench/tasks/spam.py``'s docstring (not from the code under test): line i gets
    ``crc32("sms-<i>")``; the 500 lowest are test, the next 500 valid, the rest train."""
    import zlib

    lines = [ln for ln in path.read_text(encoding="utf-8").split("\n") if ln.rstrip("\r")]
    spam_flag = [ln.split("\t", 1)[0] == "spam" for ln in lines]
    order = sorted(range(len(lines)), key=lambda i: (zlib.crc32(f"sms-{i}".encode()), i))
    parts = {"test": order[:500], "valid": order[500:1000], "train": order[1000:]}
    return {s: (len(ix), sum(spam_flag[i] for i in ix)) for s, ix in parts.items()}


@needs_mirror
def test_sms_split_and_lfs(data_dir):
    # UCI SMS Spam Collection v.1 readme (and the mirror's SOURCE.md): 5,574 messages, 747 spam.
    # Our split keeps 500 + 500 for test/valid, so train = 5574 - 1000 = 4574 (WRENCH's sms uses
    # its own split, 4571/500/500, which is not reproducible from the raw file).
    expected = _sms_split_from_the_documented_rule(
        MIRROR / "sms_spam_collection_raw" / "SMSSpamCollection"
    )
    assert sum(n for n, _ in expected.values()) == 5574
    assert sum(k for _, k in expected.values()) == 747
    ds = _build(spam.make_sms, data_dir)
    sizes = tuple(expected[s][0] for s in ("train", "valid", "test"))
    assert sizes == (4574, 500, 500)
    rates = tuple(expected[s][1] / expected[s][0] for s in ("train", "valid", "test"))
    _check(ds, sizes, rates, 12)


@pytest.fixture(scope="module")
def spouse_data():
    if not MIRROR.is_dir():
        pytest.skip(f"no dataset mirror at {MIRROR}")
    return spouse.load(MIRROR / "spouse_snorkel")


@needs_mirror
@pytest.mark.parametrize("split", ["valid", "test"])
def test_spouse_lfs_reproduce_shipped_weak_labels_exactly(spouse_data, split):
    lfs = spouse_data["lfs"]
    assert [lf.name for lf in lfs] == spouse_data["lf_names"]
    L = apply_lfs(lfs, spouse_data["records"][split], n_classes=2, progress=False)
    shipped = spouse_data["shipped"][split]
    differing = {
        n: int((L[:, j] != shipped[:, j]).sum()) for j, n in enumerate(spouse_data["lf_names"])
    }
    assert all(v == 0 for v in differing.values()), differing


@needs_mirror
def test_spouse_dataset(data_dir):
    ds = _build(spouse.make_spouse, data_dir)
    _check(ds, (2811, 2811, 2701), (190 / 2811, 190 / 2811, 218 / 2701), 9)


def _cdr_counts_from_the_documented_rule(path):
    """(candidates, positives) of one PubTator file, recomputed from the raw text with the rules of
    ``wsbench/tasks/cdr.py``'s docstring (an independent, set-based implementation): sentences are
    the title and the abstract cut after ``.?!`` + whitespace before ``[A-Z0-9([]`` (no cut inside
    a gold mention); one candidate per (document, sentence, chemical id, disease id) co-occurring
    in a sentence, ids ``-1`` dropped; positive iff the pair is a CID relation of the document."""
    import re

    cut = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9(\[])")
    docs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, kind, body = line.split("|", 2)
            docs.setdefault(pmid, {"t": "", "a": "", "m": [], "r": set()})[kind] = body
        elif line.strip():
            f = line.split("\t")
            if len(f) == 4 and f[1] == "CID":
                docs[f[0]]["r"].add((f[2], f[3]))
            elif len(f) >= 6:
                docs[f[0]]["m"].append((int(f[1]), int(f[2]), f[4], f[5].split("|")))
    n = pos = 0
    for d in docs.values():
        text = d["t"] + " " + d["a"]
        base = len(d["t"]) + 1
        cuts = {base} | {base + m.end() for m in cut.finditer(d["a"])}
        cuts = sorted(c for c in cuts if not any(s < c < e for s, e, _, _ in d["m"]))
        bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
        pairs = set()
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            ids = {"Chemical": set(), "Disease": set()}
            for s, e, typ, mids in d["m"]:
                if a <= s and e <= b:
                    ids[typ].update(x for x in mids if x and x != "-1")
            pairs |= {(i, c, z) for c in ids["Chemical"] for z in ids["Disease"]}
        n += len(pairs)
        pos += sum((c, z) in d["r"] for _, c, z in pairs)
    return n, pos


@needs_mirror
def test_cdr_dataset(data_dir):
    ds = _build(cdr.make_cdr, data_dir)
    expected = [
        _cdr_counts_from_the_documented_rule(MIRROR / "bc5cdr_pubtator" / cdr.FILES[s])
        for s in ("train", "valid", "test")
    ]
    sizes = tuple(n for n, _ in expected)
    assert sizes == (3783, 4046, 3953)  # what the rule gives on BC5CDR (no upstream count exists)
    _check(ds, sizes, tuple(p / n for n, p in expected), 12)
    assert 0.3 < float(np.mean(np.asarray(ds.test.y))) < 0.45


def _chest_xray_counts_from_the_documented_rule(path):
    """(reports, abnormal) per split from the raw CSV and ``wsbench/tasks/chest_xray.py``'s
    docstring: ``u = crc32(str(uid)) / 2**32``; train if u < 0.6, valid if u < 0.8, else test;
    abnormal iff ``Problems`` is not exactly ``normal``."""
    import csv
    import zlib

    counts = {s: [0, 0] for s in ("train", "valid", "test")}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            u = zlib.crc32(str(int(row["uid"])).encode()) / 2**32
            split = "train" if u < 0.6 else "valid" if u < 0.8 else "test"
            counts[split][0] += 1
            counts[split][1] += row["Problems"] != "normal"
    return counts


@pytest.mark.slow
@needs_mirror
def test_chest_xray_dataset(data_dir):
    expected = _chest_xray_counts_from_the_documented_rule(
        MIRROR / "iu_chest_xray_reports" / "indiana_reports.csv"
    )
    assert sum(n for n, _ in expected.values()) == 3851  # the mirror's SOURCE.md: 3,851 reports
    ds = _build(chest_xray.make_chest_xray, data_dir)
    sizes = tuple(expected[s][0] for s in ("train", "valid", "test"))
    assert sizes == (2321, 730, 800)
    _check(
        ds, sizes, tuple(expected[s][1] / expected[s][0] for s in ("train", "valid", "test")), 15
    )


@needs_mirror
def test_chest_xray_valid_split_lfs():
    records, y = chest_xray.load(MIRROR / "iu_chest_xray_reports")
    assert {s: len(r) for s, r in records.items()} == {"train": 2321, "valid": 730, "test": 800}
    L = apply_lfs(chest_xray.CHEST_XRAY_LFS, records["valid"], n_classes=2, progress=False)
    assert L.shape == (730, 15) and L.min() >= -1 and L.max() <= 1
    assert int((y["valid"] == 1).sum()) == 473 and float(np.mean((L != -1).any(axis=1))) > 0.99


@needs_mirror
def test_chest_xray_gold_counts():
    reports, y = chest_xray.read_reports(MIRROR / "iu_chest_xray_reports" / "indiana_reports.csv")
    assert len(reports) == 3851 and int((y == 0).sum()) == 1379 and int((y == 1).sum()) == 2472
    assert not hasattr(reports[0], "Problems") and not hasattr(reports[0], "MeSH")


# ------------------------------------------------------------------------------- CDR candidates

SNIPPET = (
    "1|t|Cocaine-induced seizures.\n"
    "1|a|Cocaine caused seizures in rats. Aspirin did not affect fever or seizures.\n"
    "1\t0\t7\tCocaine\tChemical\tD003042\n"
    "1\t16\t24\tseizures\tDisease\tD012640\n"
    "1\t26\t33\tCocaine\tChemical\tD003042\n"
    "1\t41\t49\tseizures\tDisease\tD012640\n"
    "1\t59\t66\tAspirin\tChemical\tD001241\n"
    "1\t82\t87\tfever\tDisease\tD005334\n"
    "1\t91\t99\tseizures\tDisease\tD012640\n"
    "1\t53\t57\trats\tChemical\t-1\n"
    "1\tCID\tD003042\tD012640\n"
)


def test_cdr_candidates_from_snippet():
    snippet = SNIPPET  # the "rats" mention has id -1 and yields no candidate
    (doc,) = cdr.parse_pubtator(snippet)
    assert doc.relations == {("D003042", "D012640")}
    assert [doc.text[a:b] for a, b in cdr.sentence_spans(doc)] == [
        "Cocaine-induced seizures. ", "Cocaine caused seizures in rats. ",
        "Aspirin did not affect fever or seizures.",
    ]  # fmt: skip
    cands, labels = cdr.candidates(doc)
    got = [
        (c.sentence_index, c.chemical_id, c.disease_id, y)
        for c, y in zip(cands, labels, strict=True)
    ]
    assert got == [
        (0, "D003042", "D012640", 1),
        (1, "D003042", "D012640", 1),
        (2, "D001241", "D005334", 0),
        (2, "D001241", "D012640", 0),
    ]
    first, second, third, fourth = cands
    assert first.between == "-induced " and first.chemical_first
    assert second.between == " caused "
    assert fourth.other_diseases == ((23, 28),)  # "fever" lies between Aspirin and "seizures"
    L = apply_lfs(cdr.CDR_LFS, cands, n_classes=2, progress=False)
    names = [lf.name for lf in cdr.CDR_LFS]
    assert L[0, names.index("lf_chemical_induced")] == 1
    assert L[1, names.index("lf_chemical_causes")] == 1
    assert L[2, names.index("lf_negated")] == 0


def test_cdr_bad_offsets_name_line():
    bad = SNIPPET.replace("1\t16\t24\tseizures", "1\t17\t24\tseizures")
    with pytest.raises(ValueError, match=r"snippet\.txt, line 4: mention text 'seizures'"):
        cdr.parse_pubtator(bad, source="snippet.txt")


def test_cdr_malformed_line_and_type():
    with pytest.raises(ValueError, match="line 3: expected"):
        cdr.parse_pubtator("1|t|T.\n1|a|A.\n1\t0\t1\n", source="x")
    with pytest.raises(ValueError, match="line 3: entity type must be Chemical or Disease"):
        cdr.parse_pubtator("1|t|T.\n1|a|A.\n1\t0\t1\tT\tGene\tD1\n", source="x")


def test_cdr_unknown_ids_are_dropped():
    (doc,) = cdr.parse_pubtator(SNIPPET)
    assert [m.ids for m in doc.mentions if m.text == "rats"] == [()]


# ------------------------------------------------------------------------- chest X-ray negation


def _affirmed(term, text):
    import re

    return chest_xray.affirmed(re.compile(term, re.I), text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("There is a small left pleural effusion.", True),
        ("No pleural effusion.", False),
        ("There is no pneumothorax or pleural effusion.", False),
        ("Negative for effusion.", False),
        ("Without evidence of effusion.", False),
        ("Effusion is not seen.", False),
        ("Previously seen effusion has resolved.", False),
        ("No pneumothorax. Small right effusion.", True),
        ("No pneumothorax, but there is a right effusion.", True),
    ],
)
def test_negation(text, expected):
    assert _affirmed("effusion", text) is expected


def _report(findings="", impression=""):
    return chest_xray.Report(
        uid="1", indication="", comparison="", findings=findings, impression=impression
    )


def test_chest_xray_lfs_on_short_reports():
    names = [lf.name for lf in chest_xray.CHEST_XRAY_LFS]
    normal = _report(
        "The lungs are clear. No pneumothorax or effusion.", "No acute cardiopulmonary disease."
    )
    abnormal = _report("Heart size is enlarged. No pneumothorax.", "Cardiomegaly.")
    empty = _report()
    L = apply_lfs(chest_xray.CHEST_XRAY_LFS, [normal, abnormal, empty], n_classes=2, progress=False)
    row = dict(zip(names, L[0], strict=True))
    assert row["normal_impression"] == 0 and row["no_affirmed_finding"] == 0
    assert row["finding_effusion"] == -1 and row["finding_pneumothorax"] == -1
    row = dict(zip(names, L[1], strict=True))
    assert row["finding_cardiomegaly"] == 1 and row["finding_pneumothorax"] == -1
    assert row["normal_impression"] == -1 and row["no_affirmed_finding"] == -1
    assert (L[2] == -1).all()


def test_chest_xray_split_is_fixed():
    assert chest_xray.split_of("1") == chest_xray.split_of("1")
    counts = {s: 0 for s in ("train", "valid", "test")}
    for uid in range(1, 2001):
        counts[chest_xray.split_of(str(uid))] += 1
    assert 0.55 < counts["train"] / 2000 < 0.65 and 0.15 < counts["test"] / 2000 < 0.25


# ------------------------------------------------------------------------------- spam LFs / data


def test_youtube_lfs_on_examples():
    names = [lf.name for lf in spam.YOUTUBE_LFS]
    recs = [
        spam.Comment(
            id="a", author="x", text="Check out my channel http://x.com please subscribe", video=1
        ),
        spam.Comment(id="b", author="y", text="love this song", video=1),
    ]
    L = apply_lfs(spam.YOUTUBE_LFS, recs, n_classes=2, progress=False)
    row = dict(zip(names, L[0], strict=True))
    for n in (
        "keyword_my",
        "keyword_subscribe",
        "keyword_link",
        "keyword_please",
        "regex_check_out",
    ):
        assert row[n] == 1
    row = dict(zip(names, L[1], strict=True))
    assert row["keyword_song"] == 0 and row["short_comment"] == 0 and row["positive_words"] == 0


def test_sms_lfs_on_examples():
    names = [lf.name for lf in spam.SMS_LFS]
    recs = [
        spam.Message(id="a", text="URGENT! You have WON a £1000 prize. Call 09061701461 now"),
        spam.Message(id="b", text="ok lol see you later"),
    ]
    L = apply_lfs(spam.SMS_LFS, recs, n_classes=2, progress=False)
    spam_row, ham_row = (dict(zip(names, r, strict=True)) for r in L)
    assert spam_row["prize"] == 1 and spam_row["phone_number"] == 1 and spam_row["urgent"] == 1
    assert spam_row["no_digits"] == -1
    assert ham_row["informal"] == 0 and ham_row["short_message"] == 0 and ham_row["no_digits"] == 0
    assert all(ham_row[n] == -1 for n in ("prize", "phone_number", "price", "url"))


def test_youtube_bad_class_names_file_and_line(tmp_path):
    path = tmp_path / "Youtube01-Psy.csv"
    path.write_text(
        "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\na,b,,hello,0\nc,d,,spam me,2\n", encoding="utf-8"
    )
    with pytest.raises(
        ValueError, match=r"Youtube01-Psy\.csv, line 3: CLASS must be 0 \(ham\) or 1"
    ):
        spam.read_youtube_csv(path, video=1)


def test_youtube_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("COMMENT_ID,CONTENT,CLASS\na,hello,0\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"bad\.csv: header lacks column\(s\) \['AUTHOR', 'DATE'\]"
    ):
        spam.read_youtube_csv(path, video=1)


def test_sms_bad_label_names_line(tmp_path):
    path = tmp_path / "SMSSpamCollection"
    path.write_text("ham\thello\nspam\tWIN now\nmaybe\twhat\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"SMSSpamCollection, line 3: label must be 'ham' or 'spam'"
    ):
        spam.read_sms(path)
    path.write_text("ham hello without tab\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected"):
        spam.read_sms(path)


def _spouse_row(label=1, **data):
    base = {
        "sentence": "A married B .", "tokens": ["A", "married", "B", "."],
        "person1_word_idx": [0, 0], "person2_word_idx": [2, 2], "between_tokens": ["married"],
    }  # fmt: skip
    return {"label": label, "weak_labels": [-1] * 9, "data": base | data}


def test_spouse_bad_rows_name_file_and_row(tmp_path):
    path = tmp_path / "valid.json"
    path.write_text(json.dumps({"0": _spouse_row(), "7": _spouse_row(label=3)}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"valid\.json, row '7': label 3 is not in label\.json"):
        spouse.read_split(path)
    path.write_text(json.dumps({"0": _spouse_row(person2_word_idx=[2, 9])}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"row '0': person span \[2, 9\] is outside the 4 tokens"):
        spouse.read_split(path)
    bad = _spouse_row()
    del bad["data"]["tokens"]
    path.write_text(json.dumps({"5": bad}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"row '5': malformed record \(KeyError"):
        spouse.read_split(path)
    path.write_text('{"0": {"label": 1,', encoding="utf-8")
    with pytest.raises(ValueError, match=r"valid\.json: invalid JSON"):
        spouse.read_split(path)


def test_lf_raising_names_lf_and_row():
    recs = [spam.Comment(id="a", author="x", text="fine", video=1),
            spam.Comment(id="b", author="y", text=None, video=1)]  # fmt: skip
    with pytest.raises(
        LFApplicationError, match=r"'keyword_my' raised AttributeError.*record 1"
    ) as info:
        apply_lfs(spam.YOUTUBE_LFS, recs, n_classes=2, progress=False)
    assert info.value.lf_name == "keyword_my" and info.value.index == 1


def test_spouse_lfs_on_example():
    known = frozenset({("Ann Lee", "Bob Ray")})
    lfs = spouse.make_lfs(known)
    cand = spouse.SpouseCandidate(
        id="0", sentence="x", tokens=("his", "wife", "said", "Ann", "Lee", "and", "Bob", "Ray"),
        person1_word_idx=(3, 4), person2_word_idx=(6, 7), between_tokens=("and",),
    )  # fmt: skip
    assert cand.person_names == ("Ann Lee", "Bob Ray")
    assert cand.left_tokens == (("his", "wife"), ("said", "Ann", "Lee"))
    L = apply_lfs(lfs, [cand], n_classes=2, progress=False)[0]
    names = [lf.name for lf in lfs]
    assert dict(zip(names, L, strict=True)) == {
        "lf_husband_wife": -1, "lf_husband_wife_left_window": 1, "lf_same_last_name": -1,
        "lf_married": -1, "lf_familial_relationship": -1, "lf_family_left_window": -1,
        "lf_other_relationship": -1, "lf_distant_supervision": 1,
        "lf_distant_supervision_last_names": 1,
    }  # fmt: skip
