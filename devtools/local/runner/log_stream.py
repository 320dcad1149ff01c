"""The awslogs driver's part: a container's stdout lines as events in its CloudWatch stream.

The control plane reads a run's events, result and patch from the stream
`<prefix>/<container>/<task-id>` of the task definition's awslogs group
(chalice_api/chalicelib/cloud/logs.py), so the runner writes exactly there on moto. Lines are
sent in small batches as they come (the API shows them while the run is going); `close()` sends the
rest, and the runner calls it before it reports STOPPED, because the task_state handler reads
the result from the end of the stream.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

# CloudWatch limits: 10,000 events or 1,048,576 bytes per PutLogEvents (26 bytes overhead
# per event), 256 KiB per event.
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 900_000
MAX_EVENT_BYTES = 256 * 1024 - 26
FLUSH_SECONDS = 0.25


class LogStream:
    """Buffered writer of one log stream; thread-safe `write`, periodic flush."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self._logs = logs
        self.group = group
        self.stream = stream
        self._pending: list[dict[str, Any]] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self._flusher = threading.Thread(target=self._loop, daemon=True)
        self._flusher.start()

    def write(self, line: str) -> None:
        """One stdout line becomes one event (cut at CloudWatch's event size)."""
        message = line.rstrip("\n")
        if not message:
            return
        data = message.encode()
        if len(data) > MAX_EVENT_BYTES:
            message = data[:MAX_EVENT_BYTES].decode(errors="ignore")
        event = {"timestamp": int(time.time() * 1000), "message": message}
        with self._lock:
            self._pending.append(event)
            self._bytes += len(message) + 26
            full = len(self._pending) >= MAX_BATCH_EVENTS or self._bytes >= MAX_BATCH_BYTES
        if full:
            self.flush()

    def flush(self) -> None:
        """Send what is buffered, in order (one sender at a time)."""
        with self._send_lock:
            with self._lock:
                batch, self._pending, self._bytes = self._pending, [], 0
            if not batch:
                return
            try:
                self._logs.put_log_events(
                    logGroupName=self.group, logStreamName=self.stream, logEvents=batch
                )
            except Exception:
                with self._lock:  # keep them, in order, for the next try
                    self._pending[:0] = batch
                    self._bytes += sum(len(e["message"]) + 26 for e in batch)
                raise

    def close(self) -> None:
        """Stop the periodic flush and send everything left."""
        self._closed.set()
        self._flusher.join(5)
        self.flush()

    def _loop(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            with contextlib.suppress(Exception):  # a failed batch is retried by close()
                self.flush()
