"""The worker: imports the submission and runs the calls the harness sends it.

It runs in its own process, started by harness/confine/worker.py as `python -I -c SOURCE`
from a temporary directory (inside a sandbox where one is available), where SOURCE is
wire.py, counting.py and this file pasted together: nothing of the harness is
importable there. Everything it sends back is plain data (wire.py); the verdict is
made on the other side.

Stand-ins: an object the harness hands over as {"__standin__": id} (a spy loss, a
spy classifier, a correct `sample_batch`) arrives here as a `_StandIn`; calling it or
reading its attributes sends a callback to the harness, which answers and keeps the
record, so what the submission called is known from the harness's side.
"""
import contextlib
import importlib.util
import os
import random
import sys
import traceback

import torch

# When pasted into the worker these lines are dropped: the names come from the files
# pasted before this one. Here they say where each name is defined.
from harness.confine.counting import counting
from harness.confine.wire import decode, encode, receive, send

MAX_PRINTED = 4096
MAX_PROGRESS_LINES = 50
_ERRORS = {"AttributeError": AttributeError, "TypeError": TypeError, "ValueError": ValueError,
           "IndexError": IndexError, "KeyError": KeyError}


class _StandIn:
    """A harness-side object, seen from here: every use is a callback over the wire."""
    __slots__ = ("_id", "_worker")

    def __init__(self, standin_id, worker):
        object.__setattr__(self, "_id", standin_id)
        object.__setattr__(self, "_worker", worker)

    def __call__(self, *args, **kwargs):
        w = self._worker
        return w.callback({"do": "call", "id": self._id, "args": encode(list(args), w.ref_of),
                           "kwargs": encode(dict(kwargs), w.ref_of)})

    def __getattr__(self, attr):
        return self._worker.callback({"do": "getattr", "id": self._id, "attr": attr})

    def __setattr__(self, attr, value):
        w = self._worker
        w.callback({"do": "setattr", "id": self._id, "attr": attr, "value": encode(value, w.ref_of)})

    def __repr__(self):
        return "<stand-in from the harness>"


class _ConstantLoss:
    """A loss_func that lives here (Subject.constant_loss): (0.5, zeros like W) for every call,
    answered without a round trip, for a property that judges only what the worker reports
    (the progress lines of verbose training). Its first call starts the progress lines, as a
    stand-in's first use does."""

    def __init__(self, worker):
        self._worker = worker

    def __call__(self, W, X_batch, y_batch, reg):
        if self._worker.writer is not None:
            self._worker.writer.watching = True
        return torch.tensor(0.5, dtype=W.dtype, device=W.device), torch.zeros_like(W)


class _BoundedWriter:
    """Stands in for stdout during a call: keeps the first MAX_PRINTED characters."""

    def __init__(self):
        self.kept, self.total = [], 0
        # From the call's first use of a stand-in (the spy loss, in training) on: the lines
        # that hold a digit, the progress lines of verbose training (a hint: verbose only).
        self.watching, self.lines, self.partial = False, [], ""

    def write(self, text):
        text = str(text)
        room = MAX_PRINTED - sum(len(k) for k in self.kept)
        if room > 0:
            self.kept.append(text[:room])
        self.total += len(text)
        if self.watching and len(self.lines) < MAX_PROGRESS_LINES:
            *done, self.partial = (self.partial + text[:100000]).split("\n")
            self.partial = self.partial[:200]
            self.lines += [l[:200] for l in done if any(ch.isdigit() for ch in l)][:MAX_PROGRESS_LINES - len(self.lines)]
        return len(text)

    def progress_lines(self):
        last = [self.partial] if any(ch.isdigit() for ch in self.partial) else []
        return (self.lines + last)[:MAX_PROGRESS_LINES]

    def flush(self):
        pass

    def isatty(self):
        return False

    def value(self):
        more = self.total - sum(len(k) for k in self.kept)
        return "".join(self.kept) + (f"\n[... {more} more characters not kept]" if more > 0 else "")


def describe(exc, submission_file) -> str:
    """An exception the submission raised, as the harness reports it: its type, its message
    (500 characters at most) and the last three frames in the submission's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission_file]
    where = "".join(f"\n    at {os.path.basename(f.filename)}:{f.lineno} in {f.name}: {f.line}"
                    for f in frames[-3:])
    try:
        text = str(exc)[:500]
    except BaseException:
        text = "(its message could not be read)"
    return f"{type(exc).__name__}: {text}{where}"


class Worker:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.objects = {}
        self.next_id = 1
        self.module = None
        self.printed = ""
        self.stand_ins = {}
        self.replaced = {}
        self.inp = self.out = None
        self.writer = None  # the current call's stdout

    def callback(self, message):
        """Ask the harness to use one of its stand-ins; its answer, or its error raised here."""
        if self.writer is not None:
            self.writer.watching = True
        send(self.out, {"callback": message})
        answer = receive(self.inp).get("answer", {})
        if not answer.get("ok"):
            raise _ERRORS.get(answer.get("exc"), RuntimeError)(answer.get("error", "the harness refused"))
        return decode(answer.get("value"), self.resolve)

    # -- objects that live here, named by id on the wire
    def register(self, obj):
        for k, o in self.objects.items():
            if o is obj:
                return k
        k = self.next_id
        self.next_id += 1
        self.objects[k] = obj
        return k

    def ref_of(self, value):
        if type(value) is _StandIn:
            return {"__standin__": value._id}
        for k, o in self.objects.items():
            if o is value:
                return {"__ref__": k, "type": type(value).__name__}
        if getattr(type(value), "__module__", None) == getattr(self.module, "__name__", None):
            return {"__ref__": self.register(value), "type": type(value).__name__}
        return None

    def resolve(self, obj):
        if "__ref__" in obj:
            return self.objects[obj["__ref__"]]
        if "__standin__" in obj:
            key = obj["__standin__"]
            if key not in self.stand_ins:
                self.stand_ins[key] = _StandIn(key, self)
            return self.stand_ins[key]
        raise ValueError(f"cannot decode {sorted(obj)}")

    # -- loading
    def load(self):
        name = "linear_classifier"
        spec = importlib.util.spec_from_file_location(name, self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, os.path.dirname(self.path))
        writer = _BoundedWriter()
        with contextlib.redirect_stdout(writer), contextlib.redirect_stderr(writer):
            spec.loader.exec_module(module)
        self.module = module
        return sorted(n for n in dir(module) if callable(getattr(module, n, None)))

    # -- the requests
    def handle(self, req):
        op = req["op"]
        args = decode(req.get("args", {"__list__": []}), self.resolve)
        kwargs = decode(req.get("kwargs", {"__dict__": {}}), self.resolve)
        if "seed_first" in req:  # the first request of a property (Subject.seed_next)
            _seed(req["seed_first"], numpy_too=True)
        if op == "reset_seed":  # the course's reset_seed: Python's and torch's only
            _seed(req["seed"], numpy_too=False)
            return {"ok": True, "value": None}
        if op == "echo":  # the cost of sending these arguments, to subtract from a timed call
            return {"ok": True, "value": None}
        if op == "replace_global":  # the module's global `name` is a stand-in until restored
            name = req["name"]
            if name not in self.replaced:
                self.replaced[name] = self.module.__dict__.get(name, _ABSENT)
            self.module.__dict__[name] = decode(req["value"], self.resolve)
            return {"ok": True, "value": None}
        if op == "restore_global":
            if req["name"] not in self.replaced:
                return {"ok": True, "value": None}
            old = self.replaced.pop(req["name"])
            if old is _ABSENT:
                self.module.__dict__.pop(req["name"], None)
            else:
                self.module.__dict__[req["name"]] = old
            return {"ok": True, "value": None}
        if op == "keep":  # data sent once and named by reference afterwards (Subject.keep)
            if "empty" in req:  # a tensor over the message limit, filled block by block
                value = torch.empty(req["empty"], dtype=getattr(torch, req["dtype"]))
            else:
                value = decode(req["value"], self.resolve)
            return {"ok": True, "value": {"__ref__": self.register(value), "type": type(value).__name__}}
        if op == "constant_loss":
            return {"ok": True, "value": {"__ref__": self.register(_ConstantLoss(self)), "type": "loss_func"}}
        if op == "fill":
            block = decode(req["value"], self.resolve)
            self.objects[req["ref"]][req["at"]:req["at"] + len(block)] = block
            return {"ok": True, "value": None}
        if op == "is_subclass":
            a, b = getattr(self.module, req["a"]), getattr(self.module, req["b"])
            return {"ok": True, "value": isinstance(a, type) and isinstance(b, type) and issubclass(a, b)}
        if op == "getattr":
            obj = self.objects[req["ref"]]
            if not hasattr(obj, req["attr"]):
                return {"ok": True, "value": None, "absent": True}
            return {"ok": True, "value": encode(getattr(obj, req["attr"]), self.ref_of)}
        if op == "setattr":
            setattr(self.objects[req["ref"]], req["attr"], decode(req["value"], self.resolve))
            return {"ok": True, "value": None}
        if op in ("call", "count"):
            fn = getattr(self.module, req["name"])
        elif op == "new":
            fn = getattr(self.module, req["name"])
        elif op == "method":
            fn = getattr(self.objects[req["ref"]], req["method"], None)
            if not callable(fn):
                return {"ok": False, "error": f"has no method `{req['method']}`"}
        else:
            return {"ok": False, "error": f"unknown request {op!r}"}
        writer = self.writer = _BoundedWriter()
        work = None
        try:
            with contextlib.redirect_stdout(writer), contextlib.redirect_stderr(writer):
                if op == "count":
                    with counting(self.path) as work:
                        result = fn(*args, **kwargs)
                else:
                    result = fn(*args, **kwargs)
        except KeyboardInterrupt as exc:
            return {"ok": False, "error": describe(exc, self.path), "printed": writer.value()}
        except BaseException as exc:
            return {"ok": False, "error": describe(exc, self.path), "printed": writer.value()}
        if op == "new":
            result_enc = {"__ref__": self.register(result), "type": type(result).__name__}
        else:
            result_enc = encode(result, self.ref_of)
        if req.get("bare"):  # timed: nothing sent back but the answer
            return {"ok": True, "value": result_enc}
        return {"ok": True, "value": result_enc, "printed": writer.value(),
                "progress_lines": writer.progress_lines(),
                "args_after": encode(list(args), self.ref_of),
                "aliases": _aliases(result, args), "work": work}


_ABSENT = object()


def _seed(seed: int, numpy_too: bool) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if numpy_too and "numpy" in sys.modules:  # numpy's global generator, where the submission uses it
        sys.modules["numpy"].random.seed(seed % 2**32)


def _aliases(result, args):
    """[result index, arg index] for each returned tensor that shares memory with an input."""
    out = []
    items = result if type(result) is tuple else (result,)
    for i, r in enumerate(items):
        if type(r) is not torch.Tensor:
            continue
        for j, a in enumerate(args):
            if type(a) is torch.Tensor and r.untyped_storage().data_ptr() == a.untyped_storage().data_ptr():
                out.append([i, j])
    return out


def main(rfd, wfd, path):
    torch.set_num_threads(1)  # the harness's tensors are tiny
    inp, out = os.fdopen(rfd, "rb"), os.fdopen(wfd, "wb")
    worker = Worker(path)
    worker.inp, worker.out = inp, out
    try:
        names = worker.load()
    except BaseException as exc:
        send(out, {"ready": False, "error": describe(exc, worker.path)})
        return
    send(out, {"ready": True, "names": names})
    while True:
        try:
            req = receive(inp)
        except EOFError:
            return
        try:
            reply = worker.handle(req)
        except BaseException as exc:  # a failure of the request itself (e.g. a stale object)
            reply = {"ok": False, "error": describe(exc, worker.path)}
        try:
            send(out, reply)
        except (TypeError, ValueError) as exc:
            send(out, {"ok": False, "error": f"its answer could not be sent back: {exc}"})
