#!/usr/bin/env python3
"""The network secretariat's portal pages in a real browser (issue 21), driven by tests/browser.rs.

Launches Debian's Chromium through Playwright (as pages.py does) and, against a running server
where a second admin must approve an execution (BASE_URL) and what the Rust test prepared
(EXPECTED: per language two admins, a programme with money for an ended period, a submitted
fact, the texts each language must show; a union's treasurer), checks in each language:
  - the first admin signs in and lands on the network's home;
  - plans a run with the form: the run's page shows its allocations per mutual;
  - requests its execution: the page says the proposer cannot approve it, and offers no approval;
  - the second admin approves it: the run is executed;
  - the second admin verifies a mutual's submitted fact;
  - uploads the bank's camt.053 statement: its page shows the receipt and the unmatched line;
    assigns the unmatched line to its proposed batch: it leaves the list, the statement says so;
  - the first admin downloads the run's pain.001 payment file;
  - the organisations' pages (a mutual's with its fee schedule in the version form) open;
  - axe-core finds no serious or critical violation on any page visited, and no Content Security
    Policy violation occurs.
Then a union's treasurer is refused the network's home (403).
With SCREENSHOTS=DIR set, it photographs the network's home (a run planned, its execution
awaiting a second admin) as DIR/portal-network-<lang>.png, a statement just uploaded as
DIR/portal-network-statements-<lang>.png and the unmatched lines as
DIR/portal-network-statement-lines-<lang>.png and a mutual's page with its version form as
DIR/portal-network-organisation-<lang>.png.
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
    with page.expect_navigation():
        page.click("form.portal-form button[type=submit]")
    page.wait_for_load_state()


def submit(page, selector):
    """Clicks a form's button and answers the status of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.click(selector)
    page.wait_for_load_state()
    return navigation.value.status


def journey(context, base, lang, expected, axe_source, failures, screenshots):
    data = expected["languages"][lang]
    texts = data["texts"]
    where = f"[{lang}]"
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )

    # The first admin plans the run.
    sign_in(page, base, lang, data["alice"])
    if not page.url.endswith("/portal/network"):
        failures.append(f"{where} an admin's sign-in went to {page.url}")
        page.close()
        return
    if page.evaluate("document.documentElement.lang") != lang:
        failures.append(f"{where} the network's home is not in {lang}")
    axe_check(page, f"{where} network home", axe_source, failures)
    page.select_option("#programme_id", data["programme"])
    page.fill("#period", expected["period"])
    submit(page, "form[action='/portal/network'] button[type=submit]")
    if "/portal/network/runs/" not in page.url:
        failures.append(f"{where} planning went to {page.url}")
        page.close()
        return
    run_page = page.url
    main = page.inner_text("main")
    for name in ("mutuelle-education-bf", "mesp"):
        if name not in main:
            failures.append(f"{where} the plan does not show {name}")
    axe_check(page, f"{where} run planned", axe_source, failures)

    # Its execution is requested: a proposal its proposer cannot approve.
    submit(page, "form[action$='/execution'] button[type=submit]")
    notice = page.query_selector("#proposer-notice")
    if notice is None or notice.inner_text().strip() != texts["proposer"]:
        failures.append(f"{where} the proposer is not told it cannot approve")
    if page.query_selector("form[action$='/approval']") is not None:
        failures.append(f"{where} the proposer is offered an approval")
    axe_check(page, f"{where} execution proposed", axe_source, failures)
    page.goto(base + "/portal/network")
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / f"portal-network-{lang}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")
    page.click(".portal-bar form[action='/portal/sign-out'] button")
    page.wait_for_load_state()

    # The second admin approves it: the run is executed.
    sign_in(page, base, lang, data["bob"])
    page.goto(run_page)
    if page.query_selector("form[action$='/approval']") is None:
        failures.append(f"{where} the second admin is offered no approval")
        page.close()
        return
    status = submit(page, "form[action$='/approval'] button[type=submit]")
    if status != 200 or page.query_selector("a[href$='/payment-file']") is None:
        failures.append(f"{where} the approved run is not executed ({status}, {page.url})")
    if texts["executed"] not in page.inner_text("main"):
        failures.append(f"{where} the run's page does not say {texts['executed']!r}")
    axe_check(page, f"{where} run executed", axe_source, failures)

    # The second admin verifies a mutual's submitted fact.
    page.goto(base + "/portal/network/facts")
    axe_check(page, f"{where} facts to verify", axe_source, failures)
    fact = f"#fact-{data['fact']}"
    if page.query_selector(fact) is None:
        failures.append(f"{where} the submitted fact is not listed")
    else:
        submit(page, f"{fact} form[action$='/verification'] button[type=submit]")
        if page.query_selector(fact) is not None:
            failures.append(f"{where} the verified fact is still listed")
    for path in ("/portal/network/organisations", "/portal/network/held",
                 "/portal/network/users", "/portal/network/security",
                 f"/portal/network/organisations/{data['mutual']}"):
        response = page.goto(base + path)
        if response is None or response.status != 200:
            failures.append(f"{where} {path} answered {response.status if response else 'none'}")
        axe_check(page, f"{where} {path}", axe_source, failures)
    # The mutual's page offers its fee schedule, prefilled from the version in force.
    if page.input_value("#fee_fixed") != "15.00" or page.input_value("#fee_percent") != "0.5":
        failures.append(f"{where} the mutual's fee fields are not the schedule in force")
    photograph(page, screenshots, f"portal-network-organisation-{lang}.png")
    statements(page, base, lang, data, axe_source, failures, screenshots)
    page.click(".portal-bar form[action='/portal/sign-out'] button")
    page.wait_for_load_state()

    # The first admin downloads the payment file.
    sign_in(page, base, lang, data["alice"])
    page.goto(run_page)
    with page.expect_download() as download:
        page.click("a[href$='/payment-file']")
    content = Path(download.value.path()).read_text(encoding="utf-8")
    if "pain.001.001.09" not in content or data["creditor_bic"] not in content:
        failures.append(f"{where} the payment file is not the run's pain.001: {content[:200]!r}")
    if not download.value.suggested_filename.startswith("pain.001-"):
        failures.append(f"{where} the payment file is named {download.value.suggested_filename}")
    if csp_errors:
        failures.append(f"{where} Content Security Policy violations: {csp_errors[:3]}")
    page.close()


def photograph(page, screenshots, name):
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / name
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")


def statements(page, base, lang, data, axe_source, failures, screenshots):
    """Uploads the bank's statement, sees its entries, assigns its unmatched line."""
    where = f"[{lang}]"
    texts = data["texts"]
    statement = data["statement"]
    page.goto(base + "/portal/network")
    submit(page, "main a[href='/portal/network/statements']")
    axe_check(page, f"{where} statements", axe_source, failures)
    page.set_input_files("#statement-file", files=[{
        "name": f"camt053-{lang}.xml",
        "mimeType": "application/xml",
        "buffer": statement["xml"].encode("utf-8"),
    }])
    status = submit(page, "form[action='/portal/network/statements'] button[type=submit]")
    if status != 200 or "/portal/network/statements/" not in page.url:
        failures.append(f"{where} the upload went to {page.url} ({status})")
        return
    statement_page = page.url
    main = page.inner_text("main")
    for text in (statement["id"], texts["receipt"], texts["unmatched"]):
        if text not in main:
            failures.append(f"{where} the statement's page does not show {text!r}")
    axe_check(page, f"{where} statement", axe_source, failures)
    photograph(page, screenshots, f"portal-network-statements-{lang}.png")

    page.goto(base + "/portal/network/statement-lines")
    axe_check(page, f"{where} unmatched lines", axe_source, failures)
    line = page.locator("li.proposal", has_text=statement["id"])
    if line.count() != 1:
        failures.append(f"{where} {line.count()} unmatched lines of {statement['id']}")
        return
    photograph(page, screenshots, f"portal-network-statement-lines-{lang}.png")
    with page.expect_navigation() as navigation:
        line.locator("form[action$='/assignment'] button[type=submit]").click()
    page.wait_for_load_state()
    if navigation.value.status != 200 or not page.url.endswith("/portal/network/statement-lines"):
        failures.append(f"{where} the assignment went to {page.url} ({navigation.value.status})")
    if page.locator("li.proposal", has_text=statement["id"]).count() != 0:
        failures.append(f"{where} the assigned line is still listed")
    page.goto(statement_page)
    if texts["assigned"] not in page.inner_text("main"):
        failures.append(f"{where} the statement's page does not say {texts['assigned']!r}")


def refused_to_a_union(context, base, expected, failures):
    page = context.new_page()
    sign_in(page, base, "fr", expected["treasurer"])
    response = page.goto(base + "/portal/network")
    if response is None or response.status != 403:
        failures.append(f"a union's treasurer got {response.status if response else 'none'} "
                        "on the network's home")
    page.close()


def main():
    base = os.environ["BASE_URL"].rstrip("/")
    expected = json.loads(os.environ["EXPECTED"])
    screenshots = os.environ.get("SCREENSHOTS")
    failures = []
    axe_source = AXE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = launch(playwright, profile)
        for lang in expected["order"]:
            context.clear_cookies()
            journey(context, base, lang, expected, axe_source, failures, screenshots)
        context.clear_cookies()
        refused_to_a_union(context, base, expected, failures)
        context.close()
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"network journeys in {len(expected['order'])} languages; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
