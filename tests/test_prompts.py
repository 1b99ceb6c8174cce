"""The analyst's system message and the opening user message."""

from __future__ import annotations

from autorun.prompts import DEFAULT_QUESTION, analyst_system_message, initial_user_message

DESCRIPTION = "Data file: /workspace/input/sales.csv\nFormat: CSV; 10 rows, 5 columns"


def test_system_message_has_data_description_and_rules() -> None:
    text = analyst_system_message(DESCRIPTION)
    assert DESCRIPTION in text
    assert "/workspace/input/sales.csv" in text
    for rule in ("```python", "```sh", "pandas", "Print", "read-only", "one code block per step"):
        assert rule.lower() in text.lower()
    assert "TERMINATE on its own line" in text


def test_custom_keyword_replaces_terminate() -> None:
    text = analyst_system_message(DESCRIPTION, keyword="DONE!")
    assert "DONE! on its own line" in text
    assert "TERMINATE" not in text


def test_without_data_file_there_is_no_data_section() -> None:
    text = analyst_system_message("")
    assert "read-only" not in text
    assert "Write any files to the current directory." in text
    assert "\n\n\n" not in text


def test_override_with_placeholders() -> None:
    text = analyst_system_message(DESCRIPTION, keyword="STOP", override="Analyse {data}. Say {keyword}.")
    assert text == f"Analyse {DESCRIPTION}. Say STOP."


def test_override_without_placeholder_still_gets_the_data_description() -> None:
    text = analyst_system_message(DESCRIPTION, override="You are a terse analyst.")
    assert text.startswith("You are a terse analyst.")
    assert text.endswith(DESCRIPTION)


def test_initial_user_message() -> None:
    assert initial_user_message(None) == DEFAULT_QUESTION
    assert initial_user_message("  ") == DEFAULT_QUESTION
    assert initial_user_message(" Which region sells most? ") == "Which region sells most?"
    assert initial_user_message("Which region?", "/data/sales.csv") == "Which region?"
    assert initial_user_message(None, "/data/sales.csv") == (
        "Please analyse the data file /data/sales.csv and produce a summary report."
    )
