"""The dashboard in a real browser (Debian's chromium through Playwright) against a real ``deploywatch serve`` on the
demo: every page renders with no console error and no failed request, shows what the CLI's JSON says, plots draw,
the search box and the copy button work, the overview updates itself, and a silence added in the UI is in
``silence list``. Screenshots go to ``tests/artifacts/screenshots/`` (git-ignored; CI keeps them).

Marked ``browser``: ``pytest -m "not browser"`` skips them locally; without chromium they skip, except in CI
(``CI=true``), where they fail."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.daemon import TOKEN, Daemon, wait_for
from testing.dashboard import Dashboard, cli_json

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"the browser tests need {CHROMIUM} (apt-get install -y chromium); CI never skips them")
    pytest.skip(f"no {CHROMIUM}: the browser tests are skipped (CI runs them)", allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, page errors and failed requests are collected."""

    def __init__(self, browser: Browser, base: str, *, dark: bool = False) -> None:
        self.context = browser.new_context(base_url=base, color_scheme="dark" if dark else "light",
                                           viewport={"width": 1400, "height": 1000})
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"failed: {request.url} {request.failure}")

    def visit(self, path: str, shot: str | None = None) -> Page:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, path
        self.page.wait_for_load_state("networkidle")
        if shot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Browser, daemon: Daemon) -> Iterator[Watched]:
    found = Watched(browser, f"http://127.0.0.1:{daemon.port}")
    yield found
    found.close()
    assert found.problems == []


def _plots_drawn(page: Page) -> int:
    count: Any = page.evaluate("document.querySelectorAll('figure.plot .uplot canvas').length")
    return int(count)


def test_the_overview_shows_the_drift_the_cli_reports_and_draws_its_plot(watched: Watched, board: Dashboard) -> None:
    drift = cli_json(board.config, "drift", "--no-alerts", "--now", "2026-12-10T12:00:00Z")
    page = watched.visit("/", "overview")
    for service in drift["services"]:
        row = page.locator(f'tr[data-service="{service["name"]}"]')
        expected = service["relevant_commits_behind"]
        assert row.locator(".relevant").inner_text() == ("-" if expected is None else str(expected))
        assert row.locator(".status").inner_text() == service["status"]
    assert _plots_drawn(page) >= 1 or page.locator("#health-plot").count() == 0


def test_every_page_renders_without_errors_in_light_and_dark(browser: Browser, daemon: Daemon,
                                                             board: Dashboard) -> None:
    pages = {"service-prediction-worker": "/services/prediction-worker", "service-scrapers": "/services/scrapers",
             "check-vegas-line-coverage": "/checks/phase4.vegas_line_coverage.yesterday",
             "check-rows-per-game": "/checks/phase2.boxscores.rows_per_game", "runs": "/runs",
             "live": f"/live?rev={board.planted_commit[:10]}", "login": "/login"}
    for dark in (False, True):
        watched = Watched(browser, f"http://127.0.0.1:{daemon.port}", dark=dark)
        try:
            for name, path in pages.items():
                page = watched.visit(path, f"{name}-{'dark' if dark else 'light'}")
                if name.startswith(("check", "service-p")):
                    assert _plots_drawn(page) >= 1, path
            background = watched.page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == ("rgb(13, 17, 23)" if dark else "rgb(255, 255, 255)")
        finally:
            watched.close()
        assert watched.problems == []


def test_the_search_box_answers_what_contains_answers(watched: Watched, board: Dashboard) -> None:
    revision = board.planted_commit[:10]
    expected = cli_json(board.config, "contains", revision)
    page = watched.visit("/live")
    page.fill("#rev", revision)
    page.press("#rev", "Enter")
    page.wait_for_selector("table#live")
    shown = {row.get_attribute("data-service"): row.get_attribute("data-contains")
             for row in page.locator("table#live tbody tr").all()}
    word = {True: "yes", False: "no", None: "unknown"}
    assert shown == {s["name"]: word[s["contains"]] for s in expected["services"]}
    page.screenshot(path=str(SCREENSHOTS / "live-search.png"), full_page=True)


def test_a_silence_added_in_the_ui_is_in_silence_list_and_the_overview_updates_itself(
        watched: Watched, board: Dashboard) -> None:
    page = watched.visit("/login?next=/")
    page.fill("input[name=token]", TOKEN)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.click("details.add-silence summary")
    page.fill("textarea[name=matchers]", "service=grading")
    page.fill("input[name=comment]", "added in the browser")
    page.click("#silence-form button[type=submit]")
    page.wait_for_selector("table#silences")
    silences = cli_json(board.config, "silence", "list")["silences"]
    added = next(s for s in silences if s["comment"] == "added in the browser")
    assert added["matchers"] == ["service=grading"]
    assert page.locator(f'tr[data-silence="{added["id"]}"]').count() == 1
    page.screenshot(path=str(SCREENSHOTS / "overview-signed-in.png"), full_page=True)

    page = watched.visit("/?refresh=2")
    page.evaluate("window.notReloaded = true")
    cli_json(board.config, "silence", "add", "--match", "service=precompute", "--for", "1h", "--comment",
             "added from the CLI")
    wait_for("the overview to show the new silence", lambda: "added from the CLI" in page.inner_text("#overview"))
    assert page.evaluate("window.notReloaded") is True


def test_the_copy_button_copies_the_deploy_command(watched: Watched) -> None:
    page = watched.visit("/")
    button = page.locator('tr[data-service="prediction-worker"] button.copy')
    command = button.get_attribute("data-copy")
    assert command is not None and "deploy-service.sh prediction-worker" in command
    button.click()
    page.wait_for_function("document.querySelector('tr[data-service=\"prediction-worker\"] button.copy')"
                           ".textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == command


def test_a_deploy_recorded_in_the_form_is_in_deployments_and_the_ledger(watched: Watched, board: Dashboard) -> None:
    page = watched.visit("/login?next=/services/prediction-worker")
    page.fill("input[name=token]", TOKEN)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/services/prediction-worker$"))
    page.click("details.record-deploy summary")
    page.fill("#record-form input[name=commit]", "main~1")
    page.select_option("#record-form select[name=status]", "failed")
    page.fill("#record-form input[name=url]", "https://ci.example.com/job/77")
    page.fill("#record-form input[name=by]", "browser")
    page.fill("#record-form input[name=reason]", "recorded in the browser")
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("#record-done")
    entry = cli_json(board.config, "deployments", "prediction-worker")["deployments"][0]
    assert (entry["reason"], entry["status"], entry["by"], entry["url"]) == (
        "recorded in the browser", "failed", "browser", "https://ci.example.com/job/77")
    row = page.locator(f'tr[data-entry="{entry["id"]}"]')
    assert row.count() == 1 and "recorded in the browser" in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "service-recorded-deploy.png"), full_page=True)
