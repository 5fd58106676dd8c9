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

from common import compare, table, torch

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
    torch.manual_seed(0)
    t_model, n_model = char_lstm(torch.nn), char_lstm(nb.nn)
    n_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    rng = np.random.default_rng(0)
    text = rng.integers(0, VOCAB, (SEQ + 1, BATCH))
    x, y = text[:-1], text[1:].reshape(-1)
    tx, ty, nx, ny = torch.tensor(x), torch.tensor(y), nb.tensor(x), nb.tensor(y)
    t_opt = torch.optim.Adam(t_model.parameters(), lr=1e-3)
    n_opt = nb.optim.Adam(n_model.parameters(), lr=1e-3)
    t_loss, n_loss = torch.nn.CrossEntropyLoss(), nb.nn.CrossEntropyLoss()

    def step_t():
        t_opt.zero_grad()
        t_loss(t_model(tx), ty).backward()
        t_opt.step()

    def step_n():
        n_opt.zero_grad()
        n_loss(n_model(nx), ny).backward()
        n_opt.step()

    # the two models start equal: one step must agree before timing means anything
    step_t()
    step_n()
    for (k, tv), nv in zip(t_model.state_dict().items(), n_model.state_dict().values()):
        np.testing.assert_allclose(nv.numpy(), tv.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=f"char LSTM: {k} differs after one step")
    return step_n, step_t


if __name__ == "__main__":
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    step_n, step_t = step_pair()
    result = compare(step_n, step_t, blocks=7, block_s=0.5)
    print(table([(f"char LSTM {EMBED}-{HIDDEN}-{VOCAB}, seq {SEQ}, batch {BATCH}, Adam",
                  result)]))
    print(f"\nnabla / PyTorch = {result['ratio']:.2f} (target <= 1.5)")
