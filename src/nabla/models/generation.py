"""Sampling from a language model one token at a time, feeding each back.

    ids = generate(model, vocab.encode("def "), length=200, temperature=0.8, top_k=20)

At every step the model gives logits for the next token; they are divided by
the temperature (below 1: sharper, more conservative; above 1: more varied),
optionally cut to the ``top_k`` most likely tokens, turned into probabilities
by a softmax and sampled from. A model with a ``step(x, state) -> (logits,
state)`` method (the recurrent models) reads the prompt once and then only the
new token, carrying its state; any other model (a Transformer) is re-run on
the last ``block_size`` tokens of the text so far.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops.creation import tensor

__all__ = ["generate", "next_token_probs"]


def next_token_probs(logits: np.ndarray, temperature: float = 1.0,
                     top_k: int | None = None) -> np.ndarray:
    """Probabilities (V,) from one position's logits (V,), with temperature and top-k."""
    if temperature <= 0:
        raise ValueError(f"generate: temperature must be > 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"generate: top_k must be >= 1, got {top_k}")
        if top_k < z.size:
            cut = np.partition(z, -top_k)[-top_k]
            z = np.where(z < cut, -np.inf, z)
    z = np.exp(z - z.max())
    return z / z.sum()


def generate(model, prompt, length: int, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None) -> list[int]:
    """``length`` new token ids after ``prompt`` (a non-empty sequence of ids)."""
    prompt = [int(i) for i in np.asarray(prompt).reshape(-1)]
    if not prompt:
        raise ValueError("generate: the prompt is empty; give at least one token")
    if length < 0:
        raise ValueError(f"generate: length must be >= 0, got {length}")
    rng = np.random.default_rng(seed)
    device = next(iter(model.parameters())).device
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        with no_grad():
            stateful = hasattr(model, "step")
            block = getattr(getattr(model, "config", None), "block_size", None)
            # a Transformer sees at most block_size positions: a longer prompt is cut to its end
            state, feed = None, prompt[-block:] if block and not stateful else prompt
            for _ in range(length):
                x = tensor(np.asarray([feed], dtype=np.int64), device=device)  # (1, T)
                if stateful:
                    logits, state = model.step(x, state)
                else:
                    logits = model(x)
                last = logits.detach().cpu().numpy()[0, -1]  # (V,)
                token = int(rng.choice(last.size, p=next_token_probs(last, temperature,
                                                                     top_k)))
                out.append(token)
                if stateful:
                    feed = [token]
                else:
                    feed = (prompt + out)[-block:] if block else prompt + out
    finally:
        model.train(was_training)
    return out
