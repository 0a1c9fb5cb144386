"""A small MLP fed by a Dataset whose items wait (I/O-like): the data-loading stall.

Each item sleeps ``ITEM_WAIT_S`` before returning, as a file read or decode
would; with ``num_workers=0`` the training step waits for ``batch_size``
of them in turn.  Fix: ``num_workers=2`` (and ``persistent_workers``).
"""
from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.data import Dataset

from collectors.workload_api import RunConfig, Workload

ITEM_WAIT_S = 0.002
HIDDEN = 2048
FEATURES = 64
CLASSES = 10


class SlowDataset(Dataset):
    """Deterministic random items that each take ``wait_s`` seconds to 'load'."""

    def __init__(self, length: int = 100_000, wait_s: float = ITEM_WAIT_S) -> None:
        self.length = length
        self.wait_s = wait_s

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        time.sleep(self.wait_s)  # the I/O-like wait
        g = torch.Generator().manual_seed(index)
        x = torch.randn(FEATURES, generator=g)
        y = torch.randint(0, CLASSES, (), generator=g)
        return x, y


def build(config: RunConfig) -> Workload:
    """Build the slow-loader training workload."""
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, CLASSES))
    return Workload(
        model=model,
        kind="train",
        dataset=SlowDataset(),
        batch_size=config.batch_size(8),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        description=f"MLP {FEATURES}-{HIDDEN}-{HIDDEN}-{CLASSES}, batch 8, each item waits {ITEM_WAIT_S * 1e3:g} ms",
    )
