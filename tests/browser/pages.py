#!/usr/bin/env python3
"""The public site in a real browser (issue 20), driven by tests/browser.rs.

Launches Debian's Chromium through Playwright (never a browser of its own) with an empty profile,
and checks against a running server (BASE_URL):
  - every public page in French, English and Spanish: answered 200, in the chosen language, showing
    the figures the Rust test read from the API (EXPECTED, formatted per language), no Content
    Security Policy violation, and axe-core finding no serious or critical violation;
  - a hostile organisation name rendered as text (no script runs);
  - the language switch, which sticks across pages.
With --screenshots DIR it takes the README's screenshots instead.
Prints one line per failure and exits 1 if there is any; a browser that cannot start is a failure.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANGUAGES = ["fr", "en", "es"]
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
# Impacts that fail the test.
BLOCKING = {"serious", "critical"}


def launch(playwright, profile):
    return playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=LAUNCH_ARGS,
        viewport={"width": 1200, "height": 900},
    )


def check_pages(context, base, expected, failures):
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    axe_source = AXE.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        context.clear_cookies()
        page.goto(f"{base}/language/{lang}?next=/")
        for path, figures in expected["pages"].items():
            response = page.goto(base + path)
            where = f"{path} [{lang}]"
            if response is None or response.status != 200:
                failures.append(f"{where}: status {response.status if response else 'none'}")
                continue
            shown = page.evaluate("document.documentElement.lang")
            if shown != lang:
                failures.append(f"{where}: page language is {shown!r}")
            text = page.inner_text("main")
            for figure in figures.get(lang, []):
                if figure not in text:
                    failures.append(f"{where}: figure {figure!r} not shown")
            if "{" in text or "-title" in text:
                failures.append(f"{where}: an untranslated message key or placeable is shown")
            page.evaluate(axe_source)
            violations = page.evaluate(
                """async () => {
                    const result = await axe.run(document, {resultTypes: ['violations']});
                    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}));
                }"""
            )
            for violation in violations:
                if violation["impact"] in BLOCKING:
                    failures.append(f"{where}: axe {violation['impact']} {violation['id']}: "
                                    f"{violation['help']} at {violation['nodes']}")
    if csp_errors:
        failures.append(f"Content Security Policy violations: {csp_errors[:3]}")
    page.close()


def check_hostile_name(context, base, hostile, failures):
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in [hostile["path"], "/mutuals"]:
        page.goto(base + path)
        if hostile["name"] not in page.inner_text("main"):
            failures.append(f"hostile name not shown as text on {path}")
        if page.evaluate("window.pwned !== undefined"):
            failures.append(f"a script of the hostile name ran on {path}")
    if page.query_selector("main script, main img[src='x']") is not None:
        failures.append("the hostile name became markup")
    if dialogs:
        failures.append(f"the hostile name opened dialogs: {dialogs}")
    page.close()


def check_language_switch(context, base, failures):
    context.clear_cookies()
    context.set_extra_http_headers({"Accept-Language": "fr-FR,fr;q=0.9"})
    page = context.new_page()
    page.goto(base + "/mutuals")
    if page.evaluate("document.documentElement.lang") != "fr":
        failures.append("Accept-Language fr did not give French")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    if not page.url.endswith("/mutuals"):
        failures.append(f"the switch went to {page.url}, not back to /mutuals")
    for path in ["/mutuals", "/", "/verify"]:
        page.goto(base + path)
        if page.evaluate("document.documentElement.lang") != "en":
            failures.append(f"the switch to English did not stick on {path}")
    other = context.new_page()
    other.goto(base + "/one-euro")
    if other.evaluate("document.documentElement.lang") != "en":
        failures.append("the switch to English did not stick in a new tab")
    context.set_extra_http_headers({})
    page.close()
    other.close()


SCREENSHOTS = [
    ("home-fr.png", "fr", "/"),
    ("mutuals-en.png", "en", "/mutuals"),
    ("mutual-es.png", "es", "/mutuals/mutuelle-education-bf"),
    ("one-euro-en.png", "en", "/one-euro"),
    ("verify-fr.png", "fr", "/verify"),
]


def screenshots(context, base, directory):
    directory.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    for name, lang, path in SCREENSHOTS:
        context.clear_cookies()
        page.goto(f"{base}/language/{lang}?next={path}")
        page.screenshot(path=str(directory / name), full_page=True)
        print(f"wrote {directory / name}")
    page.close()


def main():
    base = os.environ["BASE_URL"].rstrip("/")
    failures = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = launch(playwright, profile)
        if len(sys.argv) == 3 and sys.argv[1] == "--screenshots":
            screenshots(context, base, Path(sys.argv[2]))
            context.close()
            return 0
        expected = json.loads(os.environ["EXPECTED"])
        check_pages(context, base, expected, failures)
        check_hostile_name(context, base, expected["hostile"], failures)
        check_language_switch(context, base, failures)
        context.close()
    for failure in failures:
        print(f"FAIL {failure}")
    pages = len(expected["pages"]) * len(LANGUAGES)
    print(f"{pages} pages checked in {len(LANGUAGES)} languages; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
