"""What counts as a secret: names that hold one, values that look like one, and the ones autorun knows.

One rule serves the code's environment (secret-named variables are scrubbed and
their values redacted), the config (a secret-named key or a key-looking value is
refused; `config show` masks them) and redaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "BEARER")
# Words that contain a marker but hold no secret: a keyword, a count of tokens.
_HARMLESS_WORDS = re.compile(r"KEYWORDS?|TOKENS")
# KEY names a secret in a setting only as an API, access, private or SSH key, or alone.
_KEY_OF_A_SECRET = re.compile(r"(?:^|[^A-Z])(?:API|ACCESS|SECRET|PRIVATE|SSH|OPENAI)[_-]?KEY|^KEY$")
# A name ending in _env names the variable that holds a secret (model.api_key_env), not the secret.
_NAMES_A_VARIABLE = "_ENV"

SECRET_VALUE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{16,}|gh[opsu]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}|xox[abprs]-[\w-]{10,}|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}"
    r"|AIza[\w-]{30,}|glpat-[\w-]{20,})"
)


def is_secret_name(name: str) -> bool:
    """OPENAI_API_KEY, github_token, Proxy-Authorization, SSH_KEYFILE: yes; max_tokens, api_key_env: no."""
    upper = name.upper()
    if upper.endswith(_NAMES_A_VARIABLE):
        return False
    upper = _HARMLESS_WORDS.sub("", upper)
    return any(marker in upper for marker in SECRET_MARKERS)


def is_secret_setting(name: str) -> bool:
    """A config key that names a secret: api_key, openai_api_key, github_token; not bogus_key or keyfile.

    Stricter than is_secret_name (which scrubs the environment, where erring is cheap): a key
    name with KEY alone is just an unknown key, and the user deserves that message, not an accusation.
    """
    if not is_secret_name(name):
        return False
    upper = _HARMLESS_WORDS.sub("", name.upper())
    if any(marker in upper for marker in SECRET_MARKERS if marker != "KEY"):
        return True
    return _KEY_OF_A_SECRET.search(upper) is not None


def looks_like_secret_value(text: str) -> bool:
    """Whether ``text`` contains something shaped like a provider's API key or token."""
    return SECRET_VALUE.search(text) is not None


def known_secrets(env: Mapping[str, str], api_key_env: str | None = None) -> list[str]:
    """The API key's value and the values of every secret-named variable in ``env``."""
    values = [value for name, value in env.items() if is_secret_name(name)]
    if api_key_env and env.get(api_key_env):
        values.append(env[api_key_env])
    return values
