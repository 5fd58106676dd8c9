"""What a sequence model trains on and how it is scored: one ``Task`` per kind of model.

The fit loop is the same for every model; what differs is the data, the loss,
the metrics and what is reported at the end. A ``Task`` bundles these for the
command line (``nabla train char-lstm``, ``gpt``, ``seq2seq-dates``,
``snippet-classifier``) and for Python users:

- ``language_model``: next-character prediction on a text corpus (Python's
  standard library by default, or any text file or directory); metrics are
  the loss in nats, bits per character and perplexity, against the corpus's
  unigram entropy as the baseline to beat;
- ``seq2seq_dates``: human-written dates to ISO dates with teacher forcing,
  scored by token accuracy while training and by exact match of greedy
  decodes at the end;
- ``text_classification``: many-to-one classification of character sequences
  (which standard-library package a code snippet is from), scored by accuracy.

A task's ``meta`` holds what a checkpoint needs to rebuild the data and the
vocabulary (``rebuild`` reads it back): for a language model, the corpus's
source, size and hash, and the vocabulary itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.functional import cross_entropy

__all__ = ["Task", "TokenCrossEntropy", "language_model", "seq2seq_dates",
           "text_classification", "rebuild", "exact_match", "compilable_line_share",
           "DEFAULT_MAX_CHARS"]

# the default corpus: enough of the standard library for minutes of training on 2 cores
DEFAULT_MAX_CHARS = 1_500_000


class TokenCrossEntropy:
    """Mean cross-entropy of logits (B, T, V) -- classes last, a sequence model's layout
    -- against target ids (B, T); positions holding ``ignore_index`` do not count."""

    def __init__(self, ignore_index: int = -100):
        self.ignore_index = ignore_index

    def __call__(self, output, target):
        if output.ndim != target.ndim + 1 or tuple(output.shape[:-1]) != tuple(target.shape):
            raise ValueError(f"TokenCrossEntropy: logits (B, T, V) need targets (B, T); got "
                             f"logits {tuple(output.shape)} and targets {tuple(target.shape)}")
        return cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1),
                             ignore_index=self.ignore_index)

    def __repr__(self) -> str:
        return f"TokenCrossEntropy(ignore_index={self.ignore_index})"


@dataclass
class Task:
    """Everything ``nabla train`` needs besides the model and the optimizer."""

    kind: str
    train_set: object
    val_set: object
    test_set: object
    model_config: dict            # constructor keywords the data decides (vocabulary size...)
    loss_fn: Callable
    metrics: tuple
    monitor: str                  # the validation metric that picks the best checkpoint
    description: str              # "stdlib-text: 1,500,000 characters, 412 files, ..."
    meta: dict = field(default_factory=dict)     # JSON: what ``rebuild`` needs
    # model -> (metrics beyond the loop's, e.g. exact match; lines to print after training)
    final: Callable | None = None
    # the loss reported on the test split, when it differs from the training loss
    # (label smoothing trains on a smoothed loss; the test reports the plain one)
    test_loss_fn: Callable | None = None


# -- validation sets --------------------------------------------------------------------------
#: every VALIDATION_EVERY-th training example is held out for validation
VALIDATION_EVERY = 10


def holdout(dataset, every: int = VALIDATION_EVERY) -> tuple:
    """(train, validation) subsets of a training split: the examples at indices every-1,
    2*every-1, ... are held out, the same ones whatever the seed. The best checkpoint is
    then chosen on data the model never trained on, without looking at the test split,
    which is read once, at the end."""
    from ..data import Subset
    n = len(dataset)
    return (Subset(dataset, [i for i in range(n) if i % every != every - 1]),
            Subset(dataset, list(range(every - 1, n, every))))


# -- language models ---------------------------------------------------------------------------
def language_model(seq_len: int, text: str | None = None, max_chars: int | None = None,
                   vocab=None) -> Task:
    """Next-character prediction on ``text`` (a file or directory) or, by default, the
    standard library's source (``max_chars`` of it), in windows of ``seq_len``."""
    from ..data.text import (CharLMDataset, CharVocab, TextCorpus, stdlib_corpus,
                             unigram_entropy_bits)
    if text is not None:
        corpus = TextCorpus.from_path(text)
    else:
        corpus = stdlib_corpus(max_chars=max_chars or DEFAULT_MAX_CHARS)
    vocab = vocab if vocab is not None else CharVocab(corpus.train, unk=True)
    sets = [CharLMDataset(vocab.encode(part), seq_len)
            for part in (corpus.train, corpus.val, corpus.test)]
    baseline = float(unigram_entropy_bits(corpus.train))
    meta = {"task": "language-model", "seq_len": int(seq_len), "text": text,
            "max_chars": None if text is not None else int(max_chars or DEFAULT_MAX_CHARS),
            "corpus": {"source": corpus.source, "num_chars": int(corpus.num_chars),
                       "sha256": corpus.sha256, "files": len(corpus.files)},
            "vocab": vocab.to_dict(), "unigram_bits": baseline}
    name = text or "stdlib-text"
    description = (f"{name}: {corpus.num_chars:,} characters from {len(corpus.files)} "
                   f"file(s) (sha256 {corpus.sha256[:12]}), vocabulary {len(vocab)}, "
                   f"windows of {seq_len}; unigram entropy {baseline:.3f} bits/char")

    def final(model) -> tuple[dict, list[str]]:
        from ..models.generation import generate
        sample = vocab.decode(generate(model, vocab.encode("\n"), 400, temperature=0.8,
                                       seed=0))
        share, lines = compilable_line_share(sample)
        return ({"unigram_bpc": baseline, "sample_compilable_lines": share},
                [f"unigram baseline {baseline:.3f} bits/char (a model that ignores context)",
                 f"a sample at temperature 0.8 ({100 * share:.0f}% of its {lines} lines "
                 f"compile as Python):", *("  | " + line for line in sample.splitlines())])

    return Task("language-model", *sets, {"vocab_size": len(vocab)}, TokenCrossEntropy(),
                ("loss", "bpc", "perplexity", "token_accuracy"), "val_loss", description,
                meta, final)


# the contexts a lone line may need: inside a function and a loop (return, yield, await,
# break), after an if (else, elif) or a try (except, finally)
_LINE_CONTEXTS = ("", "def _():\n for _ in _:\n  ", "async def _():\n for _ in _:\n  ",
                  "if 1: pass\n", "try: pass\n")


def compilable_line_share(text: str) -> tuple[float, int]:
    """(share of the non-blank lines of ``text`` that Python compiles, number of such
    lines): how Python-like a sample is, line by line. A line is dedented and may sit in
    the context it needs (a function, a loop, after an ``if`` or a ``try``); a block
    header (``def f(x):``) counts when it compiles with ``pass`` as its body."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    good = 0
    for line in lines:
        good += any(_compiles(context + line + suffix)
                    for context in _LINE_CONTEXTS for suffix in ("", " pass"))
    return (good / len(lines) if lines else 0.0), len(lines)


def _compiles(source: str) -> bool:
    try:
        compile(source, "<sample>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


# -- seq2seq: dates --------------------------------------------------------------------------
class _TeacherForcing:
    """(source, target) pairs as (source, target[:-1], target[1:]): the decoder reads the
    true previous token and predicts the next."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        src, tgt = self.dataset[i]
        return src, tgt[:-1], tgt[1:]


def seq2seq_dates(n_train: int = 20_000, n_test: int = 2_000, seed: int = 0) -> Task:
    """Human-written dates ("3 march 1999", "Mar 3rd, 99") to ISO ("1999-03-03")."""
    from ..data.datasets.dates import Dates
    train = Dates(n_train, train=True, seed=seed)
    test = Dates(n_test, train=False, seed=seed)
    src_vocab, tgt_vocab = train.source_vocab, train.target_vocab
    pad = tgt_vocab.pad_id
    config = {"src_vocab_size": len(src_vocab), "tgt_vocab_size": len(tgt_vocab),
              "pad_id": pad, "bos_id": tgt_vocab.bos_id, "eos_id": tgt_vocab.eos_id}
    if src_vocab.pad_id != pad:
        raise ValueError("seq2seq_dates: source and target vocabularies must share the "
                         "padding index")
    from .metrics import TokenAccuracy
    fit_set, val_set = holdout(_TeacherForcing(train))
    description = (f"dates: {len(fit_set):,} train / {len(val_set):,} validation / "
                   f"{len(test):,} test generated date pairs "
                   f"(test dates never seen in training), source vocabulary "
                   f"{len(src_vocab)}, target vocabulary {len(tgt_vocab)}")
    meta = {"task": "seq2seq", "data": {"n_train": n_train, "n_test": n_test, "seed": seed}}

    def final(model) -> tuple[dict, list[str]]:
        score, examples = exact_match(model, test)
        lines = [f"exact match {100 * score:.2f}% on {len(test):,} held-out dates (greedy "
                 f"decoding)"]
        for s, p, t in examples[:3]:
            lines.append(f"  {src_vocab.decode(_until(s, pad))!r} -> "
                         f"{tgt_vocab.decode(_until(p, tgt_vocab.eos_id))!r}")
        return {"exact_match": score}, lines

    return Task("seq2seq", fit_set, val_set, _TeacherForcing(test),
                config, TokenCrossEntropy(ignore_index=pad),
                ("loss", TokenAccuracy(ignore_index=pad)), "val_token_accuracy", description,
                meta, final)


def exact_match(model, dataset, batch_size: int = 256) -> tuple[float, list]:
    """Share of ``dataset``'s (source, target) pairs whose greedy decode equals the target
    exactly, and a few (source, decoded, target) examples as text."""
    from ..ops.creation import tensor
    model_was_training = model.training
    model.eval()
    device = next(iter(model.parameters())).device
    hits, total, examples = 0, 0, []
    try:
        with no_grad():
            for start in range(0, len(dataset), batch_size):
                items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
                src = tensor(np.stack([s for s, _ in items]), device=device)
                tgt = np.stack([t for _, t in items])[:, 1:]           # without <bos>
                pred = model.greedy_decode(src, tgt.shape[1]).cpu().numpy()
                eos = model.config.eos_id
                for s, p, t in zip(src.cpu().numpy(), pred, tgt):
                    ok = _until(p, eos) == _until(t, eos)
                    hits += ok
                    total += 1
                    if len(examples) < 5:
                        examples.append((s, p, t))
    finally:
        model.train(model_was_training)
    return hits / max(total, 1), examples


def _until(ids, stop: int) -> list[int]:
    ids = [int(i) for i in ids]
    return ids[:ids.index(stop)] if stop in ids else ids


# -- many-to-one text classification ----------------------------------------------------------
def text_classification(text: str | None = None) -> Task:
    """Which standard-library package a code snippet comes from; with ``text`` (a
    directory), which of its subdirectories."""
    from ..data.datasets.snippets import CodeSnippets
    train = CodeSnippets(train=True, root=text)
    test = CodeSnippets(train=False, root=text, packages=train.classes)
    classes = list(train.classes)
    vocab_size = len(train.vocab)
    train, val = holdout(train)
    source = "the standard library" if text is None else text
    description = (f"snippets: {len(train):,} train / {len(val):,} validation / "
                   f"{len(test):,} test code snippets "
                   f"from {source}, {len(classes)} packages "
                   f"({', '.join(classes)}); chance {100 / len(classes):.1f}%")
    from ..nn import CrossEntropyLoss
    meta = {"task": "text-classification", "classes": classes, "text": text}
    return Task("text-classification", train, val, test,
                {"vocab_size": vocab_size, "num_classes": len(classes)},
                CrossEntropyLoss(), ("loss", "accuracy"), "val_accuracy", description, meta)


def rebuild(meta: dict) -> Task:
    """The task a checkpoint was trained on, from its ``meta`` (same data, same vocabulary)."""
    kind = meta.get("task")
    if kind == "language-model":
        from ..data.text import CharVocab
        return language_model(meta["seq_len"], meta.get("text"), meta.get("max_chars"),
                              vocab=CharVocab.from_dict(meta["vocab"]))
    if kind == "seq2seq":
        return seq2seq_dates(**meta.get("data", {}))
    if kind == "text-classification":
        return text_classification(meta.get("text"))
    raise ValueError(f"unknown task {kind!r} in the checkpoint's metadata")
