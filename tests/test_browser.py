"""The public pages and the dashboard in a real browser (issue 6/7; marked ``browser``).

The demo server itself (``python -m ledger.demo --serve``, what ``make demo``
runs) builds a 2023 season in a temporary folder and serves it with uvicorn
on a free loopback port; Playwright drives Debian's ``chromium`` (installed by
``make browser-deps``; a browser is never downloaded) with JavaScript
**disabled**, since every page must work without it.  Screenshots (full page)
go to ``test-artifacts/screenshots/``; with ``SPOTCHECK_UPDATE_SCREENSHOTS=1``
(``make screenshots``) the home page and the dashboard are also copied to
``docs/img/public.png`` and ``docs/img/dashboard.png`` for the README, so an
ordinary test run never changes tracked files.  Without chromium the tests
fail with a message saying how to install it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from api.pages.auth import SIGN_COMMAND_CRYPTOGRAPHY
from api.pages.results import COLUMNS
from ledger.season import VOID_REASON
from tests.api_helpers import free_port
from tests.test_pages import SEED_ROWS, register_rows_of

pytestmark = pytest.mark.browser

ROOT_DIR = Path(__file__).resolve().parent.parent
SHOTS = ROOT_DIR / "test-artifacts" / "screenshots"
DOCS_IMG = ROOT_DIR / "docs" / "img"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Demo:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def logs(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run `make browser-deps` (Debian's chromium and "
                    "fonts-noto-cjk through apt-get); the browser tests never download a "
                    "browser", pytrace=False)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("browser")
    home = folder / "var"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTCHECK_")}
    env.update({"SPOTCHECK_HOME": str(home), "SPOTCHECK_TICK_SECONDS": "0",
                "PYTHONUNBUFFERED": "1"})
    log_file = folder / "demo.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.demo", "--serve", "--host", "127.0.0.1",
             "--port", str(port), "--enterprises", "300"],
            cwd=ROOT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    demo = Demo(f"http://127.0.0.1:{port}", home, process, log_file)
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the demo exited with {process.returncode}:\n{demo.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(demo.url + "/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not become ready:\n{demo.logs()}")
            time.sleep(0.1)
        yield demo
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT,
                                  locale="zh-CN", accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def shoot(page: Page, name: str, *, docs: str | None = None) -> Path:
    """A full-page screenshot under test-artifacts/screenshots/, optionally copied to docs/img/."""
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if docs is not None and os.environ.get("SPOTCHECK_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / docs)
    return path


def log_entries(base: str) -> list[bytes]:
    """Every entry of the served log, over the A10 read API."""
    with httpx.Client(base_url=base, timeout=30) as client:
        size = int(client.get("/v1/log/checkpoint").text.split("\n")[1])
        raw: list[bytes] = []
        while len(raw) < size:
            body = client.get("/v1/log/entries", params={"start": len(raw), "end": size}).content
            raw.extend(body.split(b"\n")[:-1])
    return raw


def test_plan_table_draws_and_cases_in_the_browser(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    rows = page.locator("table.plan tbody tr")
    assert rows.count() == 3
    for n, plan_no in enumerate(("联202301", "联202302", "联202303")):
        cells = [" ".join(t.split()) for t in rows.nth(n).locator("th, td").all_inner_texts()]
        task_no, kind, initiator, joint, window = SEED_ROWS[plan_no]
        assert cells[0] == plan_no
        assert (cells[2], cells[4], cells[8], cells[9], cells[10]) == (
            task_no, kind, initiator, joint, window)
    assert "县统计局、县市场监管局" in rows.nth(0).inner_text()
    assert "县商务局、县气象局" in rows.nth(1).inner_text()
    shoot(page, "home", docs="public.png")

    # follow the 危化 task: its voided draw and the re-draw
    rows.nth(1).locator("td a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/tasks/" + quote("联202302-002", safe=""))
    voided = page.locator("section.draw.voided")
    assert voided.count() == 1
    assert VOID_REASON in voided.inner_text()
    assert "县纪委监委派驻纪检监察组" in voided.inner_text()
    redraw = page.locator("section.draw:not(.voided)")
    assert "如何验证本次抽签" in redraw.inner_text()
    assert "spotcheck-verify draw spotcheck-bundle.tar.gz" in redraw.inner_text()
    shoot(page, "task")

    # from the draw to its cases
    links = redraw.locator("table.selected a")
    count = links.count()
    assert count >= 3
    hrefs = [links.nth(i).get_attribute("href") for i in range(count)]
    assert all(h and h.startswith("/cases/") for h in hrefs)
    enterprise = redraw.locator("table.selected tbody tr").first.locator("td").nth(1).inner_text()
    links.first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(enterprise)
    records = page.locator("table.records tbody tr")
    assert records.count() >= 5
    assert "生成检查案件" in records.first.inner_text()
    proof = records.first.locator("a", has_text="包含证明").get_attribute("href")
    assert proof is not None and proof.startswith("/v1/log/proof/inclusion?index=")
    assert httpx.get(demo.url + proof, timeout=10).status_code == 200
    shoot(page, "case")

    page.goto(demo.url + "/log")
    vkey = httpx.get(demo.url + "/v1/log/vkey", timeout=10).text
    assert vkey in page.inner_text("main")
    assert f"spotcheck-verify online {demo.url} --vkey {vkey}" in page.inner_text("main")
    shoot(page, "log")


def test_results_search_and_csv_download_equal_the_register(page: Page, demo: Demo,
                                                            tmp_path: Path) -> None:
    expected = register_rows_of(log_entries(demo.url))
    page.goto(demo.url + "/results")
    groups = {(r[1], r[2], r[5]) for r in expected}  # one row group per task and enterprise
    assert page.locator("table.results tbody.unit").count() == len(groups)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV（Excel 可直接打开）").click()
    saved = tmp_path / "results.csv"
    download_info.value.save_as(str(saved))
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read[0] == list(COLUMNS)
    assert read[1:] == expected
    # the search box (a GET form, filtered on the server)
    firm = expected[0][4]
    page.fill("#q", firm)
    page.get_by_role("button", name="搜索").click()
    page.wait_for_load_state()
    assert "q=" in page.url
    units = page.locator("table.results tbody.unit")
    assert units.count() == len({(r[1], r[2], r[5]) for r in expected
                                 if firm in "\t".join(r[1:])})
    assert firm in units.first.inner_text()
    shoot(page, "results")


def test_dashboard_login_with_a_discipline_key(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/discipline")
    assert page.url == demo.url + "/discipline/login"
    challenge = page.locator("pre.challenge").inner_text().strip()
    assert len(challenge) == 32
    shoot(page, "login")
    # sign on "the inspector's device" with the documented one-liner (cryptography only)
    argv = shlex.split(SIGN_COMMAND_CRYPTOGRAPHY.format(
        keyfile=demo.home / "keys" / "discipline.key", challenge=challenge))
    shown = " ".join(page.locator("main pre").nth(2).inner_text().split())
    assert shown.startswith(" ".join(SIGN_COMMAND_CRYPTOGRAPHY.split(" {keyfile}")[0].split()))
    out = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    key_id, signature = out
    page.fill("#key", key_id)
    page.fill("#signature", signature)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.url == demo.url + "/discipline"
    assert "合规报告" in page.locator("h1").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "spotcheck_discipline")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/discipline"
    # the plan with the voided draw
    page.get_by_role("link", name="联202302").click()
    page.wait_for_load_state()
    assert "plan=" in page.url
    main = page.inner_text("main")
    assert "抽签作废" in main and VOID_REASON in main
    assert page.locator("svg.chart").count() == 5
    assert page.locator("td.entries a").count() >= 3
    href = page.locator("td.entries a").first.get_attribute("href")
    assert href is not None and href.startswith("/v1/log/entries?start=")
    shoot(page, "dashboard", docs="dashboard.png")
    # the session ends with logout
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    page.goto(demo.url + "/discipline")
    assert page.url == demo.url + "/discipline/login"
