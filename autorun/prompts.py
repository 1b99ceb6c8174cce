"""The analyst's system message and the opening user message."""

from __future__ import annotations

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


def initial_user_message(question: str | None, data_path: str | None = None) -> str:
    """The opening request: the user's question, or a request for a summary report of the file."""
    question = (question or "").strip()
    if question:
        return question
    if data_path:
        return f"Please analyse the data file {data_path} and produce a summary report."
    return DEFAULT_QUESTION
