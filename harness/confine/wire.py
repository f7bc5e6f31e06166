"""The wire between the trusted harness and the worker that runs a submission.

Messages are JSON; a tensor travels as its raw bytes (base64) with dtype, shape and
device. Nothing is pickled, so nothing that comes back can carry code. A value of
any other type than the plain ones below comes back as a `Foreign` placeholder
naming its type, which every property rejects.

This file is also sent to the worker as source text: it imports only the
standard library, numpy and torch.
"""
import base64
import json
import struct

import torch

PLAIN = (type(None), bool, int, float, str)
MAX_MESSAGE = 512 * 2**20


class Foreign:
    """A value of a type the wire does not carry (e.g. a Tensor subclass)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object (not a plain value)>"


class Ref:
    """An object that lives in the worker (an instance, a spy), known by its id."""

    def __init__(self, ref_id, type_name):
        self.ref_id, self.type_name = ref_id, type_name

    def __repr__(self):
        return f"<{self.type_name} in the worker>"


def encode_tensor(t):
    data = t.detach().to("cpu").contiguous()
    raw = data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b""
    return {"__tensor__": base64.b64encode(raw).decode("ascii"), "dtype": str(t.dtype)[6:],
            "shape": list(t.shape), "device": str(t.device)}


def decode_tensor(obj, device=None):
    dtype = getattr(torch, obj["dtype"])
    raw = bytearray(base64.b64decode(obj["__tensor__"]))
    shape = tuple(obj["shape"])
    if raw:
        t = torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape).clone()
    else:
        t = torch.empty(shape, dtype=dtype)
    return t.to(device or obj["device"])


def encode(value, ref_of=lambda v: None, depth=0):
    """Plain data to JSON-able form; ref_of(v) may name a worker-side object."""
    if depth > 20:
        return {"__foreign__": "a structure nested too deeply"}
    kind = type(value)
    if kind in PLAIN:
        return value
    if kind is torch.Tensor:
        return encode_tensor(value)
    if kind in (list, tuple):
        return {"__" + kind.__name__ + "__": [encode(v, ref_of, depth + 1) for v in value]}
    if kind is dict and all(type(k) is str for k in value):
        ref = ref_of(value)  # a dict the worker keeps (Subject.keep) goes back as its reference
        if ref is not None:
            return ref
        return {"__dict__": {k: encode(v, ref_of, depth + 1) for k, v in value.items()}}
    if kind.__module__ == "numpy" and getattr(value, "dtype", None) is not None \
            and value.dtype.kind in "biuf" and value.dtype.isnative:  # numbers only, as raw bytes
        import numpy
        array = numpy.ascontiguousarray(value)
        return {"__numpy__": encode_tensor(torch.from_numpy(array.reshape(-1).copy())),
                "shape": list(array.shape), "scalar": kind is not numpy.ndarray}
    ref = ref_of(value)
    if ref is not None:
        return ref
    return {"__foreign__": f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"}


def decode(obj, resolve=lambda o: None):
    """The inverse of encode; resolve(o) turns a {"__ref__"...} (or spy) into an object."""
    if type(obj) is not dict:
        return obj
    if "__tensor__" in obj:
        return decode_tensor(obj)
    if "__list__" in obj:
        return [decode(v, resolve) for v in obj["__list__"]]
    if "__tuple__" in obj:
        return tuple(decode(v, resolve) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {k: decode(v, resolve) for k, v in obj["__dict__"].items()}
    if "__numpy__" in obj:  # an ndarray or a numpy scalar of numbers (search grids use them)
        flat = decode_tensor(obj["__numpy__"], "cpu").numpy()
        return flat[0] if obj.get("scalar") else flat.reshape(tuple(obj["shape"]))
    if "__foreign__" in obj:
        return Foreign(obj["__foreign__"])
    return resolve(obj)


def frame(message) -> bytes:
    data = json.dumps(message).encode()
    return struct.pack("<Q", len(data)) + data


def send(fd_file, message):
    fd_file.write(frame(message))
    fd_file.flush()


def receive(fd_file):
    head = fd_file.read(8)
    if len(head) < 8:
        raise EOFError("the other side closed the wire")
    (size,) = struct.unpack("<Q", head)
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is over the {MAX_MESSAGE} limit")
    data = fd_file.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the wire mid-message")
    return json.loads(data)
