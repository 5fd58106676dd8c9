"""A tiny character-level GRU language model on Python's own standard library source.

Shows: the text that ships with every Python (``nabla.data.text.stdlib_corpus``) and a
``CharVocab``; an ``Embedding -> GRU -> Linear`` model trained on random windows with
gradient clipping; validation loss in bits per character against the unigram entropy (what
a model that ignores context scores); then sampling text one character at a time, carrying
the GRU's hidden state, with a temperature.

Run: python examples/05_char_lm_sampling.py
"""
import math

import nabla as nb
import nabla.nn.functional as F
from nabla import nn
from nabla.data.text import CharVocab, stdlib_corpus, unigram_entropy_bits


class CharGRU(nn.Module):
    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.gru(self.embed(ids), state)    # (B, T, H)
        return self.head(out), state                       # (B, T, V)


def random_windows(ids, batch: int, seq_len: int, gen):
    starts = nb.randint(0, len(ids) - seq_len - 1, (batch, 1), generator=gen)
    idx = starts + nb.arange(seq_len + 1)                 # (B, T + 1)
    chunk = ids[idx]
    return chunk[:, :-1], chunk[:, 1:]


def bits_per_char(model, ids, seq_len: int) -> float:
    n = (len(ids) - 1) // seq_len
    x = ids[:n * seq_len].reshape(n, seq_len)
    y = ids[1:n * seq_len + 1].reshape(n, seq_len)
    with nb.no_grad():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return loss.item() / math.log(2)


def sample(model, vocab, prompt: str, length: int, temperature: float = 0.8) -> str:
    ids = nb.tensor(vocab.encode(prompt)).unsqueeze(0)      # (1, T)
    out, state = [], None
    with nb.no_grad():
        for _ in range(length):
            logits, state = model(ids, state)
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)
            ids = nb.multinomial(probs, 1).unsqueeze(0)      # (1, 1): the next character
            out.append(ids.item())
    return prompt + vocab.decode(out)


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    corpus = stdlib_corpus(max_chars=200_000)
    vocab = CharVocab(corpus.train, unk=True)
    train_ids = nb.tensor(vocab.encode(corpus.train))
    val_ids = nb.tensor(vocab.encode(corpus.val[:4000 if quick else 8000]))
    unigram = unigram_entropy_bits(corpus.train)

    model = CharGRU(len(vocab))
    optimizer = nb.optim.Adam(model.parameters(), lr=3e-3)
    steps, seq_len = (120, 32) if quick else (400, 64)
    gen = nb.Generator().manual_seed(0)
    for step in range(1, steps + 1):
        x, y = random_windows(train_ids, 32, seq_len, gen)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step:4d}  train bits/char {loss.item() / math.log(2):.3f}")

    bpc = bits_per_char(model, val_ids, 128)
    print(f"{corpus.num_chars} characters of stdlib source, vocabulary {len(vocab)}")
    print(f"validation bits/char {bpc:.3f}  vs unigram entropy {unigram:.3f}")
    text = sample(model, vocab, "def ", 200 if not quick else 60)
    print("sample:\n" + text)
    return {"bits_per_char": bpc, "unigram_bits": unigram, "sample": text}


if __name__ == "__main__":
    main()
