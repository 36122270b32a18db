"""Messages of any size over a transport: chunking, sequence numbers and checksums."""

from __future__ import annotations

import hashlib
import operator
from collections import defaultdict

from fedloom.federation.transport import Transport
from fedloom.federation.types import Envelope, FederationError, Party

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 600.0


def checksum(payload: bytes) -> bytes:
    """The 16-byte BLAKE2b digest carried by each envelope."""
    return hashlib.blake2b(payload, digest_size=16).digest()


class Messenger:
    """Sends and receives whole byte messages for one local party of one job."""

    def __init__(
        self,
        transport: Transport,
        job_id: str,
        local: Party,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        chunk_size = operator.index(chunk_size)  # TypeError for floats, before any send
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.transport = transport
        self.job_id = job_id
        self.local = local
        self.chunk_size = chunk_size
        self.timeout = timeout
        self._sent: defaultdict[tuple[Party, str], int] = defaultdict(int)
        self._received: defaultdict[tuple[Party, str], int] = defaultdict(int)

    def send(self, dst: Party, tag: str, payload: bytes) -> None:
        """Send ``payload`` to ``dst`` under ``tag``, split into chunks."""
        seq = self._sent[(dst, tag)]
        self._sent[(dst, tag)] += 1
        size = self.chunk_size
        count = max(1, -(-len(payload) // size))
        view = memoryview(payload)
        for index in range(count):
            chunk = bytes(view[index * size : (index + 1) * size])
            self.transport.push(
                Envelope(
                    self.job_id, self.local, dst, tag, seq, index, count, chunk, checksum(chunk)
                )
            )

    def recv(self, src: Party, tag: str, timeout: float | None = None) -> bytes:
        """Receive the next message from ``src`` under ``tag``, checking order and integrity."""
        wait = self.timeout if timeout is None else timeout
        seq = self._received[(src, tag)]
        parts: list[bytes] = []
        count = 1
        index = 0
        while index < count:
            env = self.transport.pull(self.job_id, src, self.local, tag, wait)
            where = f"message {tag!r} from {src}"
            if env.seq != seq or env.chunk_index != index:
                raise FederationError(
                    f"{where}: expected seq {seq} chunk {index}, got seq {env.seq} "
                    f"chunk {env.chunk_index}"
                )
            if index == 0:
                count = env.chunk_count
                if count < 1:
                    raise FederationError(f"{where}: invalid chunk count {count}")
            elif env.chunk_count != count:
                raise FederationError(f"{where}: chunk count changed mid-message")
            if checksum(env.payload) != env.checksum:
                raise FederationError(f"{where}: checksum mismatch in chunk {index}")
            parts.append(env.payload)
            index += 1
        # Only a complete message advances the sequence: a receive that timed out before its
        # first chunk arrived can be retried and still expects the same message.
        self._received[(src, tag)] += 1
        return b"".join(parts)
