"""OpenAIModel through the real openai client against the fake server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from autorun.errors import ExitCode, ModelError
from autorun.models.base import Message, Usage
from autorun.models.openai_model import OpenAIModel
from autorun.models.pricing import estimate_cost, price_table
from autorun.models.retry import (
    RESTART,
    PartialReplyError,
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
)
from tests.fake_openai_server import FakeOpenAIServer

MESSAGES = [Message("system", "be brief"), Message("user", "hi")]
TEXT = "Here is the code:\n```python\nprint(1 + 1)\n```\n"


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.notices: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def notice(self, text: str) -> None:
        self.notices.append(text)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make_model(server: FakeOpenAIServer, rec: Recorder, **kwargs) -> OpenAIModel:
    options = {"api_key": "sk-test", "api_key_env": "FAKE_KEY", "sleep": rec.sleep, "on_notice": rec.notice}
    return OpenAIModel(kwargs.pop("name", "fake-analyst"), base_url=server.base_url, **(options | kwargs))


def serve(steps: list[dict], **kwargs) -> FakeOpenAIServer:
    return FakeOpenAIServer(steps, **kwargs)


def collect(chunks: Iterator[str]) -> list[str]:
    return list(chunks)


# --- streaming and usage ---------------------------------------------------------------


def test_streams_chunks_in_order_and_records_usage(rec: Recorder) -> None:
    usage = {"prompt_tokens": 42, "completion_tokens": 7}
    with serve([{"reply": TEXT, "usage": usage}]) as server:
        model = make_model(server, rec)
        chunks = collect(model.reply(MESSAGES))
    assert len(chunks) > 3
    assert "".join(chunks) == TEXT
    assert model.usage == Usage(42, 7)
    assert model.cached is False
    assert rec.notices == []


def test_usage_is_none_when_the_server_gives_none(rec: Recorder) -> None:
    with serve([{"reply": "a", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}, {"reply": "b"}]) as server:
        server.no_usage = True
        model = make_model(server, rec)
        assert "".join(model.reply(MESSAGES)) == "a"
        assert model.usage is None


def test_request_carries_model_messages_temperature_max_tokens_and_headers(rec: Recorder) -> None:
    with serve([{"reply": "ok"}]) as server:
        model = make_model(server, rec, temperature=0.3, max_tokens=99, extra_headers={"X-Team": "analytics"})
        collect(model.reply(MESSAGES))
        [request] = server.chat_requests
    body = request["body"]
    assert body["model"] == "fake-analyst"
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 99
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert request["headers"]["x-team"] == "analytics"
    assert request["headers"]["authorization"] == "Bearer sk-test"


# --- failures that end at once ---------------------------------------------------------


@pytest.mark.parametrize("fault", ["401", "403"])
def test_auth_failure_names_url_and_key_variable(rec: Recorder, fault: str) -> None:
    with serve([{"fault": fault}]) as server:
        model = make_model(server, rec)
        with pytest.raises(ModelError) as info:
            collect(model.reply(MESSAGES))
        assert len(server.chat_requests) == 1
    assert str(info.value) == f"authentication failed at {server.base_url}: check $FAKE_KEY"
    assert info.value.exit_code == ExitCode.MODEL
    assert rec.sleeps == []


def test_unknown_model_names_it_and_lists_the_servers_models(rec: Recorder) -> None:
    with serve([{"reply": "never"}], models=["llama3", "qwen2.5-coder"]) as server:
        model = make_model(server, rec, name="gpt-nonexistent")
        with pytest.raises(ModelError) as info:
            collect(model.reply(MESSAGES))
    message = str(info.value)
    assert "gpt-nonexistent" in message
    assert server.base_url in message
    assert "llama3, qwen2.5-coder" in message


def test_unknown_model_without_a_model_list_still_names_the_model(rec: Recorder) -> None:
    with serve([{"fault": "404"}]) as server:
        model = make_model(server, rec, name="mystery")
        with pytest.raises(ModelError, match=r"model mystery is not available at .*check model.name"):
            collect(model.reply(MESSAGES))


def test_wrong_base_path_is_reported_as_endpoint_not_model(rec: Recorder) -> None:
    with serve([]) as server:
        model = OpenAIModel("m", base_url=f"http://127.0.0.1:{server.port}/wrong", api_key="k", sleep=rec.sleep)
        with pytest.raises(ModelError, match=r"no chat completions endpoint.*model.base_url"):
            collect(model.reply(MESSAGES))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_names_the_url_without_retrying(rec: Recorder) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    model = OpenAIModel("m", base_url=url, api_key="k", sleep=rec.sleep, on_notice=rec.notice)
    with pytest.raises(ModelError) as info:
        collect(model.reply(MESSAGES))
    assert f"cannot connect to {url}" in str(info.value)
    assert "model.base_url" in str(info.value)
    assert rec.sleeps == []


def test_bad_request_is_not_retried(rec: Recorder) -> None:
    with serve([]) as server:  # an exhausted script answers 400
        model = make_model(server, rec)
        with pytest.raises(ModelError, match=r"rejected the request.*HTTP 400.*script exhausted"):
            collect(model.reply(MESSAGES))
        assert len(server.chat_requests) == 1


# --- retried failures ------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(rec: Recorder) -> None:
    with serve([{"fault": "429", "retry_after": 7}, {"reply": "done"}]) as server:
        model = make_model(server, rec)
        assert "".join(model.reply(MESSAGES)) == "done"
        assert len(server.chat_requests) == 2
    assert rec.sleeps == [7.0]
    assert rec.notices == [f"model: HTTP 429 from {server.base_url}; retry 1/4 in 7.0 s"]


def test_500_is_retried_with_growing_backoff_then_succeeds(rec: Recorder) -> None:
    with serve([{"fault": "500"}, {"fault": "500"}, {"reply": "fine"}]) as server:
        model = make_model(server, rec)
        assert "".join(model.reply(MESSAGES)) == "fine"
    assert len(rec.sleeps) == 2
    assert 0.5 <= rec.sleeps[0] < 1.0
    assert 1.0 <= rec.sleeps[1] < 2.0
    assert [n.split(";")[1] for n in rec.notices] == [
        f" retry 1/4 in {rec.sleeps[0]:.1f} s",
        f" retry 2/4 in {rec.sleeps[1]:.1f} s",
    ]


def test_persistent_429_ends_in_model_error_after_max_retries(rec: Recorder) -> None:
    with serve([{"fault": "429"}] * 3) as server:
        model = make_model(server, rec, max_retries=2)
        with pytest.raises(ModelError, match=r"rate limited by .*after 2 retries") as info:
            collect(model.reply(MESSAGES))
        assert len(server.chat_requests) == 3
    assert not isinstance(info.value, PartialReplyError)
    assert len(rec.notices) == 2


def test_slow_reply_past_timeout_is_retried_then_fails(rec: Recorder) -> None:
    slow = {"fault": "slow", "delay": 3, "reply": "late"}
    with serve([slow, slow]) as server:
        model = make_model(server, rec, request_timeout=0.3, max_retries=1)
        with pytest.raises(ModelError, match=r"no response from .* within 0.3 s.*request_timeout.*after 1 retry"):
            collect(model.reply(MESSAGES))
        assert len(server.chat_requests) == 2
    assert rec.notices[0].startswith(f"model: no response from {server.base_url} within 0.3 s; retry 1/1")


def test_slow_reply_then_fast_reply_succeeds(rec: Recorder) -> None:
    with serve([{"fault": "slow", "delay": 3, "reply": "late"}, {"reply": "quick"}]) as server:
        model = make_model(server, rec, request_timeout=0.3)
        assert "".join(model.reply(MESSAGES)) == "quick"


def split_at_restart(chunks: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for chunk in chunks:
        if chunk is RESTART:
            parts.append([])
        else:
            parts[-1].append(chunk)
    return parts


def test_stream_cut_mid_reply_is_retried_and_marks_the_restart(rec: Recorder) -> None:
    steps = [{"fault": "cut", "reply": "one two three four", "after_chunks": 3}, {"reply": "full answer"}]
    with serve(steps) as server:
        model = make_model(server, rec)
        chunks = collect(model.reply(MESSAGES))
    before, after = split_at_restart(chunks)
    assert "".join(before) == "one two "
    assert "".join(after) == "full answer"
    assert model.usage is not None
    assert "broke after 8 characters" in rec.notices[0]


def test_stream_stalled_mid_reply_times_out_and_is_retried(rec: Recorder) -> None:
    steps = [{"fault": "slow", "reply": "a b c", "after_chunks": 2, "delay": 3}, {"reply": "a b c"}]
    with serve(steps) as server:
        model = make_model(server, rec, request_timeout=0.3)
        chunks = collect(model.reply(MESSAGES))
    assert [("".join(p)) for p in split_at_restart(chunks)] == ["a ", "a b c"]


def test_no_restart_marker_when_nothing_was_shown(rec: Recorder) -> None:
    with serve([{"fault": "cut", "reply": "x y", "after_chunks": 1}, {"reply": "x y"}]) as server:
        chunks = collect(make_model(server, rec).reply(MESSAGES))
    assert not any(c is RESTART for c in chunks)
    assert chunks == ["x ", "y"]


def test_retries_spent_after_partial_text_raise_partial_reply_error(rec: Recorder) -> None:
    steps = [
        {"fault": "cut", "reply": "first attempt text", "after_chunks": 2},
        {"fault": "cut", "reply": "second attempt text", "after_chunks": 3},
        {"fault": "500"},
    ]
    with serve(steps) as server:
        model = make_model(server, rec, max_retries=2)
        received: list[str] = []
        with pytest.raises(PartialReplyError) as info:
            for chunk in model.reply(MESSAGES):
                received.append(chunk)
    assert info.value.partial_text == "second attempt "
    assert info.value.exit_code == ExitCode.MODEL
    assert "".join(split_at_restart(received)[-1]) == info.value.partial_text
    assert "HTTP 500" in str(info.value)
    assert model.usage is None


# --- cost ------------------------------------------------------------------------------


def test_cost_uses_table_and_overrides(rec: Recorder) -> None:
    with serve([]) as server:
        priced = make_model(server, rec, name="my-local", prices={"my-local": {"input": 1.0, "output": 2.0}})
        unpriced = make_model(server, rec, name="my-local")
    assert priced.cost(Usage(1_000_000, 500_000)) == pytest.approx(2.0)
    assert unpriced.cost(Usage(10, 10)) is None
    assert priced.cost(None) is None


def test_estimate_cost_known_models_and_snapshots() -> None:
    assert estimate_cost("gpt-4o-mini", Usage(1_000_000, 1_000_000)) == pytest.approx(0.75)
    assert estimate_cost("gpt-4o-2024-08-06", Usage(2_000_000, 0)) == pytest.approx(5.0)
    assert estimate_cost("llama3", Usage(1, 1)) is None
    assert estimate_cost("gpt-4o", None) is None
    assert price_table({"gpt-4o": {"input": 0, "output": 0}})["gpt-4o"].input == 0


# --- retry policy ----------------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_caps() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert backoff_delay(1, policy, rand=lambda: 0.0) == 0.5
    assert backoff_delay(3, policy, rand=lambda: 0.0) == 2.0
    assert backoff_delay(3, policy, rand=lambda: 0.999) == pytest.approx(3.998)
    assert backoff_delay(10, policy, rand=lambda: 0.999) < 10.0
    assert backoff_delay(10, policy, rand=lambda: 0.0) == 5.0


def test_retry_after_wins_but_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert backoff_delay(1, policy, retry_after=12.0) == 12.0
    assert backoff_delay(1, policy, retry_after=600.0) == 60.0


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_tls_failure_names_the_url(rec: Recorder) -> None:
    with serve([]) as server:
        url = server.base_url.replace("http://", "https://")
        model = OpenAIModel("m", base_url=url, api_key="k", sleep=rec.sleep)
        with pytest.raises(ModelError, match=rf"^cannot connect to {url} \(.*SSL"):
            collect(model.reply(MESSAGES))
        assert server.chat_requests == []
