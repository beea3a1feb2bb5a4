#!/usr/bin/env python3
"""A southern mutual's portal pages in a real browser (issue 21, item 3), driven by tests/browser.rs.

Launches Debian's Chromium through Playwright (as pages.py does) and, against a running server
(BASE_URL) and what the Rust test prepared (EXPECTED: the language, the mutual's manager and
another mutual's manager, the transfer, the texts and figures the language must show), checks:
  - the mutual's manager signs in and lands on the mutual's home, which lists the transfer;
  - confirms the transfer with a wrong amount first (the error shown at its field, in the
    language), then with what arrived: the transfer's page says it is confirmed;
  - files a redistribution report: it is listed, awaiting the network;
  - declares a fact with a PDF as evidence: eligibility shows the fact awaiting verification,
    with a link to its document;
  - opens the printable statement, in the mutual's currency, whose print stylesheet hides the
    navigation;
  - on a phone's width (390 px) no page is wider than the screen;
  - another mutual's manager is refused the transfer (404);
  - axe-core finds no serious or critical violation on any page, no Content Security Policy
    violation occurs.
With SCREENSHOTS=DIR set, it photographs the mutual's home as DIR/portal-mutual-<lang>.png, and
the refused confirmation, eligibility and statement as DIR/portal-mutual-{transfer,eligibility,
statement}-<lang>.png.
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

MINUTES_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% general assembly minutes"


def sign_in(page, base, lang, user):
    page.goto(f"{base}/language/{lang}?next=/portal/sign-in")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form.portal-form button[type=submit]")
    page.wait_for_load_state()


def submit(page, selector):
    with page.expect_navigation() as navigation:
        page.click(f"{selector} button[type=submit]")
    page.wait_for_load_state()
    return navigation.value


def photograph(page, screenshots, name):
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / name
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")


def journey(context, base, expected, axe_source, failures, screenshots, documents):
    lang = expected["lang"]
    texts = expected["texts"]
    where = f"[{lang}]"
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    sign_in(page, base, lang, expected["mutual"])
    if not page.url.endswith("/portal/mutual"):
        failures.append(f"{where} sign-in went to {page.url}")
        page.close()
        return
    if page.evaluate("document.documentElement.lang") != lang:
        failures.append(f"{where} the mutual's home is not in {lang}")
    if expected["expected_local"] not in page.inner_text("main"):
        failures.append(f"{where} the home does not show {expected['expected_local']!r}")
    axe_check(page, f"{where} mutual home", axe_source, failures)

    # The transfer: a wrong amount first, refused at its field; then what arrived.
    page.click(f"a[href='/portal/mutual/transfers/{expected['transfer']}']")
    page.wait_for_load_state()
    axe_check(page, f"{where} transfer", axe_source, failures)
    page.fill("#received", "12,5,0")
    page.fill("#value_date", expected["today"])
    page.fill("#bank_reference", "BOA-2026-10-001")
    response = submit(page, "form.confirm-form")
    if response.status != 422:
        failures.append(f"{where} a wrong confirmation answered {response.status}")
    error = page.query_selector("#received-error")
    if error is None or texts["received_error"] not in error.inner_text():
        failures.append(f"{where} the amount's error is not shown at its field")
    axe_check(page, f"{where} refused confirmation", axe_source, failures)
    photograph(page, screenshots, f"portal-mutual-transfer-{lang}.png")
    page.fill("#received", expected["received"])
    page.fill("#fees_deducted", expected["fees"])
    submit(page, "form.confirm-form")
    if texts["confirmed"] not in page.inner_text("main"):
        failures.append(f"{where} the transfer's page does not say {texts['confirmed']!r}")
    axe_check(page, f"{where} confirmed transfer", axe_source, failures)

    # A report.
    page.goto(base + "/portal/mutual/reports")
    page.fill("#period", expected["period"])
    page.fill("input[name=amount_0]", expected["report_amount"])
    page.fill("input[name=members_0]", "120")
    submit(page, "form.report-form")
    if texts["report_submitted"] not in page.inner_text("main"):
        failures.append(f"{where} the report is not listed as {texts['report_submitted']!r}")
    axe_check(page, f"{where} reports", axe_source, failures)

    # A fact with its evidence: awaiting verification, its document linked.
    page.goto(base + "/portal/mutual/eligibility")
    page.select_option("#code", "general_assembly_date")
    page.fill("#value", expected["today"])
    page.fill("#as_of", expected["today"])
    page.fill("#evidence_reference", "PV AG")
    page.set_input_files("#evidence_document", str(documents / "minutes.pdf"))
    submit(page, "form.fact-form")
    facts = page.inner_text("#facts + .table-scroll") if page.query_selector("#facts + .table-scroll") else ""
    if texts["fact_pending"] not in facts:
        failures.append(f"{where} the declared fact is not shown as {texts['fact_pending']!r}")
    if page.query_selector("a[href$='/evidence']") is None:
        failures.append(f"{where} the fact's document has no link")
    axe_check(page, f"{where} eligibility", axe_source, failures)
    photograph(page, screenshots, f"portal-mutual-eligibility-{lang}.png")

    # The printable statement, in the mutual's currency; printed without navigation.
    page.goto(base + "/portal/mutual/statement")
    if expected["currency"] not in page.inner_text("main"):
        failures.append(f"{where} the statement is not in {expected['currency']}")
    axe_check(page, f"{where} statement", axe_source, failures)
    page.emulate_media(media="print")
    if page.is_visible(".portal-bar") or page.is_visible(".site-header"):
        failures.append(f"{where} the printed statement shows the navigation")
    page.emulate_media(media="screen")

    photograph(page, screenshots, f"portal-mutual-statement-{lang}.png")

    # On a phone's width, no page is wider than the screen (wide tables scroll in their box).
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/portal/mutual", f"/portal/mutual/transfers/{expected['transfer']}",
                 "/portal/mutual/reports", "/portal/mutual/eligibility", "/portal/mutual/statement"]:
        page.goto(base + path)
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            failures.append(f"{where} {path} is wider than a phone's screen")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(base + "/portal/mutual")
    photograph(page, screenshots, f"portal-mutual-{lang}.png")
    page.click(".portal-bar button[type=submit]")
    page.wait_for_load_state()

    # Another mutual's manager is refused this transfer.
    sign_in(page, base, lang, expected["other"])
    response = page.goto(f"{base}/portal/mutual/transfers/{expected['transfer']}")
    if response is None or response.status != 404:
        failures.append(f"{where} another mutual's transfer answered "
                        f"{response.status if response else 'none'}")
    axe_check(page, f"{where} refused transfer", axe_source, failures)
    if csp_errors:
        failures.append(f"{where} Content Security Policy violations: {csp_errors[:3]}")
    page.close()


def main():
    base = os.environ["BASE_URL"].rstrip("/")
    expected = json.loads(os.environ["EXPECTED"])
    screenshots = os.environ.get("SCREENSHOTS")
    failures = []
    axe_source = AXE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as files, \
            sync_playwright() as playwright:
        documents = Path(files)
        (documents / "minutes.pdf").write_bytes(MINUTES_PDF)
        context = launch(playwright, profile)
        journey(context, base, expected, axe_source, failures, screenshots, documents)
        context.close()
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"mutual journey in {expected['lang']}; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
