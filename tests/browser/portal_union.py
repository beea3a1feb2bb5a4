#!/usr/bin/env python3
"""A union's portal pages in a real browser (issue 21, item 2), driven by tests/browser.rs.

Against a running server (BASE_URL) and what the Rust test prepared (EXPECTED: a treasurer per
language, the texts and figures each language must show), checks in each language that the
treasurer:
  - uploads a French CSV with a bad cell: refused (422), the cell named by its row and column in
    the page's language; then uploads the corrected file on the same page: the batch is written;
  - sees where the union's euros went: an SVG chart (no script) and the figures in a table;
  - opens the annual statement, whose print stylesheet hides the site's frame and its forms and
    prints black on white;
  - creates an API key (shown once) and revokes it;
  - (in Spanish) a long amount on the public mutual page's figure cards stays on one line;
with axe-core finding no serious or critical violation and no Content Security Policy violation.
With SCREENSHOTS=DIR set, it photographs the pages as DIR/portal-union-<page>-<lang>.png.
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

BAD_CSV = "référence;membres;montant\nSection Montréal;10;10,00\nSection Québec;dix;5,00\n"
RIGHT_CSV = "référence;membres;montant\nSection Montréal;10;10,00\nSection Québec;5;5,00\n"


def csv_file(text):
    return {"name": "cotisations.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}


def shoot(page, screenshots, name, lang):
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        target = Path(screenshots) / f"portal-union-{name}-{lang}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"wrote {target}")


def journey(context, base, lang, expected, axe_source, failures, screenshots):
    texts = expected["texts"][lang]
    user = expected["unions"][lang]
    where = f"[{lang}]"
    page = context.new_page()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.goto(f"{base}/language/{lang}?next=/portal/sign-in")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.click("form.portal-form button[type=submit]")
    page.wait_for_load_state()
    if not page.url.endswith("/portal"):
        failures.append(f"{where} sign-in went to {page.url}")
        page.close()
        return

    # A French CSV with a bad cell: refused, the cell named in the page's language.
    page.fill("#upload-period", expected["period"])
    page.set_input_files("#upload-file", files=[csv_file(BAD_CSV)])
    with page.expect_navigation() as navigation:
        page.click("form.upload-form button[type=submit]")
    if navigation.value.status != 422:
        failures.append(f"{where} a bad sheet answered {navigation.value.status}")
    if texts["bad_cell"] not in page.inner_text("main"):
        failures.append(f"{where} the bad cell {texts['bad_cell']!r} is not named")
    axe_check(page, f"{where} refused upload", axe_source, failures)
    shoot(page, screenshots, "upload", lang)

    # The corrected file, sent from the refusal's page: written.
    page.fill("#upload-period", expected["period"])
    page.set_input_files("#upload-file", files=[csv_file(RIGHT_CSV)])
    with page.expect_navigation():
        page.click("form.upload-form button[type=submit]")
    page.wait_for_load_state()
    if "/portal/batches/" not in page.url or "Section Québec" not in page.inner_text("main"):
        failures.append(f"{where} the corrected sheet went to {page.url}")

    # Where are our members' euros.
    page.goto(f"{base}/portal/euros")
    main = page.inner_text("main")
    if page.query_selector("figure.chart svg") is None:
        failures.append(f"{where} the euros page has no chart")
    for figure in [texts["received"], texts["mutual"]]:
        if figure not in main:
            failures.append(f"{where} the euros page does not show {figure!r}")
    axe_check(page, f"{where} euros", axe_source, failures)
    shoot(page, screenshots, "euros", lang)

    # The annual statement, and how it prints.
    page.goto(f"{base}/portal/statement?year=2026")
    if texts["statement_title"] not in page.inner_text("h1"):
        failures.append(f"{where} the statement is not titled {texts['statement_title']!r}")
    axe_check(page, f"{where} statement", axe_source, failures)
    shoot(page, screenshots, "statement", lang)
    page.emulate_media(media="print")
    for hidden in [".portal-bar", ".site-header", "form.year-form"]:
        if page.is_visible(hidden):
            failures.append(f"{where} {hidden} is printed")
    colours = page.evaluate(
        "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.querySelector('h1')).color]"
    )
    if colours != ["rgb(255, 255, 255)", "rgb(0, 0, 0)"]:
        failures.append(f"{where} the statement prints as {colours}")
    page.emulate_media(media="screen")

    # An API key: created (shown once), then revoked.
    page.goto(f"{base}/portal/keys")
    page.fill("#key-name", f"accounting-{lang}")
    with page.expect_navigation():
        page.click("form.portal-form button[type=submit]")
    key = page.input_value("#new-key") if page.query_selector("#new-key") else ""
    if not key.startswith("slk_"):
        failures.append(f"{where} the new key is not shown")
    axe_check(page, f"{where} key created", axe_source, failures)
    row = page.locator("tr", has_text=f"accounting-{lang}")
    with page.expect_navigation():
        row.locator("button").click()
    page.wait_for_load_state()
    if texts["revoked"] not in page.locator("tr", has_text=f"accounting-{lang}").inner_text():
        failures.append(f"{where} the key is not shown revoked")
    if key and key in page.content():
        failures.append(f"{where} the key is shown again")
    axe_check(page, f"{where} keys", axe_source, failures)
    shoot(page, screenshots, "keys", lang)

    # A long amount on a public figure card stays on one line, inside its card (it once broke
    # inside "FCFA"): the Spanish mutual's page, a card given the longest amount the demo shows.
    if lang == "es":
        page.goto(f"{base}/mutuals/{expected['mutual_slug']}")
        lines, fits = page.evaluate(
            """() => {
                const amount = document.querySelector('.figure .amount');
                amount.textContent = '125.603.637\u00a0FCFA';
                amount.className = 'amount long';
                const range = document.createRange();
                range.selectNodeContents(amount);
                const card = amount.closest('.figure');
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                return [tops.size, range.getBoundingClientRect().right <= card.getBoundingClientRect().right];
            }"""
        )
        if lines != 1 or not fits:
            failures.append(f"{where} a long amount takes {lines} lines (fits: {fits})")
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
    print(f"union journeys in {len(expected['languages'])} languages; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
