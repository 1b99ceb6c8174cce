#!/bin/sh
# Install bubblewrap (bwrap), which autorun's default executor (`auto` -> sandbox) needs,
# with the system's package manager; does nothing when bwrap is already there.
# Without it autorun still works: `auto` falls back to local subprocesses with a warning.
set -eu
if command -v bwrap >/dev/null 2>&1; then
    echo "bubblewrap is installed: $(command -v bwrap)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap
elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y -q bubblewrap
elif command -v apk >/dev/null 2>&1; then
    $SUDO apk add -q bubblewrap
elif command -v pacman >/dev/null 2>&1; then
    $SUDO pacman -S --noconfirm --needed bubblewrap
elif command -v brew >/dev/null 2>&1; then
    echo "bubblewrap is Linux-only; on macOS autorun runs code locally or in Docker (--docker IMAGE)" >&2
    exit 1
else
    echo "no known package manager: install bubblewrap yourself (https://github.com/containers/bubblewrap)" >&2
    exit 1
fi
command -v bwrap
