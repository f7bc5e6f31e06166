"""Counting the work a call does, to tell a vectorized function from a loop, and
efficient vectorized code from wasteful code.

Four counters, all deterministic (they depend on the code, the shapes and the torch
version, never on the machine's load): the tensor operations torch dispatches (a loop
over examples dispatches more of them as N grows), the lines of the submission's own
file that Python executes (which also catches loops over numpy arrays or Python
lists, which dispatch nothing), the floating-point operations of its products
(FlopCounterMode's own formulas, torch.utils.flop_counter.flop_registry: 2*M*N*K per
matrix product), and the peak
bytes of tensor storage the call's operations hold at once beyond its inputs
(`_PeakBytes`: each operation's new outputs, until they are freed)."""
import sys
from contextlib import contextmanager

from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry, shape_wrapper
import torch


class _Mode(TorchDispatchMode):
    """A dispatch mode that torch does not wrap in torch._disable_dynamo: that wrapper
    imports torch._dynamo on the first operation, 2 s on a quiet machine and 5-7 s on a
    busy one, which the first counted call of a worker would pay inside its time limit
    (FlopCounterMode pays it too, hence its formulas in a mode of our own below). No
    counted call compiles anything, so there is nothing for dynamo to skip."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


_aten = torch.ops.aten


def _add_matrix_matrix_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs):
    batch = a_shape[0] if len(a_shape) == 3 else 1
    return 2 * batch * a_shape[-2] * a_shape[-1] * b_shape[-1]


def _matrix_vector_flops(a_shape, b_shape, *args, out_shape=None, **kwargs):
    return 2 * a_shape[0] * a_shape[1]


def _add_matrix_vector_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs):
    return 2 * a_shape[0] * a_shape[1]


def _dot_flops(a_shape, b_shape, *args, out_shape=None, **kwargs):
    return 2 * a_shape[0]


# FlopCounterMode counts mm, addmm, bmm, baddbmm (and convolutions), not their in-place
# forms nor matrix-vector products: a loss written with `G.addmm_(...)` or `mv` would
# seem to do no products at all.
_MORE_FLOPS = {_aten.addmm_: _add_matrix_matrix_flops, _aten.baddbmm_: _add_matrix_matrix_flops,
               _aten.mv: _matrix_vector_flops, _aten.addmv: _add_matrix_vector_flops,
               _aten.addmv_: _add_matrix_vector_flops, _aten.dot: _dot_flops,
               _aten.vdot: _dot_flops}
_FLOPS = {**flop_registry, **{op: shape_wrapper(f) for op, f in _MORE_FLOPS.items()}}


class _FlopCounter(_Mode):
    """The flops of every operation that has a formula, counted as FlopCounterMode does."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = _FLOPS.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


class _OpCounter(_Mode):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def _storages(tree):
    return [t.untyped_storage() for t in tree_leaves(tree) if isinstance(t, torch.Tensor)]


class _PeakBytes(_Mode):
    """The most bytes of storage allocated by the operations run under it that are alive
    at once, counted after each operation: an output whose storage is neither an
    argument's (in-place results and views of the inputs) nor already counted is a new
    allocation, and it stays counted until its storage is freed. Scratch memory that a
    kernel frees before it returns is not seen."""

    def __init__(self):
        super().__init__()
        self.live = {}  # data_ptr -> (weak reference to the storage, bytes)
        self.now = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        given = {s.data_ptr() for s in _storages((args, kwargs))}
        out = func(*args, **kwargs)
        for key, (ref, nbytes) in list(self.live.items()):
            if ref.expired():
                del self.live[key]
                self.now -= nbytes
        for s in _storages(out):
            key, nbytes = s.data_ptr(), s.nbytes()
            if nbytes and key not in given and key not in self.live:
                self.live[key] = (StorageWeakRef(s), nbytes)
                self.now += nbytes
        self.peak = max(self.peak, self.now)
        return out


@contextmanager
def counting(filename: str):
    """Yields a dict that holds {"ops": n, "lines": m, "flops": f, "peak_bytes": b} once
    the block ends."""
    result = {"ops": 0, "lines": 0, "flops": 0, "peak_bytes": 0}
    lines = [0]

    def local(frame, event, arg):
        if event == "line":
            lines[0] += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    counter, flops, memory = _OpCounter(), _FlopCounter(), _PeakBytes()
    sys.settrace(tracer)
    try:
        with counter, flops, memory:
            yield result
    finally:
        sys.settrace(previous)
        result.update(ops=counter.count, lines=lines[0], flops=flops.flops,
                      peak_bytes=memory.peak)
