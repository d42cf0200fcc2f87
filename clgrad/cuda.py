"""`clgrad.cuda`: PyTorch's CUDA queries, answered for OpenCL GPU devices of any vendor."""
from .runtime.device import device as _resolve
from .runtime.device import gpu_count as _gpu_count


def is_available() -> bool:
    """Whether an OpenCL GPU device exists (so `.cuda()` / device('cuda') work)."""
    return _gpu_count() > 0


def device_count() -> int:
    return _gpu_count()


def synchronize(device=None) -> None:
    _resolve(device or "cuda").synchronize()


def manual_seed(seed) -> None:
    """Seeds the one generator (its stream is the same on every device)."""
    from .tensor.random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed
