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
sh "$(dirname "$0")/install-system-package.sh" chromium
command -v chromium || command -v chromium-browser
