"""Raw-socket WebSocket client helpers for misbehaviour tests."""

import base64
import os
import socket

from ws_client_frames import parse_server_frame


def handshake(port, path="/ws", extra=b""):
    key = base64.b64encode(os.urandom(16))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
              b"Sec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head


def read_all(s, timeout=5):
    s.settimeout(timeout)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def frames(data):
    out = []
    while len(data) >= 2:
        fin, op, payload, data = parse_server_frame(data)
        out.append((op, payload))
    return out
