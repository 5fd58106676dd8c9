"""The sequence-model training commands end to end, each at the smallest settings it takes:
`nabla train gpt` and `nabla train char-rnn` on a small text file, then `nabla sample`
from their checkpoints; `nabla train seq2seq-dates` and `nabla train snippet-classifier`
(whose data sizes are not command-line options: see the note above their tests).

What a user relies on: exit status 0, the checkpoints and log.csv written to --out, and
finite metrics that agree with each other (bits per character = loss / ln 2, perplexity
= e^loss) in the log and in what the command prints."""
import csv
import functools
import json
import math

import numpy as np
import pytest

from nabla.cli import main
from nabla.data.datasets import snippets
from nabla.data.datasets.snippets import CodeSnippets

PROMPT, LENGTH = "def f", 40


def _python_text(n_lines: int = 150) -> str:
    """A small, very regular Python text (the corpus a user would pass with --text)."""
    lines = []
    for i in range(n_lines):
        lines += [f"def f{i}(x, y):", f"    return x * {i % 7} + y", ""]
    return "\n".join(lines)


def _log_rows(out_dir) -> list[dict]:
    with open(out_dir / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def _finite(row: dict, keys) -> dict:
    values = {}
    for key in keys:
        assert key in row, f"{key} missing from log.csv columns {sorted(row)}"
        values[key] = float(row[key])
        assert math.isfinite(values[key]), f"{key} = {row[key]}"
    return values


def _check_outputs(out_dir, out: str) -> None:
    for name in ("last.safetensors", "best.safetensors", "log.csv"):
        assert (out_dir / name).is_file(), name
        assert str(out_dir / name) in out, f"{name} not reported in the output"


def _train_one_epoch(args: list, out_dir, capsys) -> tuple:
    """``nabla train ARGS`` for one epoch into ``out_dir``: (what it printed, its log row),
    after checking the files it must write and report."""
    assert main(["train", *args, "--epochs", "1", "--out", str(out_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    _check_outputs(out_dir, out)
    rows = _log_rows(out_dir)
    assert [r["epoch"] for r in rows] == ["1"]
    return out, rows[0]


def _evaluate_json(ckpt, capsys) -> dict:
    assert main(["evaluate", str(ckpt), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _train_language_model(model: str, tmp_path, capsys) -> tuple:
    text = tmp_path / "code.py"
    text.write_text(_python_text())
    out_dir = tmp_path / "run"
    out, row = _train_one_epoch([model, "--text", str(text), "--seq-len", "16"], out_dir,
                                capsys)
    m = _finite(row, ("loss", "val_loss", "val_bpc", "val_perplexity"))
    assert m["val_bpc"] == pytest.approx(m["val_loss"] / math.log(2), rel=1e-4)
    assert m["val_perplexity"] == pytest.approx(math.exp(m["val_loss"]), rel=1e-4)
    # better than a uniform guess over the text's characters (plus <unk>)
    vocab = len(set(text.read_text())) + 1
    assert 0 < m["val_loss"] < math.log(vocab)
    # the printed test metrics agree with each other too
    test = out.split("test ")[1]
    loss, bpc, ppl = (float(test.split(f"{k} ")[1].split(",")[0].split()[0])
                      for k in ("loss", "bpc", "perplexity"))
    assert all(map(math.isfinite, (loss, bpc, ppl)))
    assert bpc == pytest.approx(loss / math.log(2), rel=1e-3)
    assert ppl == pytest.approx(math.exp(loss), rel=1e-3)
    return text, out_dir


def _sample(ckpt, capsys, seed: int = 1) -> str:
    assert main(["sample", str(ckpt), "--prompt", PROMPT, "--length", str(LENGTH),
                 "--seed", str(seed)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return out[:-1]


def _check_sampling(text, out_dir, capsys) -> None:
    ckpt = out_dir / "best.safetensors"
    sample = _sample(ckpt, capsys)
    assert sample.startswith(PROMPT)
    generated = sample[len(PROMPT):]
    assert len(generated) == LENGTH, repr(sample)
    assert set(generated) <= set(text.read_text()), repr(generated)  # no <unk>, no junk
    assert _sample(ckpt, capsys) == sample              # seeded: the same text again
    assert main(["sample", str(ckpt), "--length", "0"]) == 0
    assert capsys.readouterr().out == "\n\n"            # the default prompt, nothing after


def test_train_gpt_then_sample(tmp_path, capsys):
    text, out_dir = _train_language_model("gpt", tmp_path, capsys)
    _check_sampling(text, out_dir, capsys)


def test_train_char_rnn_then_sample(tmp_path, capsys):
    text, out_dir = _train_language_model("char-rnn", tmp_path, capsys)
    _check_sampling(text, out_dir, capsys)


# -- the commands whose data the command line cannot shrink ------------------------------------
# `nabla train seq2seq-dates` always generates 20 000 + 2 000 date pairs and
# `nabla train snippet-classifier` reads every snippet of eight stdlib packages: one epoch
# at the largest useful --batch-size takes ~50 s and ~250 s on 2 cores. These tests run
# the same commands end to end with the datasets shrunk in Python (monkeypatch), so the
# command's wiring -- data, model, fit, checkpoints, log, final report -- is checked in
# seconds.
def test_train_seq2seq_dates(tmp_path, capsys, monkeypatch):
    from nabla.train import tasks
    monkeypatch.setattr(tasks, "seq2seq_dates",
                        functools.partial(tasks.seq2seq_dates, n_train=512, n_test=128))
    out_dir = tmp_path / "run"
    out, row = _train_one_epoch(["seq2seq-dates", "--batch-size", "64"], out_dir, capsys)
    m = _finite(row, ("loss", "val_loss", "token_accuracy", "val_token_accuracy"))
    assert 0.0 <= m["val_token_accuracy"] <= 1.0 and m["val_loss"] > 0
    # 11 target tokens, 13 + 10 + 3 distinct ones: one epoch beats chance
    assert m["val_token_accuracy"] > 0.15
    exact = float(out.split("exact match ")[1].split("%")[0])
    assert 0.0 <= exact <= 100.0 and "128 held-out dates" in out
    report = _evaluate_json(out_dir / "best.safetensors", capsys)
    assert report["model"] == "seq2seq_dates" and report["samples"] == 128
    assert math.isfinite(report["loss"]) and 0.0 <= report["token_accuracy"] <= 1.0
    assert report["exact_match"] == pytest.approx(exact / 100, abs=1e-4)


class _FewSnippets(CodeSnippets):
    """CodeSnippets of 32 characters, 96 of them per split, evenly spaced (every class)."""

    def __init__(self, train=True, **kwargs):
        super().__init__(train=train, snippet_chars=32, **kwargs)
        self._pick = np.linspace(0, super().__len__() - 1, 96).round().astype(int)

    def __len__(self):
        return len(self._pick)

    def __getitem__(self, i):
        return super().__getitem__(int(self._pick[i]))


def test_train_snippet_classifier(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(snippets, "CodeSnippets", _FewSnippets)
    out_dir = tmp_path / "run"
    out, row = _train_one_epoch(["snippet-classifier", "--batch-size", "32"], out_dir, capsys)
    m = _finite(row, ("loss", "accuracy", "val_loss", "val_accuracy"))
    assert 0.0 <= m["accuracy"] <= 1.0 and 0.0 <= m["val_accuracy"] <= 1.0
    assert m["loss"] == pytest.approx(math.log(8), rel=0.5)  # 8 classes, one short epoch
    accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert 0.0 <= accuracy <= 100.0 and "on 96 test samples" in out
    report = _evaluate_json(out_dir / "best.safetensors", capsys)
    assert report["model"] == "snippet_classifier" and report["samples"] == 96
    assert report["accuracy"] == pytest.approx(accuracy / 100, abs=1e-4)


def test_snippet_classifier_on_ones_own_code(tmp_path, capsys):
    """--text DIR: the subdirectories of DIR are the classes, their .py files the data."""
    import os
    import shutil
    import sysconfig
    std = sysconfig.get_paths()["stdlib"]
    own = tmp_path / "code"
    for package, files in {"jsonish": ["json/decoder.py", "json/encoder.py",
                                       "json/scanner.py", "json/__init__.py"],
                           "htmlish": ["html/parser.py", "html/entities.py",
                                       "html/__init__.py"],
                           "textish": ["csv.py", "shlex.py", "textwrap.py"]}.items():
        (own / package).mkdir(parents=True)
        for f in files:
            shutil.copy(os.path.join(std, f), own / package / os.path.basename(f))
    out = tmp_path / "run"
    assert main(["train", "snippet-classifier", "--text", str(own), "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"from {own}, 3 packages (htmlish, jsonish, textish)" in printed
    accuracy = float(printed.split("test accuracy ")[1].split("%")[0])
    assert 0.0 <= accuracy <= 100.0
    report = _evaluate_json(out / "last.safetensors", capsys)
    assert report["accuracy"] * 100 == pytest.approx(accuracy, abs=0.01)
    assert main(["train", "seq2seq-dates", "--text", str(own), "--out", str(tmp_path / "x")]) != 0
    assert "--text is for the language models" in capsys.readouterr().err
