"""The trusted side of the worker process that runs a submission (harness/confine/worker_main.py).

The worker starts as `python -I -c SOURCE` in a fresh temporary directory with a
minimal environment, in a session of its own (so its whole process group can be
killed), under an address-space cap, a file-size cap and (where the machine allows) a
pids cgroup of its own (harness/confine/limits.py), with its stdout and stderr drained into a
capped buffer. Each call has a time limit, the submission a total one, and a budget of
wall time from its first start (sleeping included; past it, nothing more is run):
- a call that outlives its limit is killed with the worker; that function is
  marked hung (its later calls fail at once) and a fresh worker serves the rest;
- a worker that exits or is killed otherwise ends the grading: every later call
  fails with the reason, so no function judged after it can pass.
"""
import contextlib
import functools
import json
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Optional

import torch

from harness.confine import limits as bounds, sandbox, wire, zygote
from harness.confine.process import die_with_parent as _die_with_parent
from harness.confine.script import worker_env, worker_source  # noqa: F401 (worker_env: used here and re-exported)
from harness.confine.subject import SHIPPED, InProcessSubject, Subject, check_file
from harness.errors import HarnessInputError, SubmissionError

KEPT_OUTPUT = 64 * 1024
KEEP_BLOCK = 64 * 2**20    # Subject.keep sends larger tensors in blocks of rows
CLOSED_CHANNEL_GRACE_S = 5.0  # a worker whose channel closed has this long to be seen exiting
class _Drain(threading.Thread):
    """Reads the worker's stdout/stderr to the end, keeping only the first KEPT_OUTPUT bytes."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.kept, self.total = stream, bytearray(), 0

    def run(self):
        while True:
            chunk = self.stream.read1(1 << 16) if hasattr(self.stream, "read1") else self.stream.read(1 << 16)
            if not chunk:
                return
            self.total += len(chunk)
            room = KEPT_OUTPUT - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]


class _Died(Exception):
    pass


class _TimedOut(Exception):
    pass


class _Refused(Exception):
    """Why a request gave no value (turned into one SubmissionError by _request)."""


class WorkerSubject(Subject):
    def __init__(self, path: Optional[str] = None, call_timeout: float = 20.0,
                 total_timeout: float = 900.0, memory_mb: int = bounds.DEFAULT_MEMORY_MB, import_timeout: float = 30.0,
                 isolation: Optional[sandbox.Isolation] = None, function_budget: float = 15.0,
                 budgets: Optional[dict] = None, limits: Optional[bounds.Limits] = None):
        self.path = check_file(path)
        self.limits = limits or bounds.Limits()  # disk, processes, the submission's wall time
        self.deadline: Optional[float] = None    # set at the first start: the time budget's end
        self.group: Optional[bounds.ProcessGroup] = None  # the worker's pids cgroup, while it runs
        self.refused = 0                          # forks it refused before the current request
        self.isolation = isolation or sandbox.choose("auto")
        self.shipped = self.path == SHIPPED
        self.call_timeout, self.total_timeout = call_timeout, total_timeout
        self.memory_mb, self.import_timeout = memory_mb, import_timeout
        self.function_budget = function_budget
        self.budgets = dict(budgets or {})  # name -> its own budget, where it is not the default
        self.used = 0.0
        self.spent = {}            # name -> seconds of worker time its calls took
        self.hung = {}             # name -> why its calls fail at once
        self.dead: Optional[str] = None
        self.proc = None
        self.refs = {}             # worker objects known here, by id
        self.stand_ins = {}        # id -> harness-side object the submission may use
        self.replaced = {}         # module globals swapped for stand-ins (re-applied on restart)
        self.methods = {}          # (id(stand-in), name) -> its bound method, itself a stand-in
        self.source = worker_source()
        self.next_seed: Optional[int] = None  # seed_next's seed, sent with the next request
        self.use_zygote = True     # False once the batch's zygote refused (harness/confine/zygote.py)
        try:
            self._start()
        except _TimedOut:
            self._stop()
            if time.monotonic() >= self.deadline:
                raise HarnessInputError(f"{self.path} did not finish importing: "
                                        f"{bounds.budget_message(self.limits)}")
            raise HarnessInputError(f"{self.path} did not finish importing within {import_timeout:.0f} s")
        except _Died as exc:
            self._stop()
            raise HarnessInputError(f"{self.path} ended the process on import ({exc})")

    # ------------------------------------------------------------ the process

    def _address_space(self, cap_memory: bool) -> Optional[int]:
        """The worker's RLIMIT_AS: the memory cap, less its in-memory /tmp in a sandbox (the
        tmpfs's pages are memory the address-space cap does not see)."""
        if not cap_memory or not self.memory_mb:
            return None
        tmpfs = self.limits.disk_bytes if self.isolation.level == "sandbox" else 0
        cap = self.memory_mb * 2**20
        return max(cap - tmpfs, cap // 2)

    def _child_setup(self, address_space: Optional[int]):
        """In the child before exec: its own session and pids cgroup, limits, the unprivileged
        user, and death with the harness (set last: a change of user clears it)."""
        os.setsid()
        if self.group is not None:
            self.group.add()
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limits.disk_bytes, self.limits.disk_bytes))
        if self.isolation.level == "unprivileged-user":
            sandbox.drop_privileges(self.isolation.uid, self.isolation.gid)
        _die_with_parent()

    def _start(self):
        # A zygote of the batch's (harness/confine/zygote.py) forks a pre-imported worker; else a fresh one.
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.submission_s
        batch_zygote = zygote.address_for(self.isolation.level) if self.use_zygote else None
        self.tmp = tempfile.mkdtemp(prefix="lc-worker-",
                                    dir=batch_zygote.folder if batch_zygote else sandbox.workers_tempdir())
        # The worker sees a copy in its own folder: no path into this repository (a file
        # under tests/ could otherwise walk up from __file__ to the answer key).
        copy = os.path.join(self.tmp, "linear_classifier.py")
        shutil.copyfile(self.path, copy)
        cuda = os.environ.get("CUDA_VISIBLE_DEVICES") != "" and _cuda_available()
        self.refused = 0
        if self.isolation.level == "unprivileged-user":  # its folder, and nothing else of ours
            for p in (self.tmp, copy):
                os.chown(p, self.isolation.uid, self.isolation.gid)
        self.proc = None
        if batch_zygote is not None:
            env = self._lay_out(fresh_sandbox=False)
            try:
                self.proc, self.requests, self.replies = zygote.spawn(
                    batch_zygote, self.tmp, copy, env, self._address_space(not cuda),
                    self.limits.disk_bytes, self.group, ids=(self.isolation.uid, self.isolation.gid))
                self.requests = os.fdopen(self.requests, "wb", buffering=0)
            except zygote.ZygoteError:
                self.use_zygote = False  # this run's later workers start fresh too
        if self.proc is None:
            env = self._lay_out(fresh_sandbox=self.isolation.level == "sandbox")
            self._popen(copy, env, cuda)
        os.set_blocking(self.requests.fileno(), False)
        self.drain = _Drain(self.proc.stdout)
        self.drain.start()
        hello = self._receive(min(time.monotonic() + self.import_timeout, self.deadline))
        if not hello.get("ready"):
            error = str(hello.get("error", "?"))
            limit = self._limit_reached(error)
            self._stop()
            raise HarnessInputError(f"{self.path} raised on import: {error.splitlines()[0]}"
                                    + (f" ({limit})" if limit else ""))
        self.names = hello["names"]
        for name, value in self.replaced.items():
            self._request(f"replacing {name}", None, {"op": "replace_global", "name": name,
                                                      "value": self._encode(value)})

    def _lay_out(self, fresh_sandbox: bool) -> dict:
        """The worker's folder as it will see it, its pids cgroup, and its environment: a
        fresh sandbox makes its folder in its own /tmp (one bounded tmpfs) and runs bwrap's
        processes in the cgroup too; a forked worker, or one at another level, has this
        folder itself. Called again when a zygote fails and a fresh worker is started."""
        self.folder = sandbox.inside_folder(self.tmp) if fresh_sandbox else self.tmp
        if self.group is not None:
            self.group.remove()
        self.group = None if bounds.process_bound() else bounds.ProcessGroup.make(
            self.limits.processes + (bounds.BWRAP_TASKS if fresh_sandbox else 0))[0]
        return worker_env(os.environ, self.folder)

    def _popen(self, copy: str, env: dict, cuda: bool):
        """A fresh worker: a new Python (in a new sandbox) that imports torch itself."""
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        inside = os.path.join(self.folder, os.path.basename(copy))
        command = [sandbox.python(), "-I", "-c", self.source, str(req_r), str(rep_w), inside]
        passed = [req_r, rep_w]
        if self.isolation.level == "sandbox":  # the copy is copied into the sandbox's own tmpfs
            passed.append(os.open(copy, os.O_RDONLY))
            command = sandbox.bwrap_command(self.isolation.bwrap, self.folder, self.isolation.uid,
                                            self.isolation.gid, self.limits.disk_bytes,
                                            files=[(passed[-1], inside)]) + command
        try:
            self.proc = subprocess.Popen(
                command, cwd=self.tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, pass_fds=passed,  # CUDA needs a large address space:
                preexec_fn=functools.partial(self._child_setup, self._address_space(not cuda)))
        finally:
            for fd in passed:
                os.close(fd)
        self.requests = os.fdopen(req_w, "wb", buffering=0)
        self.replies = rep_r

    def _stop(self):
        if self.proc is None:
            if self.group is not None:  # a start that failed before its worker ran
                self.group.remove()
                self.group = None
            return
        if isinstance(self.proc, zygote.ZygoteWorker):
            self.proc.kill()  # in a sandbox, PID 1 of its namespace: every process it left dies too
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and every child it left
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a zygote that does not say: the pidfd's kill stands
            pass
        if self.group is not None:  # whatever it left, wherever it went (a new session, a daemon)
            self.group.remove()
            self.group = None
        self.drain.join(timeout=5)
        for close in (self.requests.close, lambda: os.close(self.replies),
                      getattr(self.proc, "close", lambda: None)):  # a ZygoteWorker's socket and pidfd
            try:
                close()
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = None
        self.refs = {}

    def close(self):
        self._stop()

    def scratch(self, name: str) -> str:
        return os.path.join(self.folder, name)  # the worker's own folder, as the worker sees it

    @property
    def output(self) -> str:
        """The start of what the worker printed outside calls (at most 64 KiB)."""
        return bytes(self.drain.kept).decode(errors="replace") if self.proc else ""

    def _send(self, message, deadline):
        """Write a request, giving up at the deadline (a worker may stop reading)."""
        data = memoryview(wire.frame(message))  # a view: slicing a bytes copied it (quadratic)
        fd = self.requests.fileno()
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut()
            _, writable, _ = select.select([], [fd], [], left)
            if writable:
                data = data[os.write(fd, data[:1 << 16]):]

    def _receive(self, deadline):
        buf = bytearray()
        need = 8
        size = None
        while len(buf) < need:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut()
            ready, _, _ = select.select([self.replies], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.replies, min(need - len(buf), 1 << 20))
            if not chunk:
                raise _Died(self._why_the_channel_closed())
            buf += chunk
            if size is None and len(buf) >= 8:
                (size,) = struct.unpack("<Q", bytes(buf[:8]))
                if size > wire.MAX_MESSAGE:
                    raise _Died(f"it sent a {size}-byte answer, over the limit")
                need = 8 + size
        try:
            message = json.loads(bytes(buf[8:need]))
        except ValueError:
            message = None
        if type(message) is not dict:
            raise _Died("it wrote something that is not an answer on the harness's channel")
        return message

    def _why_the_channel_closed(self) -> str:
        """Its exit status; or, if it closed the harness's channel and lives on (a thread of
        its own keeps it up), that (the caller kills it: waiting would never end)."""
        try:
            code = self.proc.wait(timeout=CLOSED_CHANNEL_GRACE_S)
        except subprocess.TimeoutExpired:
            return "it closed the harness's channel and went on running"
        return (f"exit status {code}" if code >= 0 else f"killed by signal {-code}"
                + (" (out of memory?)" if -code == signal.SIGKILL else ""))

    # ------------------------------------------------------------ requests

    def unavailable(self, name: str) -> Optional[str]:
        if self.dead:
            return f"{name} was not run: the worker died earlier ({self.dead})"
        if name in self.hung:
            return self.hung[name]
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"{name} was not run: {bounds.budget_message(self.limits)}"
        if self.used >= self.total_timeout:
            return (f"{name} was not run: the submission used up its total time limit "
                    f"of {self.total_timeout:.0f} s")
        return None

    def _request(self, what: str, name: Optional[str], message: dict):
        """The reply's value; every refusal is a SubmissionError raised here, on one line, so
        that Hypothesis sees the same failure when it replays a call that was refused."""
        key = name or what
        reason = self.unavailable(key)
        if reason is None:
            try:
                return self._exchange(what, key, message)
            except _Refused as refused:
                reason = str(refused)
        raise SubmissionError(reason)

    def _exchange(self, what: str, key: str, message: dict):
        left = self.total_timeout - self.used
        if self.proc is None:  # the last one was killed for hanging: a fresh worker
            try:
                self._start()
            except (_TimedOut, _Died, HarnessInputError) as exc:
                self.dead = f"a fresh worker could not start: {exc or type(exc).__name__}"
                self._stop()
                raise _Refused(f"{what} was not run: {self.dead}") from None
        if self.next_seed is not None:  # seed_next: carried by this request, no round trip of its own
            message, self.next_seed = {**message, "seed_first": self.next_seed}, None
        start = time.monotonic()
        self.refused = self.group.refusals() if self.group is not None else 0
        limit = min(self.call_timeout, left, self.deadline - start)
        if limit <= 0:
            raise _Refused(f"{what} was not run: {bounds.budget_message(self.limits)}")
        try:
            self._send(message, start + limit)
            reply = self._receive(start + limit)
            while "callback" in reply:  # the submission used a stand-in: answer, then wait on
                self._send({"answer": self._answer(reply["callback"])}, start + limit)
                reply = self._receive(start + limit)
        except _TimedOut:
            self._stop()
            if time.monotonic() >= self.deadline:
                why = f"was killed: {bounds.budget_message(self.limits)}"
            else:
                why = (f"did not return within {limit:.0f} s and was killed"
                       + (" (the total time limit)" if limit < self.call_timeout else ""))
            self.hung[key] = f"{what} {why}"
            raise _Refused(self.hung[key]) from None
        except (_Died, BrokenPipeError) as exc:
            reason = str(exc) if isinstance(exc, _Died) else "it closed its input"
            limit = self._limit_reached(reason)
            reason += f" ({limit})" if limit else ""
            self.dead = f"during {what}: {reason}"
            self._stop()
            raise _Refused(f"{what} ended the worker process ({reason}); "
                           "every function not yet judged is an error") from None
        finally:
            elapsed = time.monotonic() - start
            self.used += elapsed
            self.spent[key] = self.spent.get(key, 0.0) + elapsed
            budget = self.budgets.get(key, self.function_budget)
            if self.spent[key] > budget and key not in self.hung:
                self.hung[key] = (f"{what} was not run again: its calls took more than their budget of "
                                  f"{budget:.0f} s of worker time")
        if "printed" in reply:  # requests that ran submission code
            self.printed = str(reply["printed"])[:2 * 4096]
            lines = reply.get("progress_lines")
            self.progress_lines = [str(l)[:200] for l in lines[:50]] if type(lines) is list else []
        if not reply.get("ok"):
            error = str(reply.get("error", "?"))
            if _out_of_memory(error) and key not in self.hung:  # every later call would do the same
                self.hung[key] = (f"{what} ran out of memory (the worker's cap is {self.memory_mb} MiB) "
                                  f"and was not run again: {error.splitlines()[0][:200]}")
            limit = self._limit_reached(error)
            if limit:  # named first: the limit, not the error it caused, is what the student needs
                raise _Refused(f"{what}: {limit}; it raised {error}")
            raise _Refused(f"{what} raised {error}")
        self.aliases = reply.get("aliases", [])
        if "args_after" in reply:
            self.args_after = wire.decode(reply["args_after"], self._resolve)
        self.last_reply = reply
        return wire.decode(reply.get("value"), self._resolve)

    def _limit_reached(self, error: str) -> Optional[str]:
        """The resource limit behind `error` (or a worker's end), named; None if none was hit."""
        if bounds.disk_error(error):
            return bounds.disk_message(self.limits)
        if self.group is not None and self.group.refusals() > self.refused:  # pids.events: a fork refused
            return bounds.process_message(self.limits)
        return None

    def _resolve(self, obj):
        """The same trusted-side object for the same worker object, so `is` works."""
        if "__ref__" in obj:
            key = obj["__ref__"]
            if type(key) is not int:
                raise ValueError("a malformed reference")
            if key not in self.refs:
                self.refs[key] = wire.Ref(key, str(obj.get("type", "object"))[:100])
            return self.refs[key]
        if "__standin__" in obj and obj["__standin__"] in self.stand_ins:
            return self.stand_ins[obj["__standin__"]]
        raise ValueError(f"unexpected object on the wire: {sorted(obj)[:5]}")

    def _encode(self, value):
        return wire.encode(value, self._ref_of)

    def _ref_of(self, value):
        if isinstance(value, wire.Ref):
            return {"__ref__": value.ref_id}
        for key, obj in self.stand_ins.items():
            if obj is value:
                return {"__standin__": key}
        return None

    # ------------------------------------------------------------ stand-ins

    def stand_in(self, obj):
        if not any(o is obj for o in self.stand_ins.values()):
            self.stand_ins[len(self.stand_ins) + 1] = obj
        return obj

    @contextlib.contextmanager
    def replacing(self, name: str, value):
        self.touch(name)
        self.replaced[name] = value
        self._request(f"replacing {name}", None, {"op": "replace_global", "name": name,
                                                  "value": self._encode(value)})
        try:
            yield
        finally:
            del self.replaced[name]
            if self.proc is not None and not self.dead:
                self._request(f"restoring {name}", None, {"op": "restore_global", "name": name})

    def _answer(self, ask) -> dict:
        """The harness's answer to a use of one of its stand-ins (only public attributes)."""
        try:
            target = self.stand_ins[ask["id"]]
            attr = ask.get("attr")
            if attr is not None and (type(attr) is not str or attr.startswith("_")):
                return {"ok": False, "exc": "AttributeError", "error": f"no attribute {str(attr)[:80]!r}"}
            if ask["do"] == "getattr":
                if not hasattr(target, attr):
                    return {"ok": False, "exc": "AttributeError",
                            "error": f"{type(target).__name__} has no attribute {attr!r}"}
                value = getattr(target, attr)
                if callable(value) and not isinstance(value, torch.Tensor):
                    value = self._method(target, attr, value)
                return {"ok": True, "value": self._encode(value)}
            if ask["do"] == "setattr":
                setattr(target, attr, wire.decode(ask["value"], self._resolve))
                return {"ok": True, "value": None}
            if ask["do"] == "call":
                args = wire.decode(ask["args"], self._resolve)
                kwargs = wire.decode(ask["kwargs"], self._resolve)
                if type(args) is not list or type(kwargs) is not dict:
                    raise TypeError("malformed arguments")
                return {"ok": True, "value": self._encode(target(*args, **kwargs))}
            raise ValueError(f"unknown use {str(ask.get('do'))[:40]!r}")
        except Exception as exc:  # the stand-in refused (a wrong call): an error in the submission
            return {"ok": False, "exc": type(exc).__name__, "error": f"{type(exc).__name__}: {exc}"[:500]}

    def _method(self, target, attr, bound):
        """One stand-in per (object, method), so repeated reads do not pile up."""
        key = (id(target), attr)
        if key not in self.methods:
            self.methods[key] = bound
        return self.stand_in(self.methods[key])

    def _args(self, args, kwargs):
        return {"args": self._encode(list(args)), "kwargs": self._encode(dict(kwargs))}

    def call(self, name: str, *args, **kwargs):
        self.require(name)
        return self._request(f"{name}(...)", name, {"op": "call", "name": name, **self._args(args, kwargs)})

    def count_work(self, name: str, *args):
        self.require(name)
        self._request(f"{name}(...)", name, {"op": "count", "name": name, **self._args(args, {})})
        return self.last_reply["work"]

    def time_call(self, name: str, *args) -> float:
        """Seconds one call takes, timed here around the round trip, less the time its
        arguments take to travel (an `echo` of the same arguments just before)."""
        self.require(name)
        self.timed += 1
        spent = {}
        for op in ("echo", "call"):
            start = time.perf_counter()
            self._request(f"{name}(...)", name, {"op": op, "name": name, "bare": True,
                                                 **self._args(args, {})})
            spent[op] = time.perf_counter() - start
        return max(0.0, spent["call"] - spent["echo"])

    def new(self, class_name: str, *args, **kwargs):
        self.require(class_name)
        return self._request(f"{class_name}()", class_name,
                             {"op": "new", "name": class_name, **self._args(args, kwargs)})

    def method(self, obj, method: str, *args, **kwargs):
        what = f"{obj.type_name}.{method}(...)"
        return self._request(what, None, {"op": "method", "ref": obj.ref_id, "method": method,
                                          **self._args(args, kwargs)})

    def attribute(self, obj, attr: str):
        value = self._request(f"{obj.type_name}.{attr}", None, {"op": "getattr", "ref": obj.ref_id,
                                                                 "attr": attr})
        if self.last_reply.get("absent"):
            raise AssertionError(f"{obj.type_name}: has no attribute `{attr}`")
        return value

    def set_attribute(self, obj, attr: str, value) -> None:
        self._request(f"setting {obj.type_name}.{attr}", None,
                      {"op": "setattr", "ref": obj.ref_id, "attr": attr, "value": self._encode(value)})

    def keep(self, value):
        if type(value) is dict:
            value = {k: self.keep(v) if type(v) is torch.Tensor else v for k, v in value.items()}
        elif type(value) is torch.Tensor and value.dim() and value.nbytes > KEEP_BLOCK:
            ref = self._request("keep", None, {"op": "keep", "empty": list(value.shape),
                                               "dtype": str(value.dtype)[6:]})
            rows = max(1, KEEP_BLOCK // max(1, value[0].nbytes))
            for at in range(0, len(value), rows):
                self._request("keep", None, {"op": "fill", "ref": ref.ref_id, "at": at,
                                             "value": self._encode(value[at:at + rows])})
            return ref
        return self._request("keep", None, {"op": "keep", "value": self._encode(value)})

    def constant_loss(self):
        return self._request("a constant loss_func", None, {"op": "constant_loss"})

    def is_subclass(self, a: str, b: str) -> bool:
        self.touch(a, b)
        return self._request("issubclass", None, {"op": "is_subclass", "a": a, "b": b})

    def seed_next(self, seed: int) -> None:
        self.next_seed = seed

    def reset_seed(self, seed: int) -> None:
        self._request("reset_seed", None, {"op": "reset_seed", "seed": seed})


def _out_of_memory(error: str) -> bool:
    return error.startswith("MemoryError") or "can't allocate memory" in error \
        or "not enough memory" in error


def _cuda_available() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


def open_subject(path: Optional[str], in_process: bool = False, **limits) -> Subject:
    """The module under test, in a confined worker (the default) or, with in_process, in
    this process (no limits: trusted code only)."""
    if in_process:
        return InProcessSubject(path)
    return WorkerSubject(path, **limits)
