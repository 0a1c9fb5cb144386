"""A 2-layer LSTM classifier, inference (plain torch): hidden 512, seq 64, batch 16."""
from __future__ import annotations

import torch
from torch import nn

from collectors.workload_api import RunConfig, Workload


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(256, 512, num_layers=2, batch_first=True)
        self.head = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def build(config: RunConfig) -> Workload:
    torch.manual_seed(0)
    return Workload(model=LSTMClassifier().eval(), kind="infer", inputs=torch.randn(config.batch_size(16), 64, 256),
                    description="2-layer LSTM (hidden 512) inference")
