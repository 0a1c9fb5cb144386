"""Inference through wide Linear layers: the dynamic int8 quantization candidate on CPU."""
from __future__ import annotations

import torch
from torch import nn

from collectors.workload_api import RunConfig, Workload

WIDTH = 1024
DEPTH = 4


def build(config: RunConfig) -> Workload:
    """Build the wide-MLP inference workload with fixed inputs of the configured batch size."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(DEPTH):
        layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, 10)).eval()
    batch = config.batch_size(8)
    return Workload(
        model=model,
        kind="infer",
        inputs=torch.randn(batch, WIDTH),
        batch_size=batch,
        description=f"{DEPTH} x Linear({WIDTH}, {WIDTH}) + ReLU, batch {batch}, inference",
    )
