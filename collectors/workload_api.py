"""The workload contract: ``build(config) -> Workload``.

A workload file (or ``module:function``) defines ``build(config: RunConfig)``
returning a :class:`Workload`.  The harness owns the loop: it moves the model
and batches to the device, applies the knobs, runs warm-up, the profiled
window and the timed steps.  This module imports no torch so the parent can
read it; the objects it describes are torch objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from analyzers.knobs import KNOBS, knob


@dataclass(frozen=True)
class RunConfig:
    """What ``build`` is given: the device, the knob settings, the user's arguments and the rank.

    Under ``--nproc-per-node N`` the process group exists before ``build`` is
    called; ``rank`` / ``world_size`` let the workload shard its data (the
    ``ddp`` knob wraps the model in DistributedDataParallel).

    ``settings`` holds only the knobs set explicitly (validated and typed);
    :meth:`get` falls back to the knob's default.
    """

    device: str  # "cpu" or "cuda"
    settings: Mapping[str, Any] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    rank: int = 0  # this process's rank in a torchrun job (0 when run alone)
    world_size: int = 1
    local_rank: int = 0

    def get(self, name: str, default: Any = None) -> Any:
        """The value of knob ``name``: the setting, else ``default``, else the knob default."""
        k = knob(name)
        if name in self.settings:
            return self.settings[name]
        return k.default if default is None else default

    def batch_size(self, default: int) -> int:
        """The ``batch_size`` knob if set, else the workload's own ``default``."""
        return int(self.settings.get("batch_size") or default)

    def is_set(self, name: str) -> bool:
        """Whether knob ``name`` was set explicitly."""
        return name in self.settings


@dataclass
class Workload:
    """What ``build(config)`` returns.

    Training (``kind="train"``): ``model``, a data source (``dataset`` plus
    ``batch_size``, or a ready ``loader`` which the harness rebuilds when a
    DataLoader knob is set), ``optimizer`` (an instance, or a callable taking
    the model parameters and returning one) and ``loss_fn(output, target)``.
    A batch is ``(inputs, target)``; ``inputs`` may be a tensor or a tuple of
    tensors passed as ``model(*inputs)``.  Give ``forward_loss(model, batch)
    -> loss`` instead of ``loss_fn`` when the step is not that shape.

    Inference (``kind="infer"``): ``model`` and either fixed ``inputs`` or a
    data source whose batches are the inputs (or ``(inputs, _)``).
    """

    model: Any
    kind: Literal["train", "infer"] = "train"
    dataset: Any = None
    loader: Any = None
    batch_size: int | None = None
    collate_fn: Callable[..., Any] | None = None
    shuffle: bool = False
    optimizer: Any = None
    loss_fn: Callable[[Any, Any], Any] | None = None
    forward_loss: Callable[[Any, Any], Any] | None = None
    inputs: Any = None
    description: str = ""

    def check(self) -> None:
        """Raise ValueError when required parts are missing."""
        if self.kind not in ("train", "infer"):
            raise ValueError(f"Workload.kind must be 'train' or 'infer', not {self.kind!r}")
        if self.model is None:
            raise ValueError("Workload.model is required")
        has_data = self.dataset is not None or self.loader is not None
        if self.kind == "train":
            if not has_data:
                raise ValueError("a training Workload needs a dataset or a loader")
            if self.optimizer is None:
                raise ValueError("a training Workload needs an optimizer")
            if self.loss_fn is None and self.forward_loss is None:
                raise ValueError("a training Workload needs loss_fn or forward_loss")
        elif not has_data and self.inputs is None:
            raise ValueError("an inference Workload needs inputs, a dataset or a loader")
        if self.dataset is not None and self.loader is None and not self.batch_size:
            raise ValueError("a Workload with a dataset needs batch_size (or give a loader)")


__all__ = ["RunConfig", "Workload", "KNOBS"]
