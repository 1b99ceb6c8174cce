"""A small OpenAI-compatible HTTP server with scripted replies and faults, for tests.

In-process::

    with FakeOpenAIServer([{"reply": "hi"}, {"fault": "429", "retry_after": 2}]) as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test")

As a process (prints its port on the first line of stdout, then serves until killed
or --max-seconds pass)::

    python tests/fake_openai_server.py --script steps.json --port 0 --record requests.jsonl

The script is a JSON list of steps, or an object {"steps": [...], "models": [...],
"api_key": "...", "no_usage": false, "routes": [...]}. Each POST /v1/chat/completions consumes
one step. With routes ({"match": "text", "steps": [...]}, each with its own queue), a request
whose first user message contains a route's text takes that route's next step, so parallel
conversations (an eval's sessions) each get their own script; other requests take "steps".

    {"reply": "text", "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
        "usage" absent: counted from the words; "usage": null: no usage at all
    {"fault": "401" | "403" | "500"}
    {"fault": "404"}                       model-not-found error for the requested model
    {"fault": "429", "retry_after": 2}     Retry-After header (seconds), optional
    {"fault": "slow", "delay": 5, "reply": "text", "after_chunks": 0}
        waits `delay` s (bounded by MAX_DELAY) before the reply, or after `after_chunks` chunks
    {"fault": "cut", "reply": "text", "after_chunks": 2}
        streams that many SSE events (the first carries only the role), then closes the
        connection mid-body

When the script runs out the server answers 400 "script exhausted". A request for a
model not in `models` (when given) gets the same 404 as the "404" fault; a wrong bearer
token (when `api_key` is given) gets 401.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_DELAY = 30.0
MAX_BODY = 10_000_000


def word_chunks(text: str) -> list[str]:
    """Split into word-sized pieces (the way tokens arrive), keeping every character."""
    return re.findall(r"\S+\s*|\s+", text)


class FakeOpenAIServer:
    def __init__(
        self,
        steps: list[dict[str, Any]] | None = None,
        *,
        models: list[str] | None = None,
        api_key: str | None = None,
        no_usage: bool = False,
        port: int = 0,
        record_path: Path | None = None,
        routes: list[dict[str, Any]] | None = None,
    ) -> None:
        self.steps = list(steps or [])
        self.routes = [(str(route["match"]), list(route["steps"])) for route in routes or []]
        self._route_next = [0] * len(self.routes)
        self.models = models
        self.api_key = api_key
        self.no_usage = no_usage
        self.record_path = record_path
        self.requests: list[dict[str, Any]] = []
        self.served: list[tuple[str, dict[str, Any]]] = []  # (first user message, step) of each chat request
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, path: str, headers: dict[str, str], body: Any) -> None:
        entry = {"path": path, "headers": headers, "body": body}
        with self._lock:
            self.requests.append(entry)
            if self.record_path is not None:
                with self.record_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")

    def next_step(self, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        with self._lock:
            opening = _first_user_message(body)
            step = self._route_step(opening)
            if step is None and not any(match in opening for match, _ in self.routes) and self._next < len(self.steps):
                step = self.steps[self._next]
                self._next += 1
            if step is not None:
                self.served.append((opening, step))
            return step

    def _route_step(self, opening: str) -> dict[str, Any] | None:
        for n, (match, steps) in enumerate(self.routes):
            if match in opening:
                if self._route_next[n] >= len(steps):
                    return None
                self._route_next[n] += 1
                return steps[self._route_next[n] - 1]
        return None

    def wait(self, seconds: float) -> None:
        self.stopping.wait(min(max(seconds, 0.0), MAX_DELAY))


def _first_user_message(body: dict[str, Any] | None) -> str:
    messages = (body or {}).get("messages")
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def do_GET(self) -> None:
        self.fake.record(self.path, self._headers(), None)
        if self.path.rstrip("/") == "/v1/models":
            names = self.fake.models or []
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"Unknown path {self.path}", "invalid_request_error", None)

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        self.fake.record(self.path, self._headers(), body)
        if self.path.rstrip("/") != "/v1/chat/completions" or not isinstance(body, dict):
            self._error(404, f"Unknown request {self.path}", "invalid_request_error", None)
            return
        try:
            self._chat(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.fake
        model = str(body.get("model"))
        if fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._fault({"fault": "401"}, model)
            return
        if fake.models is not None and model not in fake.models:
            self._fault({"fault": "404"}, model)
            return
        step = fake.next_step(body)
        if step is None:
            self._error(400, "fake server: script exhausted", "invalid_request_error", "script_exhausted")
            return
        fault = str(step.get("fault", ""))
        if fault in ("401", "403", "404", "429", "500"):
            self._fault(step, model)
            return
        if fault == "slow" and not step.get("after_chunks"):
            fake.wait(float(step.get("delay", 5)))
            if fake.stopping.is_set():
                return
        if body.get("stream"):
            self._stream(step, body, model)
        else:
            self._complete(step, model)

    def _fault(self, step: dict[str, Any], model: str) -> None:
        fault = str(step["fault"])
        if fault == "401":
            self._error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        elif fault == "403":
            self._error(403, "You are not allowed to use this model.", "invalid_request_error", None)
        elif fault == "404":
            message = f"The model `{model}` does not exist or you do not have access to it."
            self._error(404, message, "invalid_request_error", "model_not_found")
        elif fault == "429":
            headers = {}
            if step.get("retry_after") is not None:
                headers["Retry-After"] = str(step["retry_after"])
            self._error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", headers)
        else:
            self._error(500, "The server had an error processing your request.", "server_error", None)

    def _usage(self, step: dict[str, Any]) -> dict[str, int] | None:
        if self.fake.no_usage or ("usage" in step and step["usage"] is None):
            return None
        given = step.get("usage") or {}
        prompt = int(given.get("prompt_tokens", 10))
        completion = int(given.get("completion_tokens", len(word_chunks(str(step.get("reply", ""))))))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _complete(self, step: dict[str, Any], model: str) -> None:
        message = {"role": "assistant", "content": str(step.get("reply", "")), "refusal": None}
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": self._usage(step),
        }
        self._json(200, payload)

    def _stream(self, step: dict[str, Any], body: dict[str, Any], model: str) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        fault = step.get("fault")
        stop_after = int(step.get("after_chunks", 0)) if fault in ("cut", "slow") else -1
        if fault == "slow" and stop_after == 0:
            stop_after = -1
        for sent, event in enumerate(self._events(step, model, include_usage)):
            if sent == stop_after:
                if fault == "cut":
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.fake.wait(float(step.get("delay", 5)))
                if self.fake.stopping.is_set():
                    return
            self._write_chunk(f"data: {event}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _events(self, step: dict[str, Any], model: str, include_usage: bool) -> Iterator[str]:
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
        base |= {"model": model, "system_fingerprint": None}
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return json.dumps(base | {"choices": [choice]} | extra)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in word_chunks(str(step.get("reply", ""))):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        usage = self._usage(step)
        if include_usage and usage is not None:
            yield json.dumps(base | {"choices": [], "usage": usage})

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, message: str, kind: str, code: str | None, headers: dict[str, str] | None = None
    ) -> None:
        error = {"message": message, "type": kind, "param": None, "code": code}
        self._json(status, {"error": error}, headers)


def load_script(path: Path) -> dict[str, Any]:
    script = json.loads(path.read_text(encoding="utf-8"))
    return {"steps": script} if isinstance(script, list) else script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", type=Path, default=None, help="append each request as a JSON line")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    script = load_script(args.script)
    server = FakeOpenAIServer(
        script.get("steps", []),
        models=script.get("models"),
        api_key=script.get("api_key"),
        no_usage=bool(script.get("no_usage", False)),
        port=args.port,
        record_path=args.record,
        routes=script.get("routes"),
    )
    with server:
        print(server.port, flush=True)
        server.stopping.wait(args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
