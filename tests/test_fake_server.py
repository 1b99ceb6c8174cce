"""The test OpenAI server itself: wire shapes, scripted steps, process mode."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fake_openai_server import FakeOpenAIServer

SERVER = Path(__file__).with_name("fake_openai_server.py")


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_stream_is_sse_with_usage_chunk_and_done() -> None:
    with FakeOpenAIServer([{"reply": "a b", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}]) as server:
        body = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
        status, raw = post(server.base_url + "/chat/completions", body)
    assert status == 200
    events = [line[len("data: ") :] for line in raw.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "a b"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_non_streaming_reply_and_exhausted_script() -> None:
    with FakeOpenAIServer([{"reply": "hello"}]) as server:
        status, raw = post(server.base_url + "/chat/completions", {"model": "m", "messages": []})
        assert status == 200
        assert json.loads(raw)["choices"][0]["message"]["content"] == "hello"
        status, raw = post(server.base_url + "/chat/completions", {"model": "m", "messages": []})
        assert status == 400
        assert "script exhausted" in json.loads(raw)["error"]["message"]


def test_process_mode_prints_port_and_records_requests(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"steps": [{"reply": "ok"}], "models": ["fake-analyst"]}))
    record = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--script", str(script), "--port", "0", "--record", str(record)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}/v1"
        with urllib.request.urlopen(base + "/models", timeout=10) as response:
            assert [m["id"] for m in json.load(response)["data"]] == ["fake-analyst"]
        status, raw = post(base + "/chat/completions", {"model": "nope", "messages": []})
        assert status == 404
        assert json.loads(raw)["error"]["code"] == "model_not_found"
        status, _ = post(base + "/chat/completions", {"model": "fake-analyst", "messages": []})
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    recorded = [json.loads(line) for line in record.read_text().splitlines()]
    assert [r["path"] for r in recorded] == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    assert recorded[2]["body"]["model"] == "fake-analyst"


@pytest.mark.parametrize("fault,status", [("401", 401), ("403", 403), ("500", 500)])
def test_fault_statuses_use_openai_error_shape(fault: str, status: int) -> None:
    with FakeOpenAIServer([{"fault": fault}]) as server:
        code, raw = post(server.base_url + "/chat/completions", {"model": "m", "messages": []})
    assert code == status
    assert set(json.loads(raw)["error"]) == {"message", "type", "param", "code"}
