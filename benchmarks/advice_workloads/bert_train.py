"""BERT sequence classification training from a config (random weights): 4 layers, d=256, seq 128, batch 8."""
from __future__ import annotations

import torch

from collectors.workload_api import RunConfig, Workload


def build(config: RunConfig) -> Workload:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024,
                     vocab_size=8192, max_position_embeddings=128, num_labels=2)
    model = BertForSequenceClassification(cfg)
    batch = config.batch_size(8)
    ids = torch.randint(0, cfg.vocab_size, (batch, 128))
    labels = torch.randint(0, 2, (batch,))

    def forward_loss(m: torch.nn.Module, b: tuple) -> torch.Tensor:
        x, y = b
        return m(input_ids=x, labels=y).loss

    return Workload(model=model, loader=[(ids, labels)] * 4, optimizer=lambda p: torch.optim.AdamW(p, lr=1e-4),
                    forward_loss=forward_loss, description="transformers BERT (4 layers, d=256), AdamW")
