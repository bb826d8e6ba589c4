"""A response body waiting for flow-control window: queued chunks, end flag and trailers."""

from collections import deque


class OutboundStream:
    """What is still to be sent on one stream once the peer's window allows it."""

    __slots__ = ("chunks", "size", "end", "trailers")

    def __init__(self):
        self.chunks = deque()   # memoryviews not yet framed
        self.size = 0           # bytes in ``chunks``
        self.end = False        # END_STREAM goes out once the chunks are gone
        self.trailers = None    # a trailer block sent with END_STREAM, if any

    def add(self, data):
        if data:
            self.chunks.append(memoryview(data))
            self.size += len(data)

    def take(self, limit):
        """Up to ``limit`` bytes from the front of the queue, as bytes."""
        chunk = self.chunks[0]
        if len(chunk) > limit:
            piece = chunk[:limit]
            self.chunks[0] = chunk[limit:]
        else:
            piece = self.chunks.popleft()
        self.size -= len(piece)
        return bytes(piece)
