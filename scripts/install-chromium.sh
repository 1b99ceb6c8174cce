#!/bin/sh
# Install Chromium from the system's packages, for the test that renders a report in a real
# headless browser (tests/test_report_browser.py); does nothing when it is already there.
# autorun itself never needs a browser.
set -eu
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "chromium is installed: $(command -v "$name")"
        exit 0
    fi
done
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y -q chromium
elif command -v apk >/dev/null 2>&1; then
    $SUDO apk add -q chromium
else
    echo "no known package manager: install Chromium yourself to run the report's browser test" >&2
    exit 1
fi
command -v chromium || command -v chromium-browser
