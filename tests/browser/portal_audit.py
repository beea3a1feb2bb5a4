#!/usr/bin/env python3
"""An auditor's portal pages in a real browser (issue 21, item 5), driven by tests/browser.rs.

Against a running server (BASE_URL) and what the Rust test prepared (EXPECTED: an auditor and a
union's treasurer per language, the latest checkpoint, the texts each language must show), checks
in each language that the auditor:
  - signs in and lands on the audit page;
  - downloads the journal's export (JSON Lines), then uploads it to be verified against the
    latest checkpoint: the page says, in its language, that it matches that checkpoint;
  - reads the trial balance (balanced) as at an accounting date, and the signed checkpoints;
and that a union's treasurer is refused the audit page (403); with axe-core finding no serious or
critical violation and no Content Security Policy violation.
With SCREENSHOTS=DIR set, it photographs the audit page with a verification's result as
DIR/portal-audit-<lang>.png.
Prints one line per failure and exits 1 if there is any.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from pages import AXE, launch
from portal import axe_check


def sign_in(page, base, lang, user):
    page.goto(f"{base}/language/{lang}?next=/portal/sign-in")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form.portal-form button[type=submit]")
    page.wait_for_load_state()


def journey(context, base, lang, expected, axe_source, failures, screenshots, directory):
    texts = expected["texts"][lang]
    where = f"[{lang}]"
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    sign_in(page, base, lang, expected["auditors"][lang])
    if not page.url.endswith("/portal/audit"):
        failures.append(f"{where} the auditor's sign-in went to {page.url}")
        page.close()
        return
    axe_check(page, f"{where} audit", axe_source, failures)
    if expected["checkpoint_hash"] not in page.inner_text("main"):
        failures.append(f"{where} the latest checkpoint is not listed")

    with page.expect_download() as download:
        page.click("a[href='/portal/audit/export?format=jsonl']")
    export = Path(directory) / f"journal-{lang}.jsonl"
    download.value.save_as(str(export))
    if export.stat().st_size == 0:
        failures.append(f"{where} the export is empty")

    page.set_input_files("#verify-file", str(export))
    page.select_option("#verify-checkpoint", str(expected["sequence"]))
    with page.expect_navigation() as navigation:
        page.click("form[action='/portal/audit/verify'] button[type=submit]")
    if navigation.value.status != 200:
        failures.append(f"{where} the verification answered {navigation.value.status}")
    if texts["matches"] not in page.inner_text("main"):
        failures.append(f"{where} the verification does not say {texts['matches']!r}")
    axe_check(page, f"{where} verified", axe_source, failures)
    if screenshots:
        # The verdict, the trial balance and the checkpoints on one page.
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / f"portal-audit-{lang}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")

    page.fill("#as_of", "2026-09-30")
    with page.expect_navigation():
        page.click("form[action='/portal/audit#trial-balance'] button[type=submit]")
    if page.query_selector("table.trial-balance") is None:
        failures.append(f"{where} no trial balance")
    if texts["balanced"] not in page.inner_text("main"):
        failures.append(f"{where} the trial balance is not said balanced")
    axe_check(page, f"{where} trial balance", axe_source, failures)
    if csp_errors:
        failures.append(f"{where} Content Security Policy violations: {csp_errors[:3]}")
    page.close()

    # A union's treasurer is refused the audit pages.
    context.clear_cookies()
    page = context.new_page()
    sign_in(page, base, lang, expected["unions"][lang])
    response = page.goto(f"{base}/portal/audit")
    if response is None or response.status != 403:
        failures.append(f"{where} a union's user got the audit page "
                        f"({response.status if response else 'none'})")
    page.close()


def main():
    base = os.environ["BASE_URL"].rstrip("/")
    expected = json.loads(os.environ["EXPECTED"])
    screenshots = os.environ.get("SCREENSHOTS")
    failures = []
    axe_source = AXE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as directory, \
            sync_playwright() as playwright:
        context = launch(playwright, profile)
        for lang in expected["languages"]:
            context.clear_cookies()
            journey(context, base, lang, expected, axe_source, failures, screenshots, directory)
        context.close()
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"audit journeys in {len(expected['languages'])} languages; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
