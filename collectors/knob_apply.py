"""Apply fix knobs to a built workload (child side, imports torch).

``refuse_for_workload`` rejects knobs that mean nothing for this workload
with a clear message (never silently ignored); ``prepare`` turns a Workload plus settings
into a :class:`Prepared` step setup the harness runs.

Device-level refusals live in knob_checks (torch-free, used by the parent too).
"""
from __future__ import annotations

import contextlib
import inspect
import warnings
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Mapping

import torch
from torch import nn

from collectors.errors import KnobRefused
from collectors.knob_checks import LOADER_KNOBS, refuse_for_facts
from collectors.workload_api import Workload




def refuse_for_workload(settings: Mapping[str, Any], wl: Workload) -> None:
    """Refuse knobs that do not apply to this workload's kind, data source or model."""
    refuse_for_facts(settings, workload_facts(wl))


def workload_facts(wl: Workload) -> dict[str, Any]:
    """What ``knob_checks.refuse_for_facts`` needs: kind, data source, fixed inputs, model module types."""
    from collectors.model_facts import module_facts
    has_data = wl.dataset is not None or wl.loader is not None
    facts: dict[str, Any] = {"kind": wl.kind, "has_data": has_data,
                             "loader_num_workers": _loader_attr(wl, "num_workers", 0),
                             "loader_rebuildable": wl.dataset is not None or hasattr(wl.loader, "dataset"),
                             "has_optimizer": wl.optimizer is not None,
                             "inputs_4d": _has_4d(wl.inputs), "model_facts": module_facts(wl.model)}
    if not has_data:
        facts["fixed_batch"] = _leading_dim(wl.inputs)
    return facts


def _has_4d(inputs: Any) -> bool:
    found: list[bool] = []
    _map_tensors(inputs, lambda t: found.append(t.dim() == 4) or t)
    return any(found)


def _loader_attr(wl: Workload, name: str, default: Any) -> Any:
    return getattr(wl.loader, name, default) if wl.loader is not None else default


def _leading_dim(inputs: Any) -> int | None:
    first = inputs[0] if isinstance(inputs, (tuple, list)) and inputs else inputs
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else None


def apply_process_knobs(settings: Mapping[str, Any], device: str) -> None:
    """Process-wide knobs: threads, TF32, cudnn.benchmark (before the workload is built)."""
    if settings.get("threads"):
        torch.set_num_threads(int(settings["threads"]))
    if device == "cuda":  # only when set: otherwise PyTorch's own defaults stay
        if "tf32" in settings:
            torch.backends.cuda.matmul.allow_tf32 = bool(settings["tf32"])
            torch.backends.cudnn.allow_tf32 = bool(settings["tf32"])
        if "cudnn_benchmark" in settings:
            torch.backends.cudnn.benchmark = bool(settings["cudnn_benchmark"])


@dataclass
class Prepared:
    """A workload with knobs applied: what the harness loop needs."""

    model: nn.Module | Callable[..., Any]
    kind: str
    loader: Any  # an iterable of batches, or None for fixed inputs
    inputs: Any
    optimizer: Any
    loss_fn: Callable[[Any, Any], Any] | None
    forward_loss: Callable[[Any, Any], Any] | None
    scaler: Any
    autocast: Callable[[], ContextManager[Any]]
    grad_mode: Callable[[], ContextManager[Any]]
    move: Callable[[Any], Any]
    zero_grad_to_none: bool


def _map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def effective_batch_size(prep: "Prepared") -> int | None:
    """The batch size the steps really use (the loader's, or the fixed inputs' leading dimension)."""
    if prep.loader is not None:
        return getattr(prep.loader, "batch_size", None)
    return _leading_dim(prep.inputs)


def make_mover(device: str, non_blocking: bool, channels_last: bool) -> Callable[[Any], Any]:
    """A function moving every tensor of a batch to ``device`` (4-D ones to channels_last if asked)."""
    def move_one(t: torch.Tensor) -> torch.Tensor:
        if t.device.type != device:
            t = t.to(device, non_blocking=non_blocking)
        if channels_last and t.dim() == 4 and t.is_floating_point():
            t = t.contiguous(memory_format=torch.channels_last)
        return t
    return lambda batch: _map_tensors(batch, move_one)


def rebuild_loader(wl: Workload, settings: Mapping[str, Any]) -> Any:
    """A DataLoader over the workload's data with the DataLoader knobs applied."""
    from torch.utils.data import DataLoader, RandomSampler
    src = wl.loader
    if src is not None and not any(k in settings for k in LOADER_KNOBS + ("batch_size",)):
        return src  # the user's own loader, untouched
    dataset = wl.dataset if wl.dataset is not None else src.dataset
    kwargs: dict[str, Any] = {
        "batch_size": settings.get("batch_size") or wl.batch_size or getattr(src, "batch_size", None) or 1,
        "shuffle": wl.shuffle if src is None else isinstance(getattr(src, "sampler", None), RandomSampler),
        "collate_fn": wl.collate_fn if src is None else src.collate_fn,
        "drop_last": True if src is None else src.drop_last,
        "num_workers": settings.get("num_workers", getattr(src, "num_workers", 0)),
        "pin_memory": settings.get("pin_memory", getattr(src, "pin_memory", False)),
    }
    if kwargs["num_workers"] > 0:
        kwargs["persistent_workers"] = settings.get("persistent_workers", getattr(src, "persistent_workers", False))
        kwargs["prefetch_factor"] = settings.get("prefetch_factor", getattr(src, "prefetch_factor", None) or 2)
    return DataLoader(dataset, **kwargs)


def rebuild_optimizer(opt: Any, params: Any, impl: str) -> Any:
    """Build the optimizer (a factory or an instance) with the foreach/fused implementation."""
    if callable(opt) and not isinstance(opt, torch.optim.Optimizer):
        opt = opt(params)
    if impl == "default":
        return opt
    cls = type(opt)
    accepted = set(inspect.signature(cls.__init__).parameters)
    if impl not in accepted:
        raise KnobRefused(f"knob optimizer_impl={impl}: {cls.__name__} has no {impl} implementation")
    skip = {"foreach", "fused", "differentiable", "params"}
    defaults = {k: v for k, v in opt.defaults.items() if k in accepted and k not in skip}
    groups = [{k: v for k, v in g.items() if k not in ("foreach", "fused")} for g in opt.param_groups]
    flag = {"foreach": {"foreach": True}, "fused": {"fused": True}}[impl]
    try:
        return cls(groups, **defaults, **flag)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise KnobRefused(f"knob optimizer_impl={impl}: {cls.__name__} refuses it here ({exc})") from None


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantization of Linear/LSTM/GRU layers (CPU inference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic as qd
        return qd(model, {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8)


def wrap_ddp(model: nn.Module, device: str) -> nn.Module:
    """DistributedDataParallel around ``model`` (needs the torchrun process group: --nproc-per-node)."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        raise KnobRefused("ddp=true needs a process group: run with --nproc-per-node N")
    from torch.nn.parallel import DistributedDataParallel
    ids = [torch.cuda.current_device()] if device == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def prepare(wl: Workload, settings: Mapping[str, Any], device: str) -> Prepared:
    """Apply every model/data/optimizer knob to ``wl`` and return the step setup."""
    wl.check()
    refuse_for_workload(settings, wl)
    model = wl.model
    if isinstance(model, nn.Module):
        model = model.to(device)
        if wl.kind == "infer":
            model.eval()
        else:
            model.train()
    channels_last = bool(settings.get("channels_last", False))
    if wl.kind == "infer" and settings.get("dynamic_quant"):
        model = quantize_dynamic(model)
    if channels_last and isinstance(model, nn.Module):
        model = model.to(memory_format=torch.channels_last)
    if settings.get("ddp") and isinstance(model, nn.Module):
        model = wrap_ddp(model, device)
    optimizer = None
    if wl.kind == "train":
        optimizer = rebuild_optimizer(wl.optimizer, model.parameters(), settings.get("optimizer_impl", "default"))
    if settings.get("compile", "off") != "off":
        model = torch.compile(model, mode=settings["compile"])
    has_data = wl.dataset is not None or wl.loader is not None
    loader = rebuild_loader(wl, settings) if has_data else None
    move = make_mover(device, bool(settings.get("non_blocking", False)), channels_last)
    inputs = move(wl.inputs) if wl.inputs is not None else None
    amp = settings.get("amp", "off")
    if amp == "off":
        autocast: Callable[[], ContextManager[Any]] = contextlib.nullcontext
    else:
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        autocast = lambda: torch.autocast(device_type=device, dtype=dtype)  # noqa: E731
    scaler = None
    if amp == "fp16" and wl.kind == "train":
        scaler = torch.amp.GradScaler("cuda")
    if wl.kind == "train":
        grad_mode: Callable[[], ContextManager[Any]] = contextlib.nullcontext
    elif settings.get("inference_mode"):
        grad_mode = torch.inference_mode
    else:
        grad_mode = torch.no_grad
    return Prepared(model=model, kind=wl.kind, loader=loader, inputs=inputs, optimizer=optimizer,
                    loss_fn=wl.loss_fn, forward_loss=wl.forward_loss, scaler=scaler, autocast=autocast,
                    grad_mode=grad_mode, move=move,
                    zero_grad_to_none=bool(settings.get("zero_grad_to_none", True)))
