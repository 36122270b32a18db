"""Mailboxes: envelopes addressed to this party, held until the local receiver pulls them.

One FIFO queue per key (job, src, dst, tag). Both backends bound the bytes they hold: a put
into a full mailbox waits for room (backpressure on the sender) instead of growing.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import NamedTuple

import redis

from fedloom._proto import proxy_pb2

__all__ = [
    "Mailbox",
    "MailboxAborted",
    "MailboxError",
    "MailboxFull",
    "MailboxKey",
    "MailboxTimeout",
    "MemoryMailbox",
    "RedisMailbox",
]

_SLICE_S = 0.2
"""Longest blind wait: how late a cancelled pull (or, with Redis, an abort) is noticed."""
_MAX_ABORTED_JOBS = 10_000
_ABORT_TTL_S = 7 * 24 * 3600


class MailboxKey(NamedTuple):
    """The queue an envelope belongs to."""

    job_id: str
    src_role: str
    src_party_id: int
    dst_role: str
    dst_party_id: int
    tag: str

    @classmethod
    def of(cls, envelope: proxy_pb2.Envelope | proxy_pb2.PullRequest) -> MailboxKey:
        """The key of an envelope (or the key a pull request asks for)."""
        src, dst = envelope.src, envelope.dst
        return cls(envelope.job_id, src.role, src.party_id, dst.role, dst.party_id, envelope.tag)

    def describe(self) -> str:
        """Human-readable form for error messages."""
        return (
            f"message {self.tag!r} of job {self.job_id} from {self.src_role} "
            f"{self.src_party_id} to {self.dst_role} {self.dst_party_id}"
        )


class MailboxError(RuntimeError):
    """Base of the mailbox errors."""


class MailboxTimeout(MailboxError, TimeoutError):
    """Nothing arrived for the key in time (or the waiting pull was cancelled)."""


class MailboxAborted(MailboxError):
    """The job was aborted at this proxy; the message carries the reason."""


class MailboxFull(MailboxError):
    """No room for the envelope within the put's timeout (the receiver is not pulling)."""


class Mailbox(ABC):
    """Envelopes for the local party, FIFO per :class:`MailboxKey`, bounded in bytes."""

    @abstractmethod
    def put(self, envelope: proxy_pb2.Envelope, timeout: float) -> bool:
        """Append the envelope, waiting up to ``timeout`` s for room (:class:`MailboxFull`).

        Returns False, storing nothing, when the envelope's job was aborted here.
        """

    @abstractmethod
    def take(
        self,
        key: MailboxKey,
        timeout: float,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> proxy_pb2.Envelope:
        """Remove and return the oldest envelope of ``key``, waiting up to ``timeout`` s.

        Raises :class:`MailboxTimeout` (also when ``is_cancelled()`` turns true while waiting)
        and :class:`MailboxAborted`.
        """

    @abstractmethod
    def requeue(self, envelope: proxy_pb2.Envelope) -> None:
        """Put a taken envelope back at the head of its key (its pull was cancelled)."""

    @abstractmethod
    def abort(self, job_id: str, reason: str) -> None:
        """Drop the job's envelopes and fail its pending and later takes with ``reason``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Idempotent."""


def _aborted_message(job_id: str, reason: str) -> str:
    return f"job {job_id} aborted: {reason}"


class MemoryMailbox(Mailbox):
    """In-process mailbox holding at most ``max_bytes`` of serialized envelopes."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._cond = threading.Condition()
        self._boxes: dict[MailboxKey, deque[proxy_pb2.Envelope]] = {}
        self._aborted: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0
        self._peak = 0

    @property
    def total_bytes(self) -> int:
        """Bytes held now."""
        with self._cond:
            return self._bytes

    @property
    def peak_bytes(self) -> int:
        """Most bytes ever held at once."""
        with self._cond:
            return self._peak

    def _add(self, key: MailboxKey, envelope: proxy_pb2.Envelope, front: bool) -> None:
        box = self._boxes.setdefault(key, deque())
        if front:
            box.appendleft(envelope)
        else:
            box.append(envelope)
        self._bytes += envelope.ByteSize()
        self._peak = max(self._peak, self._bytes)
        self._cond.notify_all()

    def put(self, envelope: proxy_pb2.Envelope, timeout: float) -> bool:
        """Append, waiting while the mailbox is full; see :meth:`Mailbox.put`."""
        size = envelope.ByteSize()
        if size > self.max_bytes:
            raise MailboxFull(
                f"envelope of {size} bytes exceeds the mailbox bound {self.max_bytes}"
            )
        key = MailboxKey.of(envelope)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if key.job_id in self._aborted:
                    return False
                if self._bytes + size <= self.max_bytes:
                    self._add(key, envelope, front=False)
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MailboxFull(
                        f"mailbox full ({self._bytes} of {self.max_bytes} bytes) for "
                        f"{timeout:g} s: the receiver of {key.describe()} is not pulling"
                    )
                self._cond.wait(min(remaining, threading.TIMEOUT_MAX))

    def take(
        self,
        key: MailboxKey,
        timeout: float,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> proxy_pb2.Envelope:
        """Pop the oldest envelope of the key; see :meth:`Mailbox.take`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while True:
                if key.job_id in self._aborted:
                    raise MailboxAborted(_aborted_message(key.job_id, self._aborted[key.job_id]))
                box = self._boxes.get(key)
                if box:
                    envelope = box.popleft()
                    if not box:
                        del self._boxes[key]
                    self._bytes -= envelope.ByteSize()
                    self._cond.notify_all()  # wake puts waiting for room
                    return envelope
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MailboxTimeout(f"no {key.describe()} within {timeout:g} s")
                if is_cancelled is not None:
                    if is_cancelled():
                        raise MailboxTimeout(f"pull of {key.describe()} cancelled")
                    remaining = min(remaining, _SLICE_S)
                self._cond.wait(min(remaining, threading.TIMEOUT_MAX))

    def requeue(self, envelope: proxy_pb2.Envelope) -> None:
        """Put back at the head of its key (may briefly exceed the bound by one envelope)."""
        key = MailboxKey.of(envelope)
        with self._cond:
            if key.job_id not in self._aborted:
                self._add(key, envelope, front=True)

    def abort(self, job_id: str, reason: str) -> None:
        """Drop the job's envelopes and wake its waiters; see :meth:`Mailbox.abort`."""
        with self._cond:
            self._aborted[job_id] = reason
            self._aborted.move_to_end(job_id)
            while len(self._aborted) > _MAX_ABORTED_JOBS:
                self._aborted.popitem(last=False)
            for key in [k for k in self._boxes if k.job_id == job_id]:
                self._bytes -= sum(e.ByteSize() for e in self._boxes.pop(key))
            self._cond.notify_all()


# KEYS: box, bytes, jobbytes, jobkeys, abort.  ARGV: value, max_bytes, ttl.
# Returns -1 when the job is aborted, 0 when there is no room, 1 when stored.
_PUT = """
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
local size = string.len(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used + size > tonumber(ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('INCRBY', KEYS[2], size)
redis.call('INCRBY', KEYS[3], size)
redis.call('SADD', KEYS[4], KEYS[1])
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[3])
return 1
"""
# KEYS: bytes, jobbytes, jobkeys, abort.  ARGV: reason, ttl.
_ABORT = """
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[2])
for _, box in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('DEL', box) end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DECRBY', KEYS[1], held)
redis.call('DEL', KEYS[2], KEYS[3])
return held
"""


class RedisMailbox(Mailbox):
    """Mailbox in Redis: one list per key (BLPOP), envelopes stored as protobuf bytes.

    Keys live under ``<namespace>:proxy:{<party_id>}:`` (one Redis Cluster hash slot per party).
    A byte counter bounds what the party holds; a proxy that dies between popping an envelope
    and decrementing the counter leaves it high by that envelope.
    """

    def __init__(
        self, url: str, party_id: int, max_bytes: int, *, namespace: str = "fedloom"
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self.prefix = f"{namespace}:proxy:{{{party_id}}}:"
        self._redis = redis.Redis.from_url(url)
        self._put = self._redis.register_script(_PUT)
        self._abort = self._redis.register_script(_ABORT)
        self._bytes_key = self.prefix + "bytes"

    def _box(self, key: MailboxKey) -> str:
        return self.prefix + "box:" + json.dumps(list(key), separators=(",", ":"))

    def _job(self, job_id: str, what: str) -> str:
        return f"{self.prefix}{what}:{job_id}"

    @property
    def total_bytes(self) -> int:
        """Bytes held now (per the counter)."""
        value = self._redis.get(self._bytes_key)
        return int(value) if value is not None else 0

    def put(self, envelope: proxy_pb2.Envelope, timeout: float) -> bool:
        """Append, polling for room while the mailbox is full; see :meth:`Mailbox.put`."""
        value = envelope.SerializeToString()
        if len(value) > self.max_bytes:
            raise MailboxFull(
                f"envelope of {len(value)} bytes exceeds the mailbox bound {self.max_bytes}"
            )
        key = MailboxKey.of(envelope)
        keys = [
            self._box(key),
            self._bytes_key,
            self._job(key.job_id, "jobbytes"),
            self._job(key.job_id, "jobkeys"),
            self._job(key.job_id, "abort"),
        ]
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            stored = int(self._put(keys=keys, args=[value, self.max_bytes, _ABORT_TTL_S]))
            if stored != 0:
                return stored == 1
            if time.monotonic() + pause > deadline:
                raise MailboxFull(
                    f"mailbox full ({self.total_bytes} of {self.max_bytes} bytes) for "
                    f"{timeout:g} s: the receiver of {key.describe()} is not pulling"
                )
            time.sleep(pause)
            pause = min(pause * 2, _SLICE_S)

    def _check_aborted(self, job_id: str) -> None:
        reason = self._redis.get(self._job(job_id, "abort"))
        if reason is not None:
            text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise MailboxAborted(_aborted_message(job_id, text))

    def take(
        self,
        key: MailboxKey,
        timeout: float,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> proxy_pb2.Envelope:
        """Pop the oldest envelope of the key (BLPOP in short slices); see :meth:`Mailbox.take`."""
        box = self._box(key)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._check_aborted(key.job_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                value = self._redis.lpop(box)
            else:
                popped = self._redis.blpop([box], timeout=min(remaining, _SLICE_S))
                value = popped[1] if popped is not None else None
            if value is not None:
                data = value if isinstance(value, bytes) else str(value).encode()
                pipe = self._redis.pipeline()
                pipe.decrby(self._bytes_key, len(data))
                pipe.decrby(self._job(key.job_id, "jobbytes"), len(data))
                pipe.execute()
                return proxy_pb2.Envelope.FromString(data)
            if time.monotonic() >= deadline:
                raise MailboxTimeout(f"no {key.describe()} within {timeout:g} s")
            if is_cancelled is not None and is_cancelled():
                raise MailboxTimeout(f"pull of {key.describe()} cancelled")

    def requeue(self, envelope: proxy_pb2.Envelope) -> None:
        """Put back at the head of its key."""
        key = MailboxKey.of(envelope)
        data = envelope.SerializeToString()
        pipe = self._redis.pipeline()
        pipe.lpush(self._box(key), data)
        pipe.incrby(self._bytes_key, len(data))
        pipe.incrby(self._job(key.job_id, "jobbytes"), len(data))
        pipe.sadd(self._job(key.job_id, "jobkeys"), self._box(key))
        pipe.execute()

    def abort(self, job_id: str, reason: str) -> None:
        """Flag the job, delete its queues and release their bytes, in one script."""
        keys = [
            self._bytes_key,
            self._job(job_id, "jobbytes"),
            self._job(job_id, "jobkeys"),
            self._job(job_id, "abort"),
        ]
        self._abort(keys=keys, args=[reason, _ABORT_TTL_S])

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()
