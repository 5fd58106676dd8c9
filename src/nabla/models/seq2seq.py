"""Sequence-to-sequence encoder-decoder with attention (teacher forcing, greedy decoding).

References: I. Sutskever, O. Vinyals, Q. V. Le, "Sequence to sequence learning
with neural networks", NeurIPS 2014; D. Bahdanau, K. Cho, Y. Bengio, "Neural
machine translation by jointly learning to align and translate", ICLR 2015;
M.-T. Luong, H. Pham, C. D. Manning, "Effective approaches to attention-based
neural machine translation", EMNLP 2015 (the "general" global attention here).

Encoder: embedding, then a bidirectional GRU over the (right-padded) source,
run as a packed sequence so padding never enters a state. Decoder: embedding,
a GRU started from the encoder's final states (through a tanh bridge), then at
every target position t

    score_ts = h_t . (W_a e_s)          (B, T, S), padded sources masked out
    a_t      = softmax_s(score_t)       attention over the source positions
    c_t      = sum_s a_ts e_s           the context vector
    h~_t     = tanh(W_c [c_t; h_t])     the attentional hidden state
    p(y_t)   = softmax(W_y h~_t)

Training feeds the true previous token (teacher forcing), so one GRU call runs
the whole target at once; ``greedy_decode`` feeds back its own arg-max.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ..ops.creation import full
from ..ops.shape import cat
from ..ops.softmax import softmax


@dataclass
class Config:
    src_vocab_size: int = 64
    tgt_vocab_size: int = 16
    embed_dim: int = 64
    hidden_size: int = 128
    pad_id: int = 0           # padding index of both vocabularies
    bos_id: int = 1           # the token that starts every target
    eos_id: int = 2           # the token that ends it
    dropout: float = 0.0


class Seq2Seq(nn.Module):
    """(src (B, S), tgt_in (B, T)) -> logits (B, T, tgt_vocab_size)."""

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = c = config or Config()
        h = c.hidden_size
        self.src_embed = nn.Embedding(c.src_vocab_size, c.embed_dim, padding_idx=c.pad_id)
        self.encoder = nn.GRU(c.embed_dim, h, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * h, h)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.embed_dim, padding_idx=c.pad_id)
        self.decoder = nn.GRU(c.embed_dim, h, batch_first=True)
        self.attn = nn.Linear(2 * h, h, bias=False)       # W_a
        self.combine = nn.Linear(3 * h, h)                 # W_c
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(h, c.tgt_vocab_size)         # W_y

    def encode(self, src):
        """src (B, S) -> (memory (B, S, 2H), keys (B, S, H), mask (B, 1, S), h0 (1, B, H))."""
        if src.ndim != 2:
            raise ValueError(f"seq2seq: src must be (batch, source length) token ids, got "
                             f"shape {tuple(src.shape)}")
        mask = src != self.config.pad_id                       # (B, S)
        lengths = mask.sum(1).clamp_min(1).cpu().numpy()
        packed = pack_padded_sequence(self.src_embed(src), lengths, batch_first=True,
                                      enforce_sorted=False)
        memory, h_n = self.encoder(packed)
        memory, _ = pad_packed_sequence(memory, batch_first=True,
                                        total_length=src.shape[1])  # (B, S, 2H)
        h0 = self.bridge(cat([h_n[0], h_n[1]], 1)).tanh().unsqueeze(0)  # (1, B, H)
        return memory, self.attn(memory), mask.unsqueeze(1), h0

    def decode(self, tgt_in, state, memory, keys, mask):
        """tgt_in (B, T) -> (logits (B, T, V), state (1, B, H)), attending to memory."""
        h, state = self.decoder(self.tgt_embed(tgt_in), state)           # (B, T, H)
        scores = (h @ keys.transpose(1, 2)).masked_fill(~mask, float("-inf"))  # (B, T, S)
        context = softmax(scores, -1) @ memory                           # (B, T, 2H)
        attended = self.combine(cat([context, h], -1)).tanh()            # (B, T, H)
        return self.head(self.dropout(attended)), state

    def forward(self, src, tgt_in):
        memory, keys, mask, h0 = self.encode(src)
        return self.decode(tgt_in, h0, memory, keys, mask)[0]

    def greedy_decode(self, src, max_len: int):
        """The arg-max target ids (B, max_len) for ``src`` (B, S), without <bos>; positions
        after a sequence's <eos> repeat <eos>."""
        memory, keys, mask, state = self.encode(src)
        token = full((src.shape[0], 1), self.config.bos_id, dtype=src.dtype,
                     device=src.device)
        out, done = [], None
        for _ in range(max_len):
            logits, state = self.decode(token, state, memory, keys, mask)
            token = logits.argmax(-1)                                    # (B, 1)
            if done is not None:
                token = token.masked_fill(done, self.config.eos_id)
            done = token == self.config.eos_id if done is None else (
                done | (token == self.config.eos_id))
            out.append(token)
        return cat(out, 1)


def seq2seq(**kwargs) -> Seq2Seq:
    return Seq2Seq(Config(**kwargs))
