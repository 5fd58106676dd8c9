"""Character-level language model with a recurrent core: vanilla RNN, LSTM or GRU.

References: A. Karpathy, "The unreasonable effectiveness of recurrent neural
networks" (2015, char-rnn); S. Hochreiter, J. Schmidhuber, "Long short-term
memory", Neural Computation 9(8), 1997; K. Cho et al., "Learning phrase
representations using RNN encoder-decoder for statistical machine
translation", EMNLP 2014 (the GRU).

The model reads characters as indices and predicts the next one at every
position: p(x_{t+1} | x_1..x_t) = softmax(W_hy h_t + b_y). The embedding is
the one-hot input of the lectures multiplied by a matrix, done as a lookup.
Generation samples one character at a time and feeds it back, carrying the
hidden state (``step``; see ``nabla.models.generation.generate``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn

CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass
class Config:
    vocab_size: int = 100
    cell: str = "lstm"        # "rnn" (tanh), "lstm" or "gru"
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0      # between stacked layers and before the head


class CharRNN(nn.Module):
    """x (B, T) character indices -> logits (B, T, vocab_size) of the next character."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or Config()
        if config.cell not in CELLS:
            raise ValueError(f"char_rnn: cell must be one of {', '.join(CELLS)}, got "
                             f"{config.cell!r}")
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.rnn = getattr(nn, CELLS[config.cell])(
            config.embed_dim, config.hidden_size, num_layers=config.num_layers,
            batch_first=True, dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def step(self, x, state=None):
        """x (B, T) -> (logits (B, T, V), state): the state to continue from."""
        h, state = self.rnn(self.embed(x), state)  # (B, T, H)
        return self.head(self.dropout(h)), state   # (B, T, V)

    def forward(self, x):
        return self.step(x)[0]


def char_rnn(**kwargs) -> CharRNN:
    return CharRNN(Config(**kwargs))


def char_lstm(**kwargs) -> CharRNN:
    return CharRNN(Config(**{"cell": "lstm", **kwargs}))


def char_gru(**kwargs) -> CharRNN:
    return CharRNN(Config(**{"cell": "gru", **kwargs}))


def char_vanilla_rnn(**kwargs) -> CharRNN:
    return CharRNN(Config(**{"cell": "rnn", **kwargs}))
