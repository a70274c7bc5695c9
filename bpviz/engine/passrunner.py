"""Training passes in a child process, so that the window's own Python work does not slow them.

A Python process runs one thread at a time: while the window paints, a training thread in the same
process waits for the interpreter lock, and on two cores the window costs training about a third of
its speed. While the window plays, its worker therefore hands chunks of passes to a
:class:`PassRunner`: a child Python process (numpy and this engine, no Qt) holding a copy of the
trainer. The worker still owns the trainer: after every chunk it takes the child's training state
back (:meth:`Trainer.set_state`, checked like any other), with the history rows, the loss of every
pass and the trajectory points the chunk produced. Passes are the same arithmetic on the same
numbers in either process, so a run gives the same weights, pass for pass, whether its chunks ran
here or there.

:func:`run_chunk` is the chunk itself, a plain function testable in one process. The protocol is a
pipe of pickled tuples: ``("run", id, trainer or None, seconds, stop_epoch, stride)`` asks for a
chunk (with a pickled trainer when the child's copy is out of date), answered by a
:class:`ChunkResult` (or ``("skipped", id)`` when a later request already brings a new trainer, or
``("error", id, message)``); the pipe closing ends the child (so does any message but "run").
The child reads requests on a thread of its own while it trains, so neither side can block the
other on a full pipe.
"""

from __future__ import annotations

import collections
import copy
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from .trainer import History, Trainer
from .trajectory import flat_parameters

CHUNK_S = 0.02             # passes per request: about one frame's worth
START_TIMEOUT_S = 30.0     # a child that has not said it is ready by then is given up
CHILD_NICE = 5             # below the window's threads: on a busy machine they get a core first


@dataclass
class ChunkResult:
    """What one chunk of passes did, to be applied to the trainer it started from."""

    id: int
    state: dict                                # Trainer.get_state(history=False) after the chunk
    rows: np.ndarray                           # history rows recorded during the chunk
    losses: np.ndarray                         # the loss of every applied pass
    positions: np.ndarray                      # the fractional epoch before every applied pass
    trajectory_passes: np.ndarray              # passes whose parameters were recorded ...
    trajectory_points: np.ndarray              # ... and those parameters, flattened
    last_indices: np.ndarray | None = None     # the last applied pass's batch (None: all samples)
    last_parameters: list | None = None        # its parameters before the update; None: no pass
    diverged: bool = False                     # the chunk ended on a divergence

    @property
    def passes(self) -> int:
        """Passes the chunk applied."""
        return len(self.losses)


def run_chunk(trainer: Trainer, seconds: float, stop_epoch: int | None = None, stride: int = 1,
              max_passes: int | None = None, request_id: int = 0) -> ChunkResult:
    """Run passes on ``trainer`` for about ``seconds`` (at least one unless ``stop_epoch`` is
    reached), stopping early at ``stop_epoch``, after ``max_passes`` or on a divergence. The
    trainer's history is emptied first: the rows of the chunk come back in the result."""
    trainer.history.truncate(0)
    losses, positions, passes, points = [], [], [], []
    last = None
    diverged = False
    deadline = time.perf_counter() + seconds
    while stop_epoch is None or trainer.epoch < stop_epoch:
        before = trainer.network.parameters()     # arrays are replaced by a pass, not mutated
        position = trainer.position
        result = trainer.step()
        if result.diverged:
            diverged = True
            break
        losses.append(result.trace.loss)
        positions.append(position)
        last = (result.indices, before)
        if trainer.pass_count % stride == 0:
            passes.append(trainer.pass_count)
            points.append(flat_parameters(trainer.network))
        if time.perf_counter() >= deadline or (max_passes is not None
                                               and len(losses) >= max_passes):
            break
    n_params = trainer.network.n_parameters
    return ChunkResult(
        request_id, trainer.get_state(history=False), trainer.history.table(),
        np.array(losses, dtype=float), np.array(positions, dtype=float),
        np.array(passes, dtype=np.int64),
        np.array(points, dtype=float).reshape(len(points), n_params),
        None if last is None else last[0], None if last is None else last[1], diverged)


def portable(trainer: Trainer) -> bytes:
    """The trainer pickled without what a chunk does not need (its history and last trace)."""
    clone = copy.copy(trainer)
    clone.history = History(None)
    clone.last_trace = None
    return pickle.dumps(clone, protocol=pickle.HIGHEST_PROTOCOL)


class _Inbox:
    """The child's requests, read off the pipe by a thread of their own as soon as they arrive.

    The parent may send while the child is busy or is itself sending a large reply: if neither side
    read while the other wrote, both could block on a full pipe. Reading continuously here means
    the parent's sends always complete."""

    def __init__(self, conn: Connection):
        self._items: collections.deque = collections.deque()
        self._ready = threading.Condition()
        threading.Thread(target=self._read, args=(conn,), name="bpviz-runner-inbox",
                         daemon=True).start()

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = ("quit",)
            with self._ready:
                self._items.append(msg)
                self._ready.notify()
            if msg[0] != "run":
                return

    def take(self) -> tuple[tuple, bool]:
        """The next message, and whether a later one already brings a new trainer (which makes
        this one obsolete: the parent sends a trainer only after discarding what it asked
        before)."""
        with self._ready:
            while not self._items:
                self._ready.wait()
            msg = self._items.popleft()
            superseded = any(m[0] == "run" and m[2] is not None for m in self._items)
        return msg, superseded


def serve(conn: Connection) -> None:
    """The child's loop: answer chunk requests until told to quit or the pipe closes."""
    trainer = None
    inbox = _Inbox(conn)
    conn.send(("ready", os.getpid()))
    while True:
        msg, superseded = inbox.take()
        if msg[0] != "run":
            return
        _, request_id, payload, seconds, stop_epoch, stride = msg
        try:
            if superseded:       # discarded by the parent: do not spend a chunk on it
                reply = ("skipped", request_id)
            else:
                if payload is not None:
                    trainer = pickle.loads(payload)
                if trainer is None:
                    raise RuntimeError("no trainer was sent before the first chunk")
                reply = run_chunk(trainer, seconds, stop_epoch, stride, request_id=request_id)
        except Exception as e:   # reported to the worker, which goes on training in its own process
            trainer = None
            reply = ("error", request_id, f"{type(e).__name__}: {e}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def _child_main(fd: int) -> None:
    try:
        os.nice(CHILD_NICE)      # on a busy machine the window's threads get a core first
    except (AttributeError, OSError):
        pass
    serve(Connection(fd))


class PassRunnerError(RuntimeError):
    pass


class PassRunner:
    """The parent's handle on a child process running chunks of passes.

    Requests are pipelined: the worker keeps the next chunks asked for while it applies the last
    one, so the child does not wait for it (nor for the interpreter lock the window holds).
    :meth:`discard` forgets the chunks in flight (their replies are skipped when they arrive) after
    anything changed the trainer here.
    """

    def __init__(self):
        parent, child = socket.socketpair()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        for var, value in _blas_environment().items():
            env.setdefault(var, value)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c",
                 "import sys; from bpviz.engine.passrunner import _child_main; "
                 "_child_main(int(sys.argv[1]))", str(child.fileno())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, env=env,
                close_fds=True)
        finally:
            child.close()
        self.conn = Connection(parent.detach())
        self._ready = False
        self._started = time.monotonic()
        self._next_id = 0
        self.in_flight: list[int] = []      # ids sent and not yet answered, oldest first
        self._wanted: set[int] = set()      # of those, the ones whose answer is still useful
        self.closed = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> bool:
        """Whether the child has started; raises PassRunnerError if it never will."""
        if self._ready:
            return True
        if self.closed:
            raise PassRunnerError("the pass runner is closed")
        try:
            if self.conn.poll(0):
                msg = self.conn.recv()
                if msg[0] != "ready":
                    raise PassRunnerError(f"unexpected first message {msg[0]!r}")
                self._ready = True
                return True
        except (EOFError, OSError) as e:
            raise PassRunnerError(f"the pass runner process ended ({e})") from None
        if self.process.poll() is not None:
            raise PassRunnerError(f"the pass runner process exited with status "
                                  f"{self.process.returncode}")
        if time.monotonic() - self._started > START_TIMEOUT_S:
            raise PassRunnerError("the pass runner process did not start")
        return False

    def request(self, trainer: Trainer | None, seconds: float, stop_epoch: int | None,
                stride: int) -> int:
        """Ask for a chunk; with ``trainer`` the child first takes a copy of it."""
        request_id = self._next_id
        self._next_id += 1
        payload = None if trainer is None else portable(trainer)
        try:
            self.conn.send(("run", request_id, payload, seconds, stop_epoch, stride))
        except (OSError, ValueError) as e:
            raise PassRunnerError(f"cannot reach the pass runner process ({e})") from None
        self.in_flight.append(request_id)
        self._wanted.add(request_id)
        return request_id

    @property
    def wanted(self) -> int:
        """Chunks asked for and still useful."""
        return len(self._wanted)

    def discard(self) -> None:
        """Forget the chunks in flight: they started from a trainer that has changed since."""
        self._wanted.clear()

    def receive(self, timeout: float) -> ChunkResult | None:
        """The next wanted chunk result, waiting at most ``timeout`` seconds (None if none came).
        Raises PassRunnerError if the child failed or reported an error."""
        end = time.monotonic() + timeout
        while self.in_flight:
            try:
                if not self.conn.poll(max(0.0, end - time.monotonic())):
                    return None
                reply = self.conn.recv()
            except (EOFError, OSError) as e:
                raise PassRunnerError(f"the pass runner process ended ({e})") from None
            request_id = reply[1] if isinstance(reply, tuple) else reply.id
            if request_id in self.in_flight:
                self.in_flight.remove(request_id)
            if request_id not in self._wanted:
                continue
            self._wanted.discard(request_id)
            if isinstance(reply, tuple):
                if reply[0] == "skipped":      # cannot happen to a wanted chunk; ask again
                    continue
                raise PassRunnerError(f"the pass runner failed: {reply[2]}")
            return reply
        return None

    def kill(self) -> None:
        """End the child at once, from any thread (a stalled child: the worker's next read or
        write then fails and it trains on its own thread)."""
        try:
            self.process.kill()
        except OSError:
            pass

    def close(self, timeout: float = 2.0) -> None:
        """Stop the child and reap it; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.conn.close()          # the child reads the end of the pipe and quits (no send here:
                                   # a full pipe must not block the worker thread)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _blas_environment() -> dict:
    """The BLAS thread count of this process, for the child to use the same (and so compute the
    same sums in the same order)."""
    try:
        from threadpoolctl import threadpool_info
        counts = {p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"}
    except Exception:
        return {}
    if len(counts) != 1:
        return {}
    n = str(counts.pop())
    return {"OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}
