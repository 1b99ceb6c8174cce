"""ModelChoice: `model.name` parsed once into what it chooses, and `auto` decided by the API-key variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorun.config.model_choice import ModelChoice, ModelKind
from autorun.config.schema import Config, ModelConfig
from autorun.events import SessionStart
from autorun.models.builtin import BuiltinAnalyst
from autorun.models.replay import ReplayModel
from autorun.transcripts.resume import Recorded


@pytest.mark.parametrize(
    ("name", "choice"),
    [
        ("auto", ModelChoice(ModelKind.AUTO)),
        ("builtin", ModelChoice(ModelKind.BUILTIN)),
        ("replay:/rec/t.jsonl", ModelChoice(ModelKind.REPLAY, "/rec/t.jsonl")),
        ("replay:~/t.jsonl", ModelChoice(ModelKind.REPLAY, "~/t.jsonl")),
        ("gpt-4o-mini", ModelChoice(ModelKind.LLM, "gpt-4o-mini")),
        ("Builtin", ModelChoice(ModelKind.LLM, "Builtin")),  # spellings are exact: any other name is an LLM's
        ("my-replay:1", ModelChoice(ModelKind.LLM, "my-replay:1")),
    ],
)
def test_every_spelling_of_model_name_parses_to_its_choice(name: str, choice: ModelChoice) -> None:
    assert ModelChoice.parse(name) == choice
    assert ModelConfig(name=name).choice == choice


def test_a_replay_names_its_transcript_with_home_expanded() -> None:
    assert ModelChoice.parse("replay:~/t.jsonl").transcript == Path.home() / "t.jsonl"
    with pytest.raises(ValueError, match="replays no transcript"):
        _ = ModelChoice.parse("builtin").transcript


def test_auto_is_the_auto_model_when_the_key_variable_is_set_else_the_builtin() -> None:
    model = ModelConfig(name="auto", auto_model="gpt-x", api_key_env="MY_KEY")
    assert model.resolved_choice({"MY_KEY": "k"}) == ModelChoice(ModelKind.LLM, "gpt-x")
    assert model.resolved_choice({"OPENAI_API_KEY": "k"}) == ModelChoice(ModelKind.BUILTIN)
    assert model.resolved_choice({"MY_KEY": ""}) == ModelChoice(ModelKind.BUILTIN)
    assert model.llm_name == "gpt-x"
    for name in ("builtin", "replay:/t.jsonl", "gpt-4o"):
        chosen = ModelConfig(name=name, api_key_env="MY_KEY")
        assert chosen.resolved_choice({"MY_KEY": "k"}) == chosen.resolved_choice({}) == chosen.choice
    assert ModelConfig(name="gpt-4o").llm_name == "gpt-4o"
    assert Config().model.choice == ModelChoice(ModelKind.AUTO), "the schema's default is auto"


def test_the_names_models_record_parse_back_to_their_choice(tmp_path: Path) -> None:
    """A transcript records the model's name; resume and the cluster read it back with the same parser."""
    transcript = tmp_path / "t.jsonl"
    start = SessionStart("x", "gpt-4o", "local", "/w", None, None).to_dict()
    transcript.write_text(json.dumps(start) + "\n", encoding="utf-8")
    assert ModelChoice.parse(ReplayModel(transcript).name) == ModelChoice(ModelKind.REPLAY, str(transcript))
    assert ModelChoice.parse(BuiltinAnalyst.name) == ModelChoice(ModelKind.BUILTIN)


def test_a_resume_reuses_the_recorded_model_unless_it_was_a_replay() -> None:
    assert Recorded(model="gpt-4o").settings()["model.name"] == "gpt-4o"
    assert Recorded(model="builtin").settings()["model.name"] == "builtin"
    assert "model.name" not in Recorded(model="replay:/rec/t.jsonl").settings()
    assert "model.name" not in Recorded(model="").settings()
