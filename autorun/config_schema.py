"""The validated shape of autorun's configuration (model / executor / session)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    name: str = "auto"
    auto_model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)


class ExecutorConfig(_Section):
    type: Literal["local", "docker", "none"] = "local"
    image: str = "python:3.11-slim"
    timeout: PositiveFloat = 60.0
    work_dir: str = "coding_workspace"
    last_n_messages: PositiveInt = 3
    python: str | None = None
    env_passthrough: list[str] = Field(default_factory=list)
    output_limit: PositiveInt = 32_000


class SessionConfig(_Section):
    max_consecutive_auto_reply: PositiveInt = 10
    human_input_mode: Literal["NEVER", "ALWAYS", "TERMINATE"] = "NEVER"
    termination_keyword: str = Field(default="TERMINATE", min_length=1)


class Config(_Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    session: SessionConfig = Field(default_factory=SessionConfig)
