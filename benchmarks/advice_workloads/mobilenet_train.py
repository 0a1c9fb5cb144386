"""MobileNetV2 training from a transformers config (random weights): depthwise convolutions, 96x96, batch 16."""
from __future__ import annotations

import torch

from collectors.workload_api import RunConfig, Workload


def build(config: RunConfig) -> Workload:
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    torch.manual_seed(0)
    cfg = MobileNetV2Config(image_size=96, depth_multiplier=0.5, num_labels=10)
    model = MobileNetV2ForImageClassification(cfg)
    batch = config.batch_size(16)
    x = torch.randn(batch, 3, 96, 96)
    y = torch.randint(0, 10, (batch,))

    def forward_loss(m: torch.nn.Module, b: tuple) -> torch.Tensor:
        xb, yb = b
        return m(pixel_values=xb, labels=yb).loss

    return Workload(model=model, loader=[(x, y)] * 4, optimizer=lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
                    forward_loss=forward_loss, description="transformers MobileNetV2 (x0.5, 96x96), SGD")
