"""The grader's end of the socket to a sandboxed child, read defensively.

The framing is ``multiprocessing.connection``'s, which the child uses as it is: a 4-byte
big-endian length (``-1`` then an 8-byte length for a long message), then the message. The grader
sends its own pickles (trusted); what comes back is a ``wire`` frame that a submission may have
written itself, so ``receive`` gives the whole frame one deadline (a child that sends half a frame
and stops is as slow as one that sends nothing), refuses a length over its bound before it reads
a byte of the body, and grows its buffer only as bytes arrive.
"""

from __future__ import annotations

import pickle
import socket
import struct
import time

CHUNK = 1 << 20


class ChannelError(Exception):
    """The child broke the framing (a length out of bounds); the message says how."""


class ChannelClosed(ChannelError):
    """The child closed its end (it ended or crashed)."""


class ChannelTimeout(ChannelError):
    """The deadline passed before a whole frame arrived."""


class Channel:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, value, seconds: float) -> None:
        """Send one pickled message within ``seconds`` (a child that stops reading cannot hold
        the grader)."""
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        header = (struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else
                  struct.pack("!iQ", -1, len(data)))
        self.sock.settimeout(max(seconds, 0.001))
        try:
            self.sock.sendall(header + data)
        except socket.timeout:
            raise ChannelTimeout("it stopped reading its requests") from None
        except OSError:
            raise ChannelClosed("its end of the channel is closed") from None

    def receive(self, seconds: float, max_bytes: int) -> bytes:
        """One whole frame, arrived within ``seconds``, of at most ``max_bytes``."""
        deadline = time.monotonic() + max(seconds, 0.0)
        (size,) = struct.unpack("!i", self._exactly(4, deadline, first=True))
        try:
            if size == -1:
                (size,) = struct.unpack("!Q", self._exactly(8, deadline))
            if size < 0 or size > max_bytes:
                raise ChannelError(f"it announced an answer of {size} bytes (at most "
                                   f"{max_bytes})")
            return bytes(self._exactly(size, deadline))
        except ChannelTimeout:
            raise ChannelError(f"it sent part of an answer of {size} bytes and stopped") from None

    def _exactly(self, size: int, deadline: float, first: bool = False) -> bytearray:
        buffer = bytearray()
        while len(buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                if buffer and first:
                    raise ChannelError("it sent part of an answer's length and stopped")
                raise ChannelTimeout("the deadline passed")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(size - len(buffer), CHUNK))
            except socket.timeout:
                if buffer and first:
                    raise ChannelError("it sent part of an answer's length and stopped") from None
                raise ChannelTimeout("the deadline passed") from None
            except OSError:
                raise ChannelClosed("its end of the channel is closed") from None
            if not chunk:
                raise ChannelClosed("its end of the channel is closed")
            buffer += chunk
        return buffer

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
