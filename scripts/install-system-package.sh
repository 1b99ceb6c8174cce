#!/bin/sh
# Install one system package with whatever package manager the machine has (as root, or
# through sudo). Usage: install-system-package.sh PACKAGE [APK_NAME]. Exits 1 with a line
# on stderr when there is no package manager it knows.
set -eu
PACKAGE="$1"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$PACKAGE"
elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y -q "$PACKAGE"
elif command -v apk >/dev/null 2>&1; then
    $SUDO apk add -q "${2:-$PACKAGE}"
elif command -v pacman >/dev/null 2>&1; then
    $SUDO pacman -S --noconfirm --needed "$PACKAGE"
else
    echo "no known package manager: install $PACKAGE yourself" >&2
    exit 1
fi
