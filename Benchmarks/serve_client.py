"""Tiny blocking HTTP/1.1 client for the serve benchmarks: one request per connection, server-sent events read
as they arrive (with their arrival times), and the option to hang up mid-stream."""
import json
import socket
import time


def request_bytes(path, body, stream_body=True):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n")
    return head.encode() + data


class Reply:
    def __init__(self):
        self.status = None
        self.body = b""
        self.events = []        # (arrival time, payload) of each `data:` event
        self.started = None


def post(port, path, body, hang_up_after_events=None, timeout=300):
    """POST `body`; returns a Reply. With hang_up_after_events=k, closes the socket after k events."""
    reply = Reply()
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        reply.started = time.perf_counter()
        connection.sendall(request_bytes(path, body))
        raw = b""
        header_end = -1
        chunked = False
        decoded = b""
        pending = b""
        while True:
            data = connection.recv(65536)
            now = time.perf_counter()
            if not data:
                break
            if header_end < 0:
                raw += data
                header_end = raw.find(b"\r\n\r\n")
                if header_end < 0:
                    continue
                head = raw[:header_end].decode("latin-1").lower()
                reply.status = int(head.split()[1])
                chunked = "transfer-encoding: chunked" in head
                data = raw[header_end + 4:]
            pending += data
            if chunked:
                while True:
                    line_end = pending.find(b"\r\n")
                    if line_end < 0:
                        break
                    size = int(pending[:line_end], 16)
                    if len(pending) < line_end + 2 + size + 2:
                        break
                    decoded += pending[line_end + 2:line_end + 2 + size]
                    pending = pending[line_end + 2 + size + 2:]
            else:
                decoded, pending = decoded + pending, b""
            while b"\n\n" in decoded and reply.status == 200:
                event, decoded = decoded.split(b"\n\n", 1)
                if event.startswith(b"data: "):
                    reply.events.append((now, event[6:].decode()))
                else:
                    reply.body += event + b"\n\n"
            if hang_up_after_events is not None and len(reply.events) >= hang_up_after_events:
                return reply
        reply.body += decoded
        return reply
    finally:
        connection.close()


def streamed_text(reply):
    """Text and finish_reason of a completion or chat stream, and its usage chunk if any."""
    text, finish, usage = "", None, None
    for _, payload in reply.events:
        if payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices", []):
            text += choice.get("text") or (choice.get("delta") or {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
    return text, finish, usage
