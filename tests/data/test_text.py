"""Text data: read_text, CharVocab, TextCorpus (own files and the stdlib corpus),
CharLMDataset and unigram entropy, on small files written here."""
import hashlib
import json
import math
import os
import sysconfig

import numpy as np
import pytest

import nabla as nb
from nabla.data import (CharLMDataset, CharVocab, DataLoader, StdlibText, TextCorpus, datasets,
                        read_text, stdlib_corpus, unigram_entropy_bits)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# -- read_text ------------------------------------------------------------------------------
def test_read_text_file_keeps_text_exactly(tmp_path):
    text = "héllo\r\nwörld ✓\n"
    assert read_text(write(tmp_path / "a.txt", text)) == text


def test_read_text_directory_sorted_recursive_with_pattern(tmp_path):
    write(tmp_path / "b.py", "B\n")
    write(tmp_path / "a.py", "A\n")
    write(tmp_path / "sub" / "c.py", "C\n")
    write(tmp_path / "notes.txt", "N\n")
    write(tmp_path / ".hidden" / "d.py", "D\n")
    write(tmp_path / ".e.py", "E\n")
    assert read_text(tmp_path, pattern="*.py") == "A\nB\nC\n"
    assert read_text(tmp_path) == "A\nB\nN\nC\n"  # sorted relative paths: notes.txt < sub/


def test_read_text_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt: no such file"):
        read_text(missing)
    with pytest.raises(ValueError, match=r"empty\.txt: empty file"):
        read_text(write(tmp_path / "empty.txt", ""))
    bad = write(tmp_path / "bad.txt", b"abc\xffdef")
    with pytest.raises(ValueError, match=r"bad\.txt: not UTF-8 text: byte 0xff at byte offset 3"):
        read_text(bad)
    d = tmp_path / "dir"
    write(d / "x.txt", "text")
    with pytest.raises(FileNotFoundError, match=r"dir: no files matching '\*\.py'"):
        read_text(d, pattern="*.py")
    write(d / "sub" / "bad.py", b"ok\n\xc3(")
    with pytest.raises(ValueError, match=r"bad\.py: not UTF-8 text: byte 0xc3 at byte offset 3"):
        read_text(d)
    e = tmp_path / "empties"
    write(e / "a.py", "")
    write(e / "b.py", "")
    with pytest.raises(ValueError, match=r"empties: empty corpus: the 2 files are all empty"):
        read_text(e)


# -- CharVocab ------------------------------------------------------------------------------
def test_vocab_sorted_ids_and_round_trip():
    v = CharVocab("hello world")
    assert v.itos == [" ", "d", "e", "h", "l", "o", "r", "w"] and len(v) == 8
    ids = v.encode("hello")
    assert ids.dtype == np.int64 and ids.tolist() == [3, 2, 4, 4, 5]
    assert v.decode(ids) == "hello"
    assert v.decode(ids.tolist()) == "hello"
    assert v.decode(nb.tensor(ids)) == "hello"
    assert v.decode([]) == "" and v.encode("").shape == (0,)
    assert CharVocab(["ab", "ca"]) == CharVocab("abc")  # an iterable of strings
    # build order never matters: the same characters give the same vocabulary
    assert CharVocab("dlrow olleh") == v


def test_vocab_unknown_characters():
    v = CharVocab("abc")
    with pytest.raises(ValueError, match=r"character 'z' \(U\+007A\) at position 2 is not in "
                                         r"the vocabulary \(3 characters; 2 unknown"):
        v.encode("abzz")
    u = CharVocab("abc", specials=("<pad>",), unk=True)
    assert u.itos[:2] == ["<pad>", "<unk>"] and u.unk_id == 1 and u["a"] == 2
    ids = u.encode("azbé")
    assert ids.tolist() == [2, 1, 3, 1]
    assert u.decode(ids) == "a<unk>b<unk>"
    assert u.decode(ids, skip_specials=True) == "ab"


def test_vocab_bad_arguments():
    with pytest.raises(ValueError, match="at least two characters"):
        CharVocab("ab", specials=("x",))
    with pytest.raises(ValueError, match="'<unk>' is reserved"):
        CharVocab("ab", specials=("<unk>",))
    with pytest.raises(ValueError, match="specials should be distinct"):
        CharVocab("ab", specials=("<s>", "<s>"))
    v = CharVocab("ab")
    with pytest.raises(TypeError, match="encode: expected a str, got list"):
        v.encode(["a"])
    with pytest.raises(ValueError, match=r"decode: expected a 1-D sequence of ids, got shape "
                                         r"\(1, 2\)"):
        v.decode([[0, 1]])
    with pytest.raises(ValueError, match="id 2 is out of range for a vocabulary of 2 tokens"):
        v.decode([0, 2])
    with pytest.raises(TypeError, match="expected integer ids, got dtype float64"):
        v.decode([0.0])
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        v["z"]


def test_vocab_save_load_and_dict(tmp_path):
    v = CharVocab('print("héllo")\n', specials=("<pad>", "<bos>"), unk=True)
    path = tmp_path / "vocab.json"
    v.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temporary file left
    loaded = CharVocab.load(path)
    assert loaded == v and loaded.itos == v.itos and loaded.unk_id == v.unk_id
    assert json.loads(path.read_text(encoding="utf-8")) == v.to_dict()
    assert CharVocab.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    text = 'print("hé")'
    np.testing.assert_array_equal(loaded.encode(text), v.encode(text))
    write(tmp_path / "broken.json", "{")
    with pytest.raises(ValueError, match=r"broken\.json: not a JSON file"):
        CharVocab.load(tmp_path / "broken.json")
    write(tmp_path / "other.json", '{"type": "Other"}')
    with pytest.raises(ValueError, match=r"other\.json: CharVocab.from_dict: expected a dict "
                                         r"with type 'CharVocab'"):
        CharVocab.load(tmp_path / "other.json")
    with pytest.raises(FileNotFoundError, match="missing.json: no such file"):
        CharVocab.load(tmp_path / "missing.json")


# -- unigram entropy ------------------------------------------------------------------------
def test_unigram_entropy_bits():
    assert unigram_entropy_bits("aaaa") == 0.0
    assert unigram_entropy_bits("abab") == pytest.approx(1.0)
    assert unigram_entropy_bits("abcd" * 5) == pytest.approx(2.0)
    # p = (1/2, 1/4, 1/4): 1/2 * 1 + 2 * 1/4 * 2 = 1.5 bits
    assert unigram_entropy_bits("aabc") == pytest.approx(1.5)
    with pytest.raises(ValueError, match="non-empty str"):
        unigram_entropy_bits("")


# -- TextCorpus -----------------------------------------------------------------------------
def test_corpus_single_file_split_by_ranges(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    c = TextCorpus.from_path(write(tmp_path / "t.txt", text), split=(0.8, 0.1, 0.1))
    assert (c.train, c.val, c.test) == (text[:800], text[800:900], text[900:])
    assert c.split_by == "range" and c.files == ("t.txt",) and c.split_files is None
    assert c.num_chars == 1000 and c.text == text
    assert c.sha256 == hashlib.sha256(text.encode()).hexdigest()
    with pytest.raises(ValueError, match="5 characters are too few to split .* the test split "
                                         "would be empty"):
        TextCorpus.from_path(write(tmp_path / "short.txt", "abcde"))
    with pytest.raises(ValueError, match="split should be three fractions"):
        TextCorpus.from_path(tmp_path / "t.txt", split=(0.5, 0.2, 0.2))


def test_corpus_directory_split_by_file(tmp_path):
    sizes = {f"f{i:02d}.txt": 100 for i in range(20)}
    for name in sizes:
        write(tmp_path / "d" / name, name[:3] * 33 + "\n")
    write(tmp_path / "d" / "empty.txt", "")
    c = TextCorpus.from_path(tmp_path / "d")
    assert c.split_by == "file"
    # the last files (sorted) go to test, then val; empty files are skipped
    assert c.split_files == {"train": tuple(f"f{i:02d}.txt" for i in range(18)),
                             "val": ("f18.txt",), "test": ("f19.txt",)}
    assert c.files == tuple(f"f{i:02d}.txt" for i in range(20))
    assert c.text == read_text(tmp_path / "d") and c.num_chars == 2000
    assert c.val == "f18" * 33 + "\n" and c.test == "f19" * 33 + "\n"


def test_corpus_directory_falls_back_to_ranges(tmp_path):
    # one big file and one small: no assignment of files gives 10 % to val and test
    write(tmp_path / "d" / "big.txt", "x" * 900)
    write(tmp_path / "d" / "small.txt", "y" * 100)
    c = TextCorpus.from_path(tmp_path / "d", split=(0.8, 0.1, 0.1))
    assert c.split_by == "range"
    assert (c.train, c.val, c.test) == ("x" * 800, "x" * 100, "y" * 100)


def test_stdlib_corpus_deterministic_without_tests():
    a, b = stdlib_corpus(max_chars=200_000), stdlib_corpus(max_chars=200_000)
    assert a.sha256 == b.sha256 and a.files == b.files and a.text == b.text
    assert a.sha256 == hashlib.sha256(a.text.encode("utf-8")).hexdigest()
    assert 190_000 < a.num_chars <= 200_000 and a.num_chars == len(a.text)
    assert a.split_by == "file" and "standard library" in a.source
    assert sum(map(len, a.split_files.values())) == len(a.files) == len(set(a.files))
    for name in ("val", "test"):  # close to 5 % each
        assert 0.03 < len(getattr(a, name)) / a.num_chars <= 0.05
    for f in a.files:
        parts = f.split("/")
        assert f.endswith(".py") and not parts[-1].startswith("test_")
        assert not {"test", "tests", "idle_test", "site-packages", "encodings"} & set(parts)
    # the corpus is the named files, in order, concatenated
    root = sysconfig.get_paths()["stdlib"]
    assert a.text == "".join(read_text(os.path.join(root, f)) for f in a.files)
    # a larger corpus is another selection, also within its budget
    assert stdlib_corpus(max_chars=300_000).num_chars > a.num_chars


def test_stdlib_corpus_bad_arguments():
    with pytest.raises(ValueError, match="max_chars should be a positive integer"):
        stdlib_corpus(max_chars=0)
    with pytest.raises(ValueError, match="split should be three fractions"):
        stdlib_corpus(split=(0.9, 0.1))


# -- CharLMDataset ---------------------------------------------------------------------------
def test_charlm_windows_and_shift():
    ids = np.arange(23)
    ds = CharLMDataset(ids, seq_len=5)
    assert len(ds) == 4  # (23 - 1) // 5
    for i in range(4):
        x, y = ds[i]
        assert x.dtype == np.int64 and x.shape == y.shape == (5,)
        np.testing.assert_array_equal(x, np.arange(5 * i, 5 * i + 5))
        np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(ds[-1][0], ds[3][0])
    with pytest.raises(IndexError, match="index 4 is out of range for 4 windows"):
        ds[4]
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 5) and xb.dtype == nb.int64
    np.testing.assert_array_equal(yb.numpy()[:, :-1], xb.numpy()[:, 1:])


def test_charlm_errors():
    with pytest.raises(ValueError, match=r"a text of 5 ids gives no window of seq_len=5: it "
                                         r"needs at least 6"):
        CharLMDataset(np.arange(5), seq_len=5)
    assert len(CharLMDataset(np.arange(6), seq_len=5)) == 1
    with pytest.raises(ValueError, match="seq_len should be a positive integer"):
        CharLMDataset(np.arange(6), seq_len=0)
    with pytest.raises(ValueError, match=r"1-D sequence of integer ids, got shape \(2, 3\)"):
        CharLMDataset(np.zeros((2, 3), dtype=np.int64), seq_len=1)


def test_stdlib_text_dataset_and_registry():
    train = StdlibText(seq_len=64, max_chars=100_000)
    val = StdlibText(split="val", seq_len=64, max_chars=100_000)
    assert train.vocab == val.vocab and train.vocab.unk_id == 0
    assert len(train) == (len(train.corpus.train) - 1) // 64
    x, y = train[0]
    assert train.vocab.decode(x) == train.corpus.train[:64]
    assert train.vocab.decode(y) == train.corpus.train[1:65]
    np.testing.assert_array_equal(val[0][0], train.vocab.encode(val.corpus.val[:64]))
    entry = datasets.available()["stdlib-text"]
    assert entry.cls is StdlibText and "bundled with Python" in entry.description
    assert len(datasets.get("stdlib-text", max_chars=50_000, train=False)) > 0


def test_unigram_entropy_of_stdlib_is_a_real_baseline():
    c = stdlib_corpus(max_chars=100_000)
    h = unigram_entropy_bits(c.train)
    # Python source: dozens of characters, far from uniform over them
    assert 4.0 < h < math.log2(len(set(c.train)))
