"""The analyst's system message and the opening user message."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_QUESTION = "Please analyse the data file and produce a summary report."

_ROLE = (
    "You are a careful data analyst. You solve the task by writing code that the executor runs "
    "for you; it replies with the exit code and the output of each block."
)

_RULES = """\
Rules:
- Send one code block per step, fenced as ```python (pandas is available) or ```sh, and wait for its result.
- duckdb is importable too: for a file that does not fit in memory, query its path with DuckDB SQL \
(duckdb.sql("SELECT ... FROM 'path'").df()) instead of loading it with pd.read_csv.
- Print every result you need: only what the code prints comes back to you.
- {state}
- {read_only}
- If a block fails, read the error, fix the code and send the whole corrected block again.
- Never ask the user to run, edit or paste anything; do not use input().
- When the analysis is complete, reply with a short report of the findings with the actual figures, \
then {keyword} on its own line, in a message without code blocks."""

_FRESH = "Each block runs in a fresh process: re-load the data in every block; nothing is kept between blocks."
_STATEFUL = (
    "Python blocks run in one persistent Python session, like notebook cells: variables, imports and "
    "loaded data stay available to later blocks, so load the data once and reuse it (sh blocks run as "
    "separate processes). Figures left open are saved as PNG files."
)
_READ_ONLY = "The data file is read-only: never modify it; write any new files to the current directory."
_NO_DATA = "Write any files to the current directory."


def analyst_system_message(
    data_description: str | None,
    *,
    keyword: str = "TERMINATE",
    override: str | None = None,
    stateful: bool = False,
) -> str:
    """The system message for an LLM analyst.

    ``data_description`` comes from ``autorun.datafile.describe_for_prompt`` (path as the
    executor sees it, format, shape, schema, preview); empty or None for no data file.
    ``override`` (config ``model.system_message``) replaces the built-in text; in it,
    ``{data}`` and ``{keyword}`` are replaced, and when ``{data}`` is absent the data
    description is appended, so the model always learns where the file is. ``stateful``
    says python blocks share one kernel (the executor's ``stateful``).
    """
    data = (data_description or "").strip()
    if override is not None:
        text = override.replace("{keyword}", keyword)
        if "{data}" in text:
            return text.replace("{data}", data)
        return f"{text.rstrip()}\n\n{data}" if data else text
    state = _STATEFUL if stateful else _FRESH
    rules = _RULES.format(read_only=_READ_ONLY if data else _NO_DATA, keyword=keyword, state=state)
    parts = [_ROLE]
    if data:
        parts.append(data)
    parts.append(rules)
    return "\n\n".join(parts)


def context_files_description(files: Sequence[tuple[str, int]]) -> str:
    """The context files (path as code sees it, size in bytes) for the system message."""
    from autorun.units import human_size

    lines = [f"- {path} ({human_size(size)})" for path, size in files]
    return "Further files for this task (read-only; read the documentation among them first):\n" + "\n".join(lines)


def initial_user_message(question: str | None, data_path: str | None = None) -> str:
    """The opening request: the user's question, or a request for a summary report of the file."""
    question = (question or "").strip()
    if question:
        return question
    if data_path:
        return f"Please analyse the data file {data_path} and produce a summary report."
    return DEFAULT_QUESTION


# What the model is told of the person's decisions at "Run it?" (the person sees a status line instead).
NOT_RUN_NOTE = "The user chose not to run the code in your last message."
EDITED_NOTE = "The user edited your {language} block {index} before running it; this is the code as the user edited it:"


def with_not_run_note(text: str) -> str:
    """The person's next words, after the note that the last code was not run."""
    return f"{NOT_RUN_NOTE}\n\n{text}" if text else NOT_RUN_NOTE


def edited_note(language: str, index: int, code: str) -> str:
    fence = "````" if "```" in code else "```"
    body = code if code.endswith("\n") else code + "\n"
    return f"{EDITED_NOTE.format(language=language, index=index)}\n{fence}{language}\n{body}{fence}\n"


def typed_part(message: str) -> str:
    """What the person typed of a user message (the not-run note taken off)."""
    return message.removeprefix(NOT_RUN_NOTE).removeprefix("\n\n") if message.startswith(NOT_RUN_NOTE) else message
