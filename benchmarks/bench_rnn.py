"""Training-step time of a character LSTM against PyTorch 2.13 CPU, in one run (see
common.py).

One step = forward + cross-entropy + backward + Adam step of
Embedding(100, 64) -> LSTM(64, 256) -> Linear(256, 100) on a batch of 32
sequences of 64 characters (time-major), the same model built from
``torch.nn`` and from ``nabla.nn`` with PyTorch's initial weights copied.

    python benchmarks/bench_rnn.py
"""
from __future__ import annotations

import numpy as np

from common import compare, table, torch, train_step_pair, turn_seconds

import nabla as nb

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 100, 64, 256, 64, 32


def char_lstm(nn):
    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, ids):                       # (T, B) character ids
            out, _ = self.lstm(self.embed(ids))       # (T, B, H)
            return self.head(out).reshape(-1, VOCAB)  # (T*B, V)

    return CharLSTM()


def step_pair():
    text = np.random.default_rng(0).integers(0, VOCAB, (SEQ + 1, BATCH))
    return train_step_pair("char LSTM", char_lstm, text[:-1], text[1:].reshape(-1), "Adam",
                           atol=1e-5, lr=1e-3)


if __name__ == "__main__":
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    step_n, step_t = step_pair()
    result = compare(step_n, step_t, blocks=7, block_s=turn_seconds(4.0))
    print(table([(f"char LSTM {EMBED}-{HIDDEN}-{VOCAB}, seq {SEQ}, batch {BATCH}, Adam",
                  result)]))
    print(f"\nnabla / PyTorch = {result['ratio']:.2f} (target <= 1.5)")
