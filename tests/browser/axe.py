"""axe-core in the browser tests: `assert_no_serious_violations(page)` after any page load.

axe-core is the npm package of package.json (package-lock.json pins it; `make test` runs
`npm ci` when node_modules/ lacks it). Our Content-Security-Policy refuses inline and
injected <script> tags (so Playwright's add_script_tag too): the library's source is
evaluated in the page with `page.evaluate`, which the policy does not govern, as it would
be by a browser extension. Evaluate it again after every navigation (a new document has
none); after an htmx swap it is still there.

WCAG 2.0 and 2.1, A and AA, plus axe's best practices (landmarks, headings). A `serious`
or `critical` violation fails, and one of ALWAYS_FAILING at any impact; the failure lists
each rule, its impact, the selectors of its elements and axe's summary of what is wrong
with the first ones.

One "needs review" of axe counts as a violation here: a color contrast below the minimum
that axe leaves undecided only because the text is short (one or two characters, such as
the unread count badge): it is text, and its contrast is measured.
"""

from functools import cache
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
FAILING = ("serious", "critical")
# Rules that fail at any impact: issue 14's findings, fixed, not to come back (axe rates
# landmark-unique moderate and aria-allowed-role minor).
ALWAYS_FAILING = ("landmark-unique", "aria-allowed-role", "listitem", "link-in-text-block")


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(
            f"{AXE.relative_to(AXE.parents[2])} is missing: `make test` installs it "
            "(or run `npm ci` in the repository root)"
        )
    return AXE.read_text()


def axe_violations(page, *, tags=TAGS) -> list[dict]:
    """axe's violations on the page as it is now (every impact)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(
        """async (tags) => {
            const results = await window.axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations", "incomplete"],
            });
            const short = (n) => n.any.some((c) => c.data
                && c.data.messageKey === "shortTextContent" && c.data.fgColor && c.data.bgColor
                && c.data.contrastRatio > 0
                && c.data.contrastRatio < parseFloat(c.data.expectedContrastRatio));
            const undecided = results.incomplete
                .filter((v) => v.id === "color-contrast")
                .map((v) => ({...v, id: "color-contrast (short text)",
                              nodes: v.nodes.filter(short).map((n) => ({...n,
                                  failureSummary: n.any.filter((c) => c.data && c.data.fgColor)
                                      .map((c) => `contrast ${c.data.contrastRatio}:1`
                                      + ` (${c.data.fgColor} on ${c.data.bgColor}), expected`
                                      + ` ${c.data.expectedContrastRatio}`).join(" ")}))}))
                .filter((v) => v.nodes.length);
            return results.violations.concat(undecided).map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.map((n) => ({
                    target: n.target.map(String).join(" "),
                    summary: n.failureSummary,
                })),
            }));
        }""",
        list(tags),
    )


def describe(violations: list[dict], where: str = "") -> str:
    """One block per rule: id, impact, how many elements, selectors and axe's summary."""
    lines = []
    for v in violations:
        lines.append(f"{where}{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def failing(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in FAILING or v["id"] in ALWAYS_FAILING]


def serious_violations(page, **kwargs) -> list[dict]:
    return failing(axe_violations(page, **kwargs))


def assert_no_serious_violations(page, **kwargs) -> None:
    found = serious_violations(page, **kwargs)
    assert not found, f"axe on {page.url}:\n{describe(found)}"
