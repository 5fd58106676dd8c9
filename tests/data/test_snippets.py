"""Code snippets labelled by stdlib package: labels, split by file, determinism, classes."""
import os
import sysconfig

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, datasets, read_text
from nabla.data.datasets import CodeSnippets
from nabla.data.datasets.snippets import DEFAULT_PACKAGES

ROOT = sysconfig.get_paths()["stdlib"]


@pytest.fixture(scope="module")
def splits():
    return CodeSnippets(), CodeSnippets(train=False)


def test_labels_match_the_files_package_and_the_text(splits):
    for ds in splits:
        assert ds.classes == list(DEFAULT_PACKAGES) and ds.num_classes == 8
        texts = {}
        for i in range(0, len(ds), 37):
            ids, label = ds[i]
            name, start = ds.sources[i]
            assert ids.dtype == np.int64 and ids.shape == (256,)
            assert isinstance(label, np.int64) and name.split("/")[0] == ds.classes[label]
            text = texts.setdefault(name, read_text(os.path.join(ROOT, name)))
            assert start == 0 or text[start - 1] == "\n"  # snippets start at a line
            np.testing.assert_array_equal(ids, ds.vocab.encode(text[start:start + 256]))


def test_split_by_file(splits):
    train, test = splits
    assert not set(train.files) & set(test.files)
    assert {name for name, _ in train.sources} <= set(train.files)
    assert {name for name, _ in test.sources} <= set(test.files)
    assert not any("/test/" in f or "/tests/" in f for f in train.files + test.files)
    share = len(test) / (len(train) + len(test))
    assert 0.1 < share < 0.3  # about test_fraction of the snippets


def test_all_classes_present_and_counts(splits):
    for ds in splits:
        counts = np.bincount([int(ds[i][1]) for i in range(len(ds))], minlength=8)
        assert (counts > 50).all()
        assert ds.class_counts == dict(zip(ds.classes, counts.tolist()))
    balanced = CodeSnippets(train=False, balanced=True)
    assert len(set(balanced.class_counts.values())) == 1
    assert len(balanced) == 8 * min(splits[1].class_counts.values())


def test_deterministic_and_shared_vocab(splits):
    again = CodeSnippets(train=False)
    assert again.sources == splits[1].sources and again.files == splits[1].files
    np.testing.assert_array_equal(again[10][0], splits[1][10][0])
    assert splits[0].vocab == splits[1].vocab and splits[0].vocab.unk_id is not None


def test_options_and_errors():
    small = CodeSnippets(packages=("json", "logging"), snippet_chars=64, test_fraction=0.3)
    assert small.classes == ["json", "logging"] and small[0][0].shape == (64,)
    with pytest.raises(ValueError, match="no package 'nopackage' in the standard library"):
        CodeSnippets(packages=("json", "nopackage"))
    with pytest.raises(ValueError, match="at least two distinct package names"):
        CodeSnippets(packages=("json",))
    with pytest.raises(ValueError, match="snippet_chars should be a positive integer"):
        CodeSnippets(snippet_chars=0)


def test_loader_and_registry():
    entry = datasets.available()["snippets"]
    assert entry.cls is CodeSnippets and "bundled with Python" in entry.description
    ds = datasets.get("snippets", train=False, snippet_chars=128)
    x, y = next(iter(DataLoader(ds, batch_size=16)))
    assert x.shape == (16, 128) and x.dtype == nb.int64 and y.shape == (16,)


def test_snippets_of_ones_own_directory(tmp_path):
    from nabla.data.datasets.snippets import CodeSnippets
    for cls, body in (("alpha", "x = 1\n"), ("beta", "def f(y):\n    return y\n")):
        (tmp_path / cls).mkdir()
        for k in range(3):
            (tmp_path / cls / f"m{k}.py").write_text(body * 40)
    (tmp_path / "empty").mkdir()  # no .py files: not a class
    train = CodeSnippets(root=str(tmp_path), snippet_chars=32)
    test = CodeSnippets(train=False, root=str(tmp_path), snippet_chars=32)
    assert train.classes == test.classes == ["alpha", "beta"]
    assert set(train.files).isdisjoint(test.files)  # split by file
    ids, label = train[0]
    assert ids.shape == (32,) and train.vocab.decode(ids.tolist()).startswith(("x = 1", "def f"))
    with pytest.raises(ValueError, match="is not a directory"):
        CodeSnippets(root=str(tmp_path / "nope"))
