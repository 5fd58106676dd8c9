"""Training-step time of a small GPT against the same model in PyTorch 2.13 CPU.

One step = forward + cross-entropy + backward + AdamW step, for
``nabla.models.gpt`` (4 layers, d_model 256, 4 heads, sequence 128, batch 16,
vocabulary 96, dropout 0) and its twin below, written with ``torch.nn`` under the
same attribute names, so PyTorch's initial weights load into nabla key for key.
Timed in one process, interleaved (see common.py).

    python benchmarks/bench_gpt.py            # the comparison
    python benchmarks/bench_gpt.py --profile  # where nabla's step spends its time
    python benchmarks/bench_gpt.py --turn 0.5 # 0.5-s blocks (the default, 8-s turns, is the steady state)
"""
from __future__ import annotations

import cProfile
import pstats
import sys

import numpy as np

from common import compare, table, torch, turn_seconds

import nabla as nb
from nabla.models.gpt import gpt

F = torch.nn.functional
SETTINGS = {"vocab_size": 96, "block_size": 128, "n_layer": 4, "n_head": 4, "d_model": 256,
            "dropout": 0.0}
BATCH = 16


# -- the PyTorch twin (nabla/models/gpt.py written with torch.nn) ----------------------------
class TorchAttention(torch.nn.Module):
    def __init__(self, d: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.c_attn = torch.nn.Linear(d, 3 * d)
        self.c_proj = torch.nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2)
                   for z in self.c_attn(x).chunk(3, dim=-1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, d))


class TorchMLP(torch.nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.c_fc, self.c_proj = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # GPT-2's GELU


class TorchBlock(torch.nn.Module):
    def __init__(self, d: int, n_head: int):
        super().__init__()
        self.ln_1, self.attn = torch.nn.LayerNorm(d), TorchAttention(d, n_head)
        self.ln_2, self.mlp = torch.nn.LayerNorm(d), TorchMLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(torch.nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, d_model, dropout):
        super().__init__()
        assert dropout == 0.0, "the twin has no dropout layers"
        self.transformer = torch.nn.ModuleDict({
            "wte": torch.nn.Embedding(vocab_size, d_model),
            "wpe": torch.nn.Embedding(block_size, d_model),
            "h": torch.nn.ModuleList([TorchBlock(d_model, n_head) for _ in range(n_layer)]),
            "ln_f": torch.nn.LayerNorm(d_model),
        })
        self.lm_head = torch.nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        tr = self.transformer
        x = tr.wte(idx) + tr.wpe.weight[: idx.shape[1]]
        for block in tr.h:
            x = block(x)
        return self.lm_head(tr.ln_f(x))


# -- the comparison ----------------------------------------------------------------------------
def step_pair():
    torch.manual_seed(0)
    t_model = TorchGPT(**SETTINGS)
    n_model = gpt(**SETTINGS)
    n_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    rng = np.random.default_rng(0)
    idx = rng.integers(0, SETTINGS["vocab_size"], (BATCH, SETTINGS["block_size"] + 1))
    tx, ty = torch.tensor(idx[:, :-1]), torch.tensor(idx[:, 1:])
    nx, ny = nb.tensor(idx[:, :-1]), nb.tensor(idx[:, 1:])
    t_opt = torch.optim.AdamW(t_model.parameters(), lr=1e-3)
    n_opt = nb.optim.AdamW(n_model.parameters(), lr=1e-3)
    vocab = SETTINGS["vocab_size"]

    def loss_t():
        t_opt.zero_grad()
        loss = F.cross_entropy(t_model(tx).reshape(-1, vocab), ty.reshape(-1))
        loss.backward()
        return loss

    def loss_n():
        n_opt.zero_grad()
        loss = nb.nn.functional.cross_entropy(n_model(nx).reshape(-1, vocab), ny.reshape(-1))
        loss.backward()
        return loss

    def step_t():
        loss_t()
        t_opt.step()

    def step_n():
        loss_n()
        n_opt.step()

    # the two models start equal: their losses and gradients must agree before timing
    # means anything (float32 sums in another order: 1e-3 of each gradient's scale)
    np.testing.assert_allclose(loss_n().item(), loss_t().item(), rtol=1e-5)
    t_params = dict(t_model.named_parameters())
    for name, p in n_model.named_parameters():
        tg = t_params[name].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), tg, rtol=1e-3, atol=1e-3 * abs(tg).max(),
                                   err_msg=f"gpt: the gradient of {name} differs")
    return step_n, step_t


if __name__ == "__main__":
    step_n, step_t = step_pair()
    if "--profile" in sys.argv:
        profile = cProfile.Profile()
        profile.runcall(lambda: [step_n() for _ in range(5)])
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        sys.exit()
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    name = (f"GPT {SETTINGS['n_layer']} layers, d_model {SETTINGS['d_model']}, "
            f"{SETTINGS['n_head']} heads, batch {BATCH} x {SETTINGS['block_size']} tokens, "
            f"AdamW step")
    print(table([(name, compare(step_n, step_t, blocks=5, block_s=turn_seconds(8.0)))]))
