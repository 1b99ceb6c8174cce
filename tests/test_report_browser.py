"""The HTML report in a real browser (headless Chromium, Debian's package): it renders, it holds its
images, the findings and their charts are above the fold, and no script of the session's runs.

Outside CI these tests skip when Chromium is missing (scripts/install-chromium.sh installs it);
with CI set that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, autorun_cmd
from tests.fake_openai_server import FakeOpenAIServer

VIEWPORT = (1280, 900)
PROBE = """<script>
window.addEventListener("load", () => {
  const findings = document.querySelector(".findings");
  const images = [...findings.querySelectorAll("img")].map((img) => ({
    bottom: img.getBoundingClientRect().bottom, width: img.naturalWidth, complete: img.complete}));
  const bullets = [...findings.querySelectorAll(".finding")].map((row) => row.getBoundingClientRect().top);
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({images, bullets, height: window.innerHeight});
  document.body.appendChild(probe);
});
</script>"""
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
ATTACK = (
    "<table><tr><td>cell-one</td></tr></table><script>document.title='PWNED'</script>"
    "<img src=x onerror=\"document.title='PWNED'\"><style>body{display:none}</style>"
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "the browser test needs Chromium: run scripts/install-chromium.sh"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so this is a failure. {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def browse(page: Path, tmp_path: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Chromium, headless and offline-minded, on ``page``; ``action`` is --screenshot=... or --dump-dom."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
        *action,
        page.as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    out = root / "report.html"
    args = [
        "analyse",
        str(SAMPLE),
        "--model",
        "builtin",
        "--local",
        "--work-dir",
        str(root / "w"),
        "--report",
        str(out),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORUN_") and not k.endswith("_API_KEY")}
    done = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    return out


def test_the_sample_report_shows_the_answer_and_its_charts_above_the_fold(sample_report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    browse(sample_report, tmp_path, f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == VIEWPORT
        data = image.convert("RGB").tobytes()
        pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
        coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 5_000, "the charts (coloured marks) are drawn in the first screen"

    probed = tmp_path / "probed.html"
    probed.write_text(CSP.sub("", sample_report.read_text()).replace("</body>", PROBE + "</body>"))
    dom = browse(probed, tmp_path, "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, "the layout probe ran"
    layout = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(layout["images"]) == 3, "the sample's three charts sit in the findings"
    assert all(img["complete"] and img["width"] > 0 for img in layout["images"]), "every image decoded"
    assert max(img["bottom"] for img in layout["images"]) <= layout["height"], "the charts are above the fold"
    assert layout["bullets"] and layout["bullets"][0] < layout["height"] / 4, "the answer opens the page"
    for figure in ("73,300", "31,800", "36,200"):
        assert figure in dom


def test_html_the_code_displayed_or_printed_stays_inert(tmp_path: Path, clean_env: dict[str, str]) -> None:
    import html5lib

    block = (
        "from IPython.display import display\n"
        f"display({{'text/plain': 'TABLE-TEXT', 'text/html': {ATTACK!r}}}, raw=True)\n"
        "print(\"<script>document.title='PWNED'</script>\")\n"
    )
    server = FakeOpenAIServer(
        [{"reply": f"Showing a table.\n\n```python\n{block}```\n"}, {"reply": "- Done: cell-one.\n\nTERMINATE"}]
    ).start()
    try:
        out = tmp_path / "attack.html"
        args = ["analyse", str(SAMPLE), "--model", "fake", "--base-url", server.base_url, "--local"]
        args += ["--work-dir", str(tmp_path / "w"), "--report", str(out)]
        done = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    page = out.read_text()
    assert '<table class="data"><tbody><tr><td>cell-one</td></tr></tbody></table>' in page, "the table survives"
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    without_csp = tmp_path / "no-csp.html"
    without_csp.write_text(CSP.sub("", page))
    for shown in (out, without_csp):  # the sanitising alone holds, not only the page's policy
        dom = html5lib.parse(browse(shown, tmp_path, "--dump-dom").stdout, namespaceHTMLElements=False)
        assert dom.find(".//title").text == title, "no script ran"
        assert dom.findall(".//script") == [] and len(dom.findall(".//style")) == 1
        assert [e.tag for e in dom.iter() if any(name.startswith("on") for name in e.attrib)] == []
        assert [img.get("src")[:5] for img in dom.iter("img")] == [], "the planted <img> is gone, no chart here"
