"""axe-core (tests/browser/vendor/axe-core, from its npm package) run in the page under test.

`axe_violations(page)` injects axe.min.js and returns the violations of WCAG 2.0-2.2 A and AA rules (and axe's
best practices) whose impact is critical or serious, each as "rule-id: help (N nodes: selectors)". A test asserts
the list is empty, so a failure names what to fix."""

import json
from pathlib import Path

from playwright.sync_api import Page

AXE_VERSION = "4.14.1"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Page, *, impacts: tuple[str, ...] = ("critical", "serious")) -> list[str]:
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy (script-src 'self') does not
    # govern: a <script> tag would be refused, as the CSP should.
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in impacts:
            continue
        targets = [json.dumps(node["target"]) for node in violation["nodes"][:5]]
        found.append(f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes: {', '.join(targets)})")
    return found
