"""What an op or kernel name says: Tensor Core kernels, Tensor-Core-eligible ops, convolutions, GEMMs.

The one place for these name tests; the GPU metrics, the kernel table and the
rules all use them (a kernel counted as Tensor Core in the table is one for
the rules too).
"""
from __future__ import annotations

import re

from .categories import COMM_KERNEL_PREFIXES, DATALOADER_PREFIXES, STEP_PREFIX

#: kernel-name substrings the TensorBoard plugin took as Tensor Core kernels (torch-tb-profiler tensor_core.py)
TC_KERNEL_SUBSTRINGS: tuple[str, ...] = (
    "h884", "s884", "h1688", "s1688", "hmma", "i8816", "16816", "dgrad_1x1_stride_2x2",
    "first_layer_wgrad_kernel", "conv1x1", "conv2d_c1_k1", "direct_group", "xmma_implicit_gemm",
    "xmma_sparse_conv", "xmma_warp_specialized_implicit_gemm", "xmma_gemm", "xmma_sparse_gemm", "c1688",
    # newer cuBLAS / CUTLASS / cuDNN names the plugin missed
    "tensorop", "_hmma", "wgmma", "gmma", "bf16gemm", "sm80_xmma", "sm90_xmma", "ampere_fp16", "ampere_bf16",
    "ampere_h", "cutlass_80_tensorop", "cutlass_90_tensorop",
)
_TC_KERNEL_LOWER = tuple(p.lower() for p in TC_KERNEL_SUBSTRINGS)

#: ops that can use Tensor Cores (autocast's lower-precision list; forward and backward)
_TC_OP_RE = re.compile(
    r"(conv|matmul|(^|::|_)mm($|_)|addmm|bmm|baddbmm|addbmm|linear|einsum|lstm|gru|rnn|addmv|(^|::)mv$|"
    r"multi_dot|chain_matmul|prelu|MmBackward|AddmmBackward|BmmBackward|ConvolutionBackward|"
    r"CudnnConvolution|LinearBackward|MvBackward|_cudnn_rnn|scaled_dot_product|flash_attention|"
    r"efficient_attention)",
    re.IGNORECASE,
)
_CONV_RE = re.compile(r"(conv(olution)?(_transpose)?[123]?d?\b|convolution|cudnn_conv|miopen_conv|mkldnn_conv)")
_GEMM_RE = re.compile(r"((^|[:_])(add|b|badd|addb)?mm(_|\b|backward)|matmul|linear|einsum)")


def is_tc_kernel_name(name: str) -> bool:
    """A Tensor Core kernel by its name (the plugin's list plus newer cuBLAS/CUTLASS names)."""
    low = name.lower()
    return any(p in low for p in _TC_KERNEL_LOWER)


def is_tc_eligible_op(name: str) -> bool:
    """Conv / matmul / linear / attention / RNN ops and their backward ops (not markers, not collectives)."""
    if "#" in name or name.startswith((*DATALOADER_PREFIXES, STEP_PREFIX, *COMM_KERNEL_PREFIXES)):
        return False
    return bool(_TC_OP_RE.search(name))


def is_conv_name(name: str) -> bool:
    """A convolution op (forward or backward)."""
    return "#" not in name and bool(_CONV_RE.search(name.lower()))


def is_gemm_name(name: str) -> bool:
    """A matrix-multiply op (mm, addmm, bmm, matmul, linear, einsum and their backward ops)."""
    return "#" not in name and bool(_GEMM_RE.search(name.lower()))


def is_backward_name(name: str) -> bool:
    """An autograd backward op."""
    return "backward" in name.lower() or name.startswith("autograd::engine")
