"""A small GPT-style transformer language model: one training step per batch.

FP32 matmuls throughout, so on a GPU ``amp`` (bf16/fp16) and ``tf32`` apply;
on a CPU ``threads``, ``compile`` and ``optimizer_impl`` are the candidates.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from collectors.workload_api import RunConfig, Workload

VOCAB = 256
SEQ = 64
D_MODEL = 128
HEADS = 4
LAYERS = 2


class Block(nn.Module):
    """Pre-norm transformer block with causal self-attention."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    """Token + position embeddings, a few blocks, a tied LM head."""

    def __init__(self, vocab: int = VOCAB, seq: int = SEQ, d: int = D_MODEL,
                 heads: int = HEADS, layers: int = LAYERS) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, seq, d))
        self.blocks = nn.Sequential(*[Block(d, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos[:, : idx.shape[1]]
        return self.head(self.ln(self.blocks(x)))


class TokenDataset(Dataset):
    """Random token windows (input, next-token target), made once in memory."""

    def __init__(self, length: int = 512, seq: int = SEQ, vocab: int = VOCAB) -> None:
        g = torch.Generator().manual_seed(0)
        self.data = torch.randint(0, vocab, (length, seq + 1), generator=g)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = self.data[i]
        return row[:-1], row[1:]


def lm_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Next-token cross entropy over all positions."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def build(config: RunConfig) -> Workload:
    """Build the tiny GPT training workload."""
    torch.manual_seed(0)
    model = TinyGPT()
    return Workload(
        model=model,
        kind="train",
        dataset=TokenDataset(),
        batch_size=config.batch_size(8),
        shuffle=True,
        optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4),
        loss_fn=lm_loss,
        description=f"GPT {LAYERS} layers, d={D_MODEL}, {HEADS} heads, seq {SEQ}, vocab {VOCAB}, batch 8",
    )
