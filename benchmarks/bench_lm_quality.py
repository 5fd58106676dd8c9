"""Quality at equal budget: the same language-model recipe trained for the same wall-clock
time in nabla and in PyTorch 2.13 CPU, then validation bits per character and samples.

Both frameworks start from the same weights (nabla's, copied key for key), read the
same batches in the same order from the same standard-library corpus, and use the same
optimizer settings. The machine's speed drifts for minutes at a time, so the two runs
are interleaved: they take turns of about ``--slice`` seconds until each has used
``--minutes`` of training time. Evaluation and sampling are not counted.

    python benchmarks/bench_lm_quality.py                   # char-LSTM and GPT, 3 min each
    python benchmarks/bench_lm_quality.py lstm --minutes 1
    python benchmarks/bench_lm_quality.py gpt --steps 300    # equal steps, not time
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from common import torch

import nabla as nb
from nabla.data.text import CharVocab, stdlib_corpus, unigram_entropy_bits
from nabla.models.generation import next_token_probs
from nabla.train import tasks

# the recipes of issue 4's speed table
RECIPES = {
    "lstm": {"seq_len": 64, "batch": 32, "lr": 2e-3, "optimizer": "adam"},
    "gpt": {"seq_len": 128, "batch": 16, "lr": 1e-3, "optimizer": "adamw"},
}


def lstm_pair(vocab: int):
    """nabla's char LSTM and its PyTorch twin, with the same weights."""
    class TorchCharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab, 64)
            self.rnn = torch.nn.LSTM(64, 256, batch_first=True)
            self.head = torch.nn.Linear(256, vocab)

        def forward(self, x):
            return self.head(self.rnn(self.embed(x))[0])

    torch.manual_seed(0)
    t_model = TorchCharLSTM()
    n_model = nb.models.char_lstm(vocab_size=vocab, embed_dim=64, hidden_size=256)
    return n_model, t_model


def gpt_pair(vocab: int, block: int):
    """nabla's GPT (4 layers x 256, 4 heads) and bench_gpt.py's PyTorch twin."""
    from bench_gpt import SETTINGS, TorchGPT
    settings = {**SETTINGS, "vocab_size": vocab, "block_size": block}
    torch.manual_seed(0)
    return nb.models.gpt(**settings), TorchGPT(**settings)


def _copy_weights(n_model, t_model) -> None:
    """nabla's initial weights (each model's own initialisation) into the PyTorch twin."""
    t_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in n_model.state_dict().items()})


class Trainer:
    """One framework's training run, advanced a step at a time, timing only the steps."""

    def __init__(self, framework: str, model, recipe: dict, batches):
        self.framework, self.model, self.batches = framework, model, batches
        self.seconds, self.steps, self.last_loss = 0.0, 0, math.nan
        lib = nb if framework == "nabla" else torch
        opt = {"adam": lib.optim.Adam, "adamw": lib.optim.AdamW}[recipe["optimizer"]]
        self.opt = opt(model.parameters(), lr=recipe["lr"])
        self.lib = lib

    def step(self) -> None:
        x, y = self.batches(self.steps)
        start = time.perf_counter()
        lib = self.lib
        xs, ys = lib.tensor(x), lib.tensor(y)
        logits = self.model(xs)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               ys.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        clip = (nb.nn.utils.clip_grad_norm_ if lib is nb else torch.nn.utils.clip_grad_norm_)
        clip(self.model.parameters(), 1.0)
        self.opt.step()
        self.last_loss = float(loss.item())
        self.seconds += time.perf_counter() - start
        self.steps += 1

    def val_bpc(self, windows: np.ndarray, batch: int = 64) -> float:
        lib, total = self.lib, 0.0
        self.model.eval()
        with lib.no_grad():
            for s in range(0, len(windows), batch):
                x, y = windows[s:s + batch, :-1], windows[s:s + batch, 1:]
                logits = self.model(lib.tensor(x))
                loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                       lib.tensor(y).reshape(-1))
                total += float(loss.item()) * len(x)
        self.model.train()
        return total / len(windows) / math.log(2)

    def sample(self, vocab, length: int = 1500, seed: int = 0) -> str:
        """Temperature-0.8 sample from a newline, re-reading the recent context each step
        (the same procedure for both frameworks)."""
        lib, rng = self.lib, np.random.default_rng(seed)
        ids = list(vocab.encode("\n"))
        self.model.eval()
        with lib.no_grad():
            for _ in range(length):
                x = lib.tensor(np.asarray([ids[-128:]], dtype=np.int64))
                last = self.model(x)[0, -1].detach().numpy()
                ids.append(int(rng.choice(last.size, p=next_token_probs(last, 0.8))))
        self.model.train()
        return vocab.decode(ids[1:])


def run(kind: str, minutes: float, slice_s: float, max_chars: int, steps: int = 0) -> dict:
    recipe = RECIPES[kind]
    corpus = stdlib_corpus(max_chars=max_chars)
    vocab = CharVocab(corpus.train, unk=True)
    ids = vocab.encode(corpus.train)
    span, rng = recipe["seq_len"] + 1, np.random.default_rng(0)
    starts = rng.integers(0, len(ids) - span, size=(1_000_000 // recipe["batch"] + 1,
                                                    recipe["batch"]))

    def batches(step: int):
        w = np.stack([ids[s:s + span] for s in starts[step % len(starts)]])
        return w[:, :-1], w[:, 1:]

    val_ids = vocab.encode(corpus.val)
    n_val = min(len(val_ids) // span, 512)
    val = np.stack([val_ids[i * span:(i + 1) * span] for i in range(n_val)])
    n_model, t_model = lstm_pair(len(vocab)) if kind == "lstm" else gpt_pair(
        len(vocab), recipe["seq_len"])
    _copy_weights(n_model, t_model)
    runs = [Trainer("nabla", n_model, recipe, batches), Trainer("torch", t_model, recipe,
                                                                  batches)]
    if steps:  # equal steps instead of equal time: is the same recipe learning the same?
        for r in runs:
            while r.steps < steps:
                r.step()
    budget = minutes * 60
    while not steps and min(r.seconds for r in runs) < budget:
        r = min(runs, key=lambda r: r.seconds)  # the one behind takes its turn
        turn_end = r.seconds + slice_s
        while r.seconds < min(turn_end, budget):
            r.step()
    result = {}
    for r in runs:
        result[r.framework] = {"steps": r.steps, "seconds": r.seconds,
                               "ms_per_step": 1e3 * r.seconds / r.steps,
                               "val_bpc": r.val_bpc(val), "sample": r.sample(vocab)}
        share, lines = tasks.compilable_line_share(result[r.framework]["sample"])
        result[r.framework]["compilable"] = (share, lines)
    result["unigram_bpc"] = unigram_entropy_bits(corpus.train)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"some of {', '.join(RECIPES)} (default: all)")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--slice", type=float, default=10.0, help="seconds per turn")
    parser.add_argument("--max-chars", type=int, default=tasks.DEFAULT_MAX_CHARS)
    parser.add_argument("--steps", type=int, default=0,
                        help="train each for this many steps instead of --minutes")
    args = parser.parse_args()
    unknown = set(args.models) - set(RECIPES)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(RECIPES)}")
    args.models = args.models or list(RECIPES)
    print(f"nabla {nb.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads); {args.minutes:g} min of training each, interleaved in {args.slice:g} s "
          f"turns")
    rows = []
    for kind in args.models:
        res = run(kind, args.minutes, args.slice, args.max_chars, args.steps)
        n, t = res["nabla"], res["torch"]
        rows.append(f"| {kind} | {n['steps']} ({n['ms_per_step']:.1f} ms) | "
                    f"{t['steps']} ({t['ms_per_step']:.1f} ms) | {n['val_bpc']:.3f} | "
                    f"{t['val_bpc']:.3f} | {n['val_bpc'] - t['val_bpc']:+.3f} | "
                    f"{res['unigram_bpc']:.3f} |")
        for fw in ("nabla", "torch"):
            share, lines = res[fw]["compilable"]
            print(f"\n--- {kind}, {fw}: sample at temperature 0.8 ({100 * share:.0f}% of "
                  f"{lines} lines compile) ---\n{res[fw]['sample']}")
        print(rows[-1], flush=True)
    print("\n| model | nabla steps (per step) | PyTorch steps (per step) | nabla val bpc | "
          "PyTorch val bpc | difference | unigram bpc |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
