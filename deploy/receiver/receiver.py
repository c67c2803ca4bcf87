"""A webhook receiver for trying carelog out: logs every delivery and answers 204.

Standard library only. Listens on RECEIVER_PORT (default 9000), any path:

    POST <any path>   log the delivery as one JSON line on stdout, answer 204
                      (if RECEIVER_WEBHOOK_SECRET holds the subscription's whsec_ secret, the
                      Standard Webhooks signature is checked: 401 when it does not match)
    GET  /healthz     200 {"status": "ok"}
    GET  /received    the last deliveries (at most RECEIVER_KEEP, default 200), newest last

Set RECEIVER_FAIL_FIRST=N to answer 503 to the first N deliveries, to watch carelog retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEEP = int(os.environ.get("RECEIVER_KEEP", "200"))
SECRET = os.environ.get("RECEIVER_WEBHOOK_SECRET", "")
TOLERANCE_SECONDS = 300

_lock = threading.Lock()
_received: deque[dict[str, Any]] = deque(maxlen=KEEP)
_to_fail = int(os.environ.get("RECEIVER_FAIL_FIRST", "0"))


def signature_ok(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Standard Webhooks: base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), header "v1,<sig> ..."."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
            return False
    except ValueError:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for part in header.split():
        version, _, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    server_version = "carelog-receiver/1"

    def _reply(self, status: int, payload: Any = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif self.path == "/received":
            with _lock:
                self._reply(200, list(_received))
        else:
            self._reply(404, {"detail": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        global _to_fail
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        msg_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        verified = None
        if SECRET:
            verified = signature_ok(SECRET, msg_id, timestamp, raw, self.headers.get("webhook-signature", ""))
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        record = {
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "path": self.path,
            "webhook_id": msg_id,
            "webhook_timestamp": timestamp,
            "signature_verified": verified,
            "payload": payload,
        }
        with _lock:
            failing = _to_fail > 0
            if failing:
                _to_fail -= 1
            record["answered"] = 401 if verified is False else 503 if failing else 204
            _received.append(record)
        print(json.dumps(record, separators=(",", ":")), flush=True)
        self._reply(record["answered"])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: we log JSON ourselves
        pass


def main() -> None:
    port = int(os.environ.get("RECEIVER_PORT", "9000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"webhook receiver listening on :{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
