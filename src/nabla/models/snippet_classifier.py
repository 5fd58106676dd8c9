"""Many-to-one sequence classifier: which standard-library package a code snippet is from.

Reference: the many-to-one recurrent architecture of the lectures (e.g.
sentiment classification); bidirectional RNNs: M. Schuster, K. K. Paliwal,
"Bidirectional recurrent neural networks", IEEE Trans. Signal Processing 45(11),
1997.

The snippet's characters are embedded and read by a bidirectional GRU (or
LSTM); the final hidden states of the two directions -- one summary read left
to right, one right to left -- are concatenated and classified by a linear
layer.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..ops.shape import cat
from .char_rnn import CELLS


@dataclass
class Config:
    vocab_size: int = 100
    num_classes: int = 8
    cell: str = "gru"         # "rnn", "lstm" or "gru"
    embed_dim: int = 48
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.2      # before the classifier


class SnippetClassifier(nn.Module):
    """x (B, L) character indices -> logits (B, num_classes)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = c = config or Config()
        if c.cell not in CELLS:
            raise ValueError(f"snippet_classifier: cell must be one of {', '.join(CELLS)}, "
                             f"got {c.cell!r}")
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.rnn = getattr(nn, CELLS[c.cell])(c.embed_dim, c.hidden_size,
                                              num_layers=c.num_layers, batch_first=True,
                                              bidirectional=True)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(2 * c.hidden_size, c.num_classes)

    def forward(self, x):
        _, state = self.rnn(self.embed(x))                    # (2 * layers, B, H)
        h_n = state[0] if isinstance(state, tuple) else state  # an LSTM's (h_n, c_n)
        summary = cat([h_n[-2], h_n[-1]], 1)                   # (B, 2H): last layer, both ways
        return self.head(self.dropout(summary))                # (B, num_classes)


def snippet_classifier(**kwargs) -> SnippetClassifier:
    return SnippetClassifier(Config(**kwargs))
