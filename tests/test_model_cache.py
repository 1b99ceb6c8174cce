"""The SQLite response cache, alone and behind OpenAIModel (real HTTP to the fake server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autorun.models.base import Message, Usage
from autorun.models.cache import ReplyCache, cache_key, chunk_text, default_cache_path
from autorun.models.openai_model import OpenAIModel
from autorun.models.retry import PartialReplyError
from tests.fake_openai_server import FakeOpenAIServer

MESSAGES = [Message("system", "s"), Message("user", "sum the revenue")]
REPLY = "```python\nprint(91100)\n```\n"


def model_for(server: FakeOpenAIServer, cache: ReplyCache | None, **kwargs) -> OpenAIModel:
    return OpenAIModel("fake-analyst", base_url=server.base_url, api_key="k", cache=cache, **kwargs)


def test_default_path_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert default_cache_path({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "autorun" / "replies.sqlite"
    assert default_cache_path({}) == Path.home() / ".cache" / "autorun" / "replies.sqlite"


def test_key_depends_on_model_messages_and_parameters() -> None:
    base = cache_key("m", MESSAGES, {"temperature": 0})
    assert base == cache_key("m", list(MESSAGES), {"temperature": 0})
    assert base != cache_key("other", MESSAGES, {"temperature": 0})
    assert base != cache_key("m", [*MESSAGES, Message("assistant", "x")], {"temperature": 0})
    assert base != cache_key("m", MESSAGES, {"temperature": 0.7})


def test_put_get_roundtrip_with_and_without_usage(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "sub" / "c.sqlite")
    assert cache.get("k1") is None
    cache.put("k1", "m", "text one", Usage(3, 4))
    cache.put("k2", "m", "text two", None)
    assert cache.get("k1").content == "text one"
    assert cache.get("k1").usage == Usage(3, 4)
    assert cache.get("k2").usage is None
    assert len(ReplyCache(tmp_path / "sub" / "c.sqlite")) == 2


def test_chunk_text_joins_back_exactly() -> None:
    text = "  lead\n\tmid  end \n"
    assert "".join(chunk_text(text)) == text
    assert len(chunk_text(text)) > 2


def test_cache_hit_streams_without_a_second_request(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "replies.sqlite")
    usage = {"prompt_tokens": 30, "completion_tokens": 9}
    with FakeOpenAIServer([{"reply": REPLY, "usage": usage}, {"reply": "different"}]) as server:
        first = model_for(server, cache)
        assert "".join(first.reply(MESSAGES)) == REPLY
        second = model_for(server, cache)
        chunks = list(second.reply(MESSAGES))
        assert len(server.chat_requests) == 1
    assert len(chunks) > 1
    assert "".join(chunks) == REPLY
    assert second.cached is True
    assert second.usage == Usage(30, 9)


def test_different_parameters_miss_the_cache(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "replies.sqlite")
    with FakeOpenAIServer([{"reply": "cold"}, {"reply": "warm"}]) as server:
        assert "".join(model_for(server, cache).reply(MESSAGES)) == "cold"
        assert "".join(model_for(server, cache, temperature=0.9).reply(MESSAGES)) == "warm"
        assert len(server.chat_requests) == 2


def test_failed_replies_are_not_cached(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "replies.sqlite")
    steps = [{"fault": "cut", "reply": "half of it", "after_chunks": 2}, {"reply": "whole"}]
    with FakeOpenAIServer(steps) as server:
        model = model_for(server, cache, max_retries=0)
        with pytest.raises(PartialReplyError):
            list(model.reply(MESSAGES))
        assert len(cache) == 0
        assert "".join(model.reply(MESSAGES)) == "whole"
    assert len(cache) == 1


def test_without_cache_every_call_hits_the_server() -> None:
    with FakeOpenAIServer([{"reply": "a"}, {"reply": "b"}]) as server:
        model = model_for(server, None)
        assert ["".join(model.reply(MESSAGES)) for _ in range(2)] == ["a", "b"]
