#!/usr/bin/env python3
"""The partner portal in a real browser (issue 21), driven by tests/browser.rs.

Launches Debian's Chromium through Playwright (as pages.py does) and, against a running server
(BASE_URL) and what the Rust test prepared (EXPECTED: users, a period, another union's batch, the
texts and figures each language must show), checks in each language:
  - a union's treasurer signs in with the form;
  - submits a batch with a wrong line: the error is shown at that row, in the language;
  - corrects it and submits: the new batch's page shows its amount;
  - a form posted without its CSRF token (the hidden field removed) is refused (403 page);
  - another union's batch page is refused (404);
  - signs out;
  - axe-core finds no serious or critical violation on any portal page, and no Content Security
    Policy violation occurs.
With SCREENSHOTS=DIR set, it also photographs the union's home (after the refused batch, so its
errors show) as DIR/portal-union-home-<lang>.png.
Prints one line per failure and exits 1 if there is any.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from pages import AXE, BLOCKING, launch


def axe_check(page, where, axe_source, failures):
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


def fill_batch(page, expected, amount):
    page.fill("#period", expected["period"])
    page.fill("input[name=reference_0]", "Section A")
    page.fill("input[name=members_0]", "12")
    page.fill("input[name=amount_0]", amount)


def journey(context, base, lang, expected, axe_source, failures, screenshots):
    texts = expected["texts"][lang]
    user = expected["users"][lang]
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.goto(f"{base}/language/{lang}?next=/portal/sign-in")
    where = f"[{lang}]"
    if page.evaluate("document.documentElement.lang") != lang:
        failures.append(f"{where} the sign-in page is not in {lang}")
    axe_check(page, f"{where} sign-in", axe_source, failures)
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form.portal-form button[type=submit]")
    page.wait_for_load_state()
    if not page.url.endswith("/portal"):
        failures.append(f"{where} sign-in went to {page.url}")
        page.close()
        return
    axe_check(page, f"{where} home", axe_source, failures)

    # A wrong amount on the first row: refused at that row, nothing written.
    fill_batch(page, expected, "11.00")
    with page.expect_navigation() as navigation:
        page.click("form.batch-form button[type=submit]")
    if navigation.value.status != 422:
        failures.append(f"{where} a wrong batch answered {navigation.value.status}")
    row = page.query_selector("#row-0.row-error")
    if row is None or texts["amount_error"] not in row.inner_text():
        failures.append(f"{where} the amount's error is not shown at its row")
    if page.input_value("input[name=reference_0]") != "Section A":
        failures.append(f"{where} the refused form lost what was typed")
    axe_check(page, f"{where} refused batch", axe_source, failures)
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / f"portal-union-home-{lang}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")

    # Corrected: the batch is written and shown.
    page.fill("input[name=amount_0]", "12.00")
    with page.expect_navigation() as navigation:
        page.click("form.batch-form button[type=submit]")
    page.wait_for_load_state()
    if "/portal/batches/" not in page.url:
        failures.append(f"{where} the corrected batch went to {page.url}")
    elif texts["amount"] not in page.inner_text("main"):
        failures.append(f"{where} the batch page does not show {texts['amount']!r}")
    axe_check(page, f"{where} batch page", axe_source, failures)

    # A form without its CSRF token is refused.
    page.goto(base + "/portal")
    page.evaluate("document.querySelector('form.batch-form input[name=csrf]').remove()")
    fill_batch(page, expected, "12.00")
    with page.expect_navigation() as navigation:
        page.click("form.batch-form button[type=submit]")
    if navigation.value.status != 403 or texts["csrf_title"] not in page.inner_text("main"):
        failures.append(f"{where} a form without its CSRF token answered "
                        f"{navigation.value.status}")
    axe_check(page, f"{where} CSRF refusal", axe_source, failures)

    # Another union's batch is not shown.
    response = page.goto(f"{base}/portal/batches/{expected['other_batch']}")
    if response is None or response.status != 404:
        failures.append(f"{where} another union's batch answered "
                        f"{response.status if response else 'none'}")
    if "MGEN" in page.inner_text("main"):
        failures.append(f"{where} another union's batch is shown")

    # Signing out ends the session.
    page.goto(base + "/portal")
    page.click(".portal-bar button[type=submit]")
    page.wait_for_load_state()
    page.goto(base + "/portal")
    if not page.url.endswith("/portal/sign-in"):
        failures.append(f"{where} still signed in after signing out ({page.url})")
    if csp_errors:
        failures.append(f"{where} Content Security Policy violations: {csp_errors[:3]}")
    page.close()


def main():
    base = os.environ["BASE_URL"].rstrip("/")
    expected = json.loads(os.environ["EXPECTED"])
    screenshots = os.environ.get("SCREENSHOTS")
    failures = []
    axe_source = AXE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = launch(playwright, profile)
        for lang in expected["languages"]:
            context.clear_cookies()
            journey(context, base, lang, expected, axe_source, failures, screenshots)
        context.close()
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"portal journeys in {len(expected['languages'])} languages; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
