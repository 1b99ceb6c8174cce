"""Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, gateways).

Streaming contract of :meth:`OpenAIModel.reply`:

- it yields the reply's text chunks as they arrive (never empty strings);
- 429, 5xx, timeouts and a stream that breaks mid-reply are retried with backoff, each
  retry announced by one ``on_notice`` line;
- when a retry starts producing text after an earlier attempt had already yielded some,
  it first yields :data:`~autorun.models.base.RESTART`: the caller drops what it got
  before the marker. The reply is therefore ``"".join(chunks after the last RESTART)``;
- when the retries are spent it raises :class:`~autorun.models.base.PartialReplyError`
  (``.partial_text`` = the chunks since the last RESTART) if any text was yielded since
  the last RESTART, else a plain ModelError; auth, unknown model, unreachable server
  and other rejections raise ModelError at once;
- ``usage`` is the last reply's usage as reported by the server, or None (never guessed);
  ``cached`` tells whether that reply came from the response cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, NoReturn

from autorun.errors import ModelError
from autorun.models.base import RESTART, Message, PartialReplyError, Usage
from autorun.models.cache import ReplyCache, cache_key, chunk_text
from autorun.models.pricing import estimate_cost
from autorun.models.retry import RetryPolicy, backoff_delay, is_retryable_status, parse_retry_after

OPENAI_URL = "https://api.openai.com/v1"
MAX_LISTED_MODELS = 20


class _Retryable(Exception):
    """One failed attempt that may succeed if tried again."""

    def __init__(self, reason: str, give_up: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.give_up = give_up
        self.retry_after = retry_after


class OpenAIModel:
    """Streams replies from an OpenAI-compatible endpoint; see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str | None,
        api_key: str | None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        request_timeout: float = 60.0,
        max_retries: int = 4,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        cache: ReplyCache | None = None,
        on_notice: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.usage: Usage | None = None
        self.cached = False
        self.base_url = base_url
        self.url = (base_url or OPENAI_URL).rstrip("/")
        self.api_key = api_key
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_headers = dict(extra_headers or {})
        self.request_timeout = request_timeout
        self.policy = RetryPolicy(max_retries=max_retries)
        self.prices = prices
        self.cache = cache
        self._notice = on_notice or (lambda text: None)
        self._sleep = sleep
        self._client: Any = None

    def cost(self, usage: Usage | None) -> float | None:
        """Estimated USD for ``usage`` on this model, or None when unknown."""
        return estimate_cost(self.name, usage, self.prices)

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        self.usage = None
        self.cached = False
        key = None
        if self.cache is not None:
            key = cache_key(self.name, messages, self._cache_params())
            hit = self.cache.get(key)
            if hit is not None:
                self.usage = hit.usage
                self.cached = True
                yield from chunk_text(hit.content)
                return
        text = yield from self._with_retries(messages)
        if self.cache is not None and key is not None:
            self.cache.put(key, self.name, text, self.usage)

    def _cache_params(self) -> dict[str, Any]:
        return {"url": self.url, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _with_retries(self, messages: Sequence[Message]) -> Generator[str, None, str]:
        shown: list[str] = []  # yielded since the last RESTART
        retry = 0
        while True:
            received: list[str] = []
            try:
                for piece in self._attempt(messages):
                    if not received and shown:
                        yield RESTART
                        shown = []
                    received.append(piece)
                    shown.append(piece)
                    yield piece
                return "".join(received)
            except _Retryable as failure:
                if retry >= self.policy.max_retries:
                    self._give_up(failure, "".join(shown), retry)
                retry += 1
                delay = backoff_delay(retry, self.policy, retry_after=failure.retry_after)
                self._notice(f"model: {failure.reason}; retry {retry}/{self.policy.max_retries} in {delay:.1f} s")
                self._sleep(delay)

    def _give_up(self, failure: _Retryable, partial: str, retries: int) -> NoReturn:
        tries = "retry" if retries == 1 else "retries"
        message = f"{failure.give_up} (after {retries} {tries})"
        if partial:
            raise PartialReplyError(message, partial)
        raise ModelError(message)

    def _attempt(self, messages: Sequence[Message]) -> Iterator[str]:
        """One request: yields text chunks; raises _Retryable or ModelError."""
        import openai

        client = self._get_client()
        self.usage = None
        stream = None
        received = 0
        try:
            stream = client.chat.completions.create(**self._request(messages))
            with stream:
                for chunk in stream:
                    if chunk.usage is not None:
                        self.usage = _usage(chunk.usage)
                    for choice in chunk.choices:
                        text = choice.delta.content if choice.delta else None
                        if text:
                            received += len(text)
                            yield text
        except openai.APIStatusError as err:
            raise self._status_failure(err) from err
        except openai.APITimeoutError as err:
            raise _Retryable(
                f"no response from {self.url} within {self.request_timeout:g} s",
                f"no response from {self.url} within {self.request_timeout:g} s: "
                "raise model.request_timeout or check the server",
            ) from err
        except openai.APIConnectionError as err:
            if stream is None and _is_connect_error(err):
                raise ModelError(
                    f"cannot connect to {self.url} ({_cause(err)}): check model.base_url and that the server is running"
                ) from err
            raise self._broken(received, err) from err
        except openai.APIError as err:
            raise self._broken(received, err) from err
        except openai.OpenAIError as err:
            raise ModelError(f"model {self.name} at {self.url} failed: {err}") from err

    def _broken(self, received: int, err: Exception) -> _Retryable:
        return _Retryable(
            f"reply stream from {self.url} broke after {received} characters ({_cause(err)})",
            f"the reply stream from {self.url} kept breaking ({_cause(err)}): try again later",
        )

    def _request(self, messages: Sequence[Message]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self.max_tokens is not None:
            request["max_tokens"] = self.max_tokens
        return request

    def prepare(self) -> None:
        """Import openai and build the client now (~0.5 s, most of it the import), while something
        else runs on the other core, instead of when the first request is about to go out."""
        self._get_client()

    def _get_client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=self.api_key or "none",
                base_url=self.url,
                timeout=self.request_timeout,
                max_retries=0,
                default_headers=self.extra_headers or None,
            )
        return self._client

    def _status_failure(self, err: Any) -> Exception:
        status = int(err.status_code)
        detail = _server_message(err)
        if status in (401, 403):
            return ModelError(f"authentication failed at {self.url}: check ${self.api_key_env}")
        if status == 404:
            return ModelError(self._not_found_message(err))
        if is_retryable_status(status):
            if status == 429:
                give_up = f"rate limited by {self.url} (HTTP 429): wait a little or raise model.max_retries"
            else:
                give_up = f"{self.url} kept failing with HTTP {status} ({detail}): try again later"
            retry_after = parse_retry_after(dict(err.response.headers))
            return _Retryable(f"HTTP {status} from {self.url}", give_up, retry_after)
        return ModelError(f"{self.url} rejected the request for model {self.name} (HTTP {status}): {detail}")

    def _not_found_message(self, err: Any) -> str:
        available = self._list_models()
        about_model = (
            getattr(err, "code", None) == "model_not_found"
            or _mentions(_server_message(err), self.name)
            or bool(available and self.name not in available)
        )
        if not about_model:
            return (
                f"{self.url} has no chat completions endpoint (HTTP 404): check model.base_url "
                "(OpenAI-compatible servers usually end in /v1)"
            )
        if not available:
            return f"model {self.name} is not available at {self.url}: check model.name"
        shown = ", ".join(available[:MAX_LISTED_MODELS])
        more = len(available) - MAX_LISTED_MODELS
        if more > 0:
            shown += f" and {more} more"
        return f"model {self.name} is not available at {self.url}: the server offers {shown}"

    def _list_models(self) -> list[str] | None:
        import openai

        try:
            return sorted(model.id for model in self._get_client().models.list())
        except (openai.OpenAIError, TypeError, ValueError):
            return None


def _usage(raw: Any) -> Usage | None:
    prompt = getattr(raw, "prompt_tokens", None)
    completion = getattr(raw, "completion_tokens", None)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt, completion)


def _server_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    return str(getattr(err, "message", "") or err)


def _mentions(message: str, name: str) -> bool:
    return any(f"{quote}{name}{quote}" in message for quote in ("`", "'", '"'))


def _is_connect_error(err: Exception) -> bool:
    """Refused, DNS or TLS failures surface as the HTTP library's ConnectError."""
    cause = err.__cause__
    return cause is not None and any(cls.__name__ == "ConnectError" for cls in type(cause).__mro__)


def _cause(err: Exception) -> str:
    cause = err.__cause__
    return str(cause) if cause is not None and str(cause) else str(err)
