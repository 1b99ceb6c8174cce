#!/bin/sh
# Install bubblewrap (bwrap), which autorun's default executor (`auto` -> sandbox) needs,
# with the system's package manager; does nothing when bwrap is already there.
# Without it autorun still works: `auto` falls back to local subprocesses with a warning.
set -eu
if command -v bwrap >/dev/null 2>&1; then
    echo "bubblewrap is installed: $(command -v bwrap)"
    exit 0
fi
if command -v brew >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; then
    echo "bubblewrap is Linux-only; on macOS autorun runs code locally or in Docker (--docker IMAGE)" >&2
    exit 1
fi
sh "$(dirname "$0")/install-system-package.sh" bubblewrap || {
    echo "install bubblewrap yourself (https://github.com/containers/bubblewrap)" >&2
    exit 1
}
command -v bwrap
