"""A small CNN training step on 32x32 RGB images (channels_last, cudnn.benchmark candidates)."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from collectors.workload_api import RunConfig, Workload


def make_model(classes: int = 10) -> nn.Module:
    """Conv-BN-ReLU stages with pooling, then a linear classifier."""
    def stage(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True), nn.MaxPool2d(2))
    return nn.Sequential(stage(3, 32), stage(32, 64), stage(64, 128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


def build(config: RunConfig) -> Workload:
    """Build the convnet training workload (in-memory random images)."""
    torch.manual_seed(0)
    images = torch.randn(512, 3, 32, 32)
    labels = torch.randint(0, 10, (512,))
    model = make_model()
    return Workload(
        model=model,
        kind="train",
        dataset=TensorDataset(images, labels),
        batch_size=config.batch_size(16),
        shuffle=True,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        description="3 conv stages (32-64-128 channels), 32x32 inputs, batch 16",
    )
