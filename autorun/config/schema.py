"""The validated shape of autorun's configuration (model / executor / session).

Adding a key means one field here (with a default and a description) plus one
commented line in autorun/config/default.yaml; loading.py derives everything else
(env var name, env parsing, error messages, `config show`) from the field.
Validators raise ValueError with a message that starts with "must", so that
loading.py can print `<file>: <section.key> must ..., got <value>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from autorun.config.model_choice import ModelChoice, ModelKind
from autorun.units import ByteSize

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML `yes`/`true` must not silently become the number 1."""
        field = cls.model_fields[info.field_name or ""]
        if isinstance(value, bool) and field.annotation in (int, float):
            raise PydanticCustomError("bool_not_number", "a boolean is not a number")
        return value


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("must be the name of an environment variable (letters, digits and _)")
    return name


def _check_env_names(names: list[str]) -> list[str]:
    if not all(_ENV_NAME.fullmatch(name) for name in names):
        raise ValueError("must be a list of environment variable names (letters, digits and _)")
    return names


def _size(value: Any) -> ByteSize:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a size such as 512m or 1g, got {value!r}")
    try:
        return ByteSize.parse(value)
    except ValueError:
        raise ValueError(f"must be a size such as 512m or 1g, got {value!r}") from None


# Bytes, validated once when the config is read; `config show` and transcripts print the user's spelling.
Size = Annotated[ByteSize, PlainValidator(_size), PlainSerializer(str, return_type=str)]


class ModelPrice(_Section):
    input: float = Field(ge=0, allow_inf_nan=False, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, allow_inf_nan=False, description="USD per 1M completion tokens")


class ModelConfig(_Section):
    name: str = Field(
        default="auto",
        min_length=1,
        description="auto | builtin | any model name of the endpoint | replay:PATH",
    )
    auto_model: str = Field(
        default="gpt-4o-mini",
        min_length=1,
        description="the model `auto` uses when the API-key variable is set",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint URL; null = OpenAI")
    api_key_env: str = Field(
        default="OPENAI_API_KEY",
        description="name of the environment variable holding the API key (never the key itself)",
    )
    temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, allow_inf_nan=False, description="sampling temperature, 0 to 2"
    )
    max_tokens: int | None = Field(default=None, gt=0, description="most tokens per reply; null = the server's limit")
    request_timeout: float = Field(
        default=60.0, gt=0, allow_inf_nan=False, description="seconds to wait for the reply or its next chunk"
    )
    max_retries: int = Field(
        default=4, ge=0, description="retries on 429, 5xx, timeouts and broken streams (exponential backoff)"
    )
    extra_headers: dict[str, str] = Field(
        default_factory=dict, description="extra HTTP headers sent with every request (not for keys)"
    )
    cache: bool = Field(default=False, description="keep replies in a local SQLite cache keyed by the request")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="USD per 1M tokens by model, overriding the built-in price table"
    )
    system_message: str | None = Field(
        default=None, description="the analyst's system message; {data} and {keyword} are filled in"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL or null")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _api_key_env_name(cls, value: str) -> str:
        return _check_env_name(value)

    @property
    def choice(self) -> ModelChoice:
        """What `name` chooses, `auto` undecided."""
        return ModelChoice.parse(self.name)

    def resolved_choice(self, env: Mapping[str, str]) -> ModelChoice:
        """The model a session uses: `auto` is the LLM auto_model when the API-key variable is set, else builtin."""
        choice = self.choice
        if choice.kind is not ModelKind.AUTO:
            return choice
        return (
            ModelChoice(ModelKind.LLM, self.auto_model) if env.get(self.api_key_env) else ModelChoice(ModelKind.BUILTIN)
        )

    @property
    def llm_name(self) -> str:
        """The name the endpoint is asked for when an LLM answers (`auto`: auto_model)."""
        return self.auto_model if self.choice.kind is ModelKind.AUTO else self.name


class ExecutorConfig(_Section):
    type: Literal["auto", "sandbox", "local", "docker", "none"] = Field(
        default="auto",
        description="auto (sandbox where bwrap works, else local) | sandbox (bwrap) | local subprocess "
        "| docker container | none (show code, never run it)",
    )
    image: str = Field(
        default="autorun-runtime:1", min_length=1, description="Docker image for type docker (`autorun image build`)"
    )
    pull: bool = Field(default=True, description="docker: pull the image when it is missing (--no-pull: never)")
    network: str = Field(
        default="none",
        min_length=1,
        description="sandbox: none | host; docker: the container's network; none = no network (only lo)",
    )
    cpus: float = Field(default=1.0, gt=0, allow_inf_nan=False, description="docker: CPUs the container may use")
    pids_limit: int = Field(
        default=256, gt=0, description="docker: most processes in the container (fork bombs stop here)"
    )
    read_only_root: bool = Field(default=True, description="docker: read-only root filesystem, writable tmpfs /tmp")
    tmpfs_size: Size = Field(default=ByteSize.parse("256m"), description="docker: size of the writable /tmp")
    user: str | None = Field(
        default=None, description="docker: uid:gid code runs as; null = the host user, so files in work_dir are yours"
    )
    setup: list[str] = Field(
        default_factory=list,
        description="docker: pip packages installed at container start, before the network is cut",
    )
    timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False, description="seconds one code block may run")
    work_dir: str = Field(
        default="coding_workspace", min_length=1, description="directory where code runs and files land"
    )
    last_n_messages: int = Field(default=3, gt=0, description="look this many messages back for code blocks to run")
    python: str | None = Field(
        default=None, min_length=1, description="Python interpreter for local runs; null = autorun's own"
    )
    env_passthrough: list[str] = Field(
        default_factory=list, description="extra environment variable names the code may see"
    )
    output_limit: int = Field(default=32_000, gt=0, description="characters of block output sent back to the model")
    memory: Size = Field(
        default=ByteSize.parse("1g"),
        description="resident memory limit, e.g. 512m or 2g: the container's (docker), the block's or "
        "kernel's process tree (local, sandbox: a cgroup, else a watchdog)",
    )
    disk: Size | None = Field(
        default=ByteSize.parse("2g"),
        description="how much the work dir may grow in one session, e.g. 2g; null = no limit",
    )
    min_free_disk: Size | None = Field(
        default=ByteSize.parse("1g"),
        description="free space that must stay on the work dir's disk, e.g. 1g; null = no floor",
    )
    max_processes: int | None = Field(
        default=256, gt=0, description="most processes a block may add (local; not enforced for root); null = no limit"
    )
    max_file_size: Size | None = Field(
        default=ByteSize.parse("1g"), description="largest file a block may write, in bytes or e.g. 1g; null = no limit"
    )
    max_open_files: int | None = Field(
        default=1024, gt=0, description="most files a block process may hold open; null = no limit"
    )
    sandbox: Literal["none", "bwrap"] = Field(
        default="none", description="old spelling: bwrap means type sandbox (kept as an alias)"
    )
    stateful: bool = Field(
        default=True,
        description="python blocks share one kernel, so variables persist between blocks; false = a process per block",
    )

    @field_validator("user")
    @classmethod
    def _uid_gid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+(:\d+)?", value):
            raise ValueError("must be uid or uid:gid in numbers, or null for the host user")
        return value

    @field_validator("env_passthrough")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        return _check_env_names(value)


# What each command uses when human_input_mode is set nowhere: chat asks before each block, analyse does not.
HumanInputMode = Literal["NEVER", "ALWAYS", "TERMINATE"]
HUMAN_INPUT_DEFAULTS: dict[str, HumanInputMode] = {"chat": "ALWAYS", "analyse": "NEVER"}


class SessionConfig(_Section):
    max_consecutive_auto_reply: int = Field(default=10, gt=0, description="stop after this many executor replies")
    human_input_mode: HumanInputMode = Field(
        default="NEVER",
        description="NEVER | ALWAYS | TERMINATE (when to ask the user); unset: chat ALWAYS, analyse NEVER",
    )
    termination_keyword: str = Field(
        default="TERMINATE", min_length=1, description="the assistant ends the session by saying this"
    )


_DASK_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(?::\d+)?")


class ClusterConfig(_Section):
    address: str | None = Field(
        default=None,
        description="Dask scheduler for batches and eval, e.g. tcp://scheduler:8786; null = run on this machine",
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, allow_inf_nan=False, description="seconds to wait for the scheduler to answer"
    )
    env_passthrough: list[str] = Field(
        default_factory=list,
        description="environment variables sent to each session on a worker, e.g. [OPENAI_API_KEY]; "
        "nothing else of the environment is sent",
    )
    max_file_size: Size = Field(
        default=ByteSize.parse("100m"),
        description="largest data or context file sent to a worker as bytes; larger ones need cluster.shared_dirs",
    )
    shared_dirs: list[str] = Field(
        default_factory=list,
        description="folders every worker reads at the same path: files in them are passed by path, never sent",
    )
    max_result_size: Size = Field(
        default=ByteSize.parse("512m"),
        description="most bytes of work-dir files one session brings back from its worker",
    )

    @field_validator("address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        if value is not None and not _DASK_ADDRESS.fullmatch(value.strip()):
            raise ValueError("must be a Dask scheduler address such as tcp://scheduler:8786, or null")
        return value.strip() if value is not None else None

    @field_validator("env_passthrough")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        return _check_env_names(value)


class Config(_Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    session: SessionConfig = Field(default_factory=SessionConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
