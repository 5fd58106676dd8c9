"""The model zoo: one model per file, each with a ``Config`` dataclass.

``MODELS`` is the registry the command line reads: name -> constructor,
default dataset, one-line description, training defaults and the kind of task
(``nabla.train.tasks``). Image and toy classifiers take ``input_shape`` (one
sample, e.g. ``(1, 8, 8)``) and ``num_classes``; sequence models take what
their data decides (``vocab_size``, ...); all take their ``Config`` fields as
keywords.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .alexnet import AlexNet, alexnet
from .char_rnn import CharRNN, char_gru, char_lstm, char_rnn, char_vanilla_rnn
from .cifar_net import CifarNet, cifar_net
from .gpt import GPT, gpt
from .lenet import LeNet5, lenet5
from .logistic_regression import LogisticRegression, logistic_regression
from .mlp import MLP, mlp
from .mobilenet import MobileNet, mobilenet
from .resnet import ResNet, resnet, resnet18, resnet20, resnet32
from .seq2seq import Seq2Seq, seq2seq
from .snippet_classifier import SnippetClassifier, snippet_classifier
from .vgg import VGG, vgg, vgg11, vgg16


@dataclass(frozen=True)
class ModelEntry:
    constructor: Callable
    default_dataset: str
    description: str
    # what `nabla train` uses unless told otherwise (optimizer, lr, epochs, ...)
    train_defaults: dict = field(default_factory=dict)
    # Config fields `nabla train` sets (regularisation the paper did not need)
    model_defaults: dict = field(default_factory=dict)
    # "classification", "language-model", "seq2seq" or "text-classification"
    task: str = "classification"
    # a convolutional net: its inputs are images (C, H, W), never vectors
    images: bool = False


_SMALL = {"epochs": 10, "batch_size": 64, "optimizer": "adam", "lr": 1e-3}
_CONV = {"epochs": 10, "batch_size": 128, "optimizer": "sgd", "lr": 0.05}
_CHAR_LM = {"epochs": 4, "batch_size": 32, "seq_len": 64, "optimizer": "adam", "lr": 2e-3,
            "clip_grad_norm": 1.0}

MODELS: dict[str, ModelEntry] = {
    "logistic_regression": ModelEntry(logistic_regression, "digits",
                                      "multinomial logistic regression (one linear layer)",
                                      {**_SMALL, "epochs": 20, "lr": 1e-2}),
    "mlp": ModelEntry(mlp, "digits", "multi-layer perceptron, ReLU, 2 hidden layers",
                      {**_SMALL, "epochs": 20}),
    "lenet5": ModelEntry(lenet5, "digits", "LeNet-5 (LeCun et al. 1998), 8x8 inputs upsampled "
                         "to 32x32", {"epochs": 30, "batch_size": 32, "optimizer": "adamw",
                                      "lr": 2e-3, "label_smoothing": 0.1}, {"dropout": 0.3}, images=True),
    "cifar_net": ModelEntry(cifar_net, "digits32", "the PyTorch tutorial CIFAR-10 net",
                            {"epochs": 10, "batch_size": 4, "optimizer": "sgd", "lr": 1e-3,
                             "momentum": 0.9}, images=True),
    "alexnet": ModelEntry(alexnet, "digits32", "small AlexNet-style net (Krizhevsky et al. 2012)",
                          _CONV, images=True),
    "vgg11": ModelEntry(vgg11, "digits32", "VGG-11 with batch norm (Simonyan & Zisserman 2015)",
                        _CONV, images=True),
    "vgg16": ModelEntry(vgg16, "digits32", "VGG-16 with batch norm", _CONV, images=True),
    "resnet20": ModelEntry(resnet20, "digits32", "CIFAR ResNet-20 (He et al. 2016)", _CONV, images=True),
    "resnet32": ModelEntry(resnet32, "digits32", "CIFAR ResNet-32", _CONV, images=True),
    "resnet18": ModelEntry(resnet18, "digits32", "ResNet-18, 3x3 stem for small images", _CONV, images=True),
    "mobilenet": ModelEntry(mobilenet, "digits32", "MobileNet v1, depthwise-separable "
                            "(Howard et al. 2017)", _CONV, images=True),
    # sequences (nabla.train.tasks): text from Python's standard library, generated dates
    "char_lstm": ModelEntry(char_lstm, "stdlib-text", "character-level LSTM language model "
                            "(Hochreiter & Schmidhuber 1997)", _CHAR_LM, task="language-model"),
    "char_gru": ModelEntry(char_gru, "stdlib-text", "character-level GRU language model "
                           "(Cho et al. 2014)", _CHAR_LM, task="language-model"),
    "char_rnn": ModelEntry(char_vanilla_rnn, "stdlib-text", "character-level vanilla (tanh) "
                           "RNN language model", {**_CHAR_LM, "lr": 1e-3}, task="language-model"),
    "gpt": ModelEntry(gpt, "stdlib-text", "GPT-style decoder-only Transformer language model "
                      "(Radford et al. 2018/2019), character level",
                      {"epochs": 3, "batch_size": 16, "seq_len": 128, "optimizer": "adamw",
                       "lr": 1e-3, "clip_grad_norm": 1.0},
                      {"block_size": 128, "d_model": 128, "n_layer": 4, "n_head": 4},
                      task="language-model"),
    "seq2seq_dates": ModelEntry(seq2seq, "dates", "GRU encoder-decoder with attention (Luong "
                                "et al. 2015): written dates to ISO",
                                {"epochs": 6, "batch_size": 64, "optimizer": "adam", "lr": 3e-3,
                                 "clip_grad_norm": 1.0}, task="seq2seq"),
    "snippet_classifier": ModelEntry(snippet_classifier, "snippets", "bidirectional GRU: which "
                                     "stdlib package a code snippet is from",
                                     {"epochs": 8, "batch_size": 64, "optimizer": "adam",
                                      "lr": 2e-3, "clip_grad_norm": 1.0},
                                     task="text-classification"),
}

ALIASES = {"lenet": "lenet5", "logreg": "logistic_regression", "vgg": "vgg11",
           "resnet": "resnet20"}


def resolve_name(name: str) -> str:
    """The registry name for ``name`` or an alias; KeyError naming the choices."""
    key = name.lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return key


def get_model(name: str, **kwargs):
    """Build a zoo model by name, e.g. ``get_model("lenet5", input_shape=(1, 28, 28))``."""
    return MODELS[resolve_name(name)].constructor(**kwargs)


def list_models() -> list[str]:
    return list(MODELS)


__all__ = ["MODELS", "ALIASES", "ModelEntry", "get_model", "list_models", "resolve_name",
           "LogisticRegression", "logistic_regression", "MLP", "mlp", "LeNet5", "lenet5",
           "CifarNet", "cifar_net", "AlexNet", "alexnet", "VGG", "vgg", "vgg11", "vgg16",
           "ResNet", "resnet", "resnet18", "resnet20", "resnet32", "MobileNet", "mobilenet",
           "CharRNN", "char_rnn", "char_lstm", "char_gru", "char_vanilla_rnn", "Seq2Seq",
           "seq2seq", "SnippetClassifier", "snippet_classifier", "GPT", "gpt"]
