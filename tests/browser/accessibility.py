"""Accessibility checks for the browser tests.

``assert_accessible`` runs axe-core (the copy axe-playwright-python ships)
in the page as it stands and fails with every WCAG 2.2 A/AA violation it
finds, each with the elements it names. ``tab_to`` reaches an element the
way a keyboard user does, by pressing Tab, and fails if it never gets focus:
the keyboard-only tests use it instead of clicking.
"""

from axe_playwright_python.sync_playwright import Axe

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
_axe = Axe()


# Transitions still running (a message's tools fading in when it takes the
# focus) would be measured half-drawn: colour contrast of a blend. axe looks
# at the page once every finite animation has finished.
SETTLE_ANIMATIONS = """() => Promise.all(document.getAnimations()
    .filter((animation) => animation.effect.getComputedTiming().endTime !== Infinity)
    .map((animation) => animation.finished.catch(() => null)))"""


def violations(page, within: str | None = None) -> list[dict]:
    """axe's WCAG violations on ``page``, or only inside the element(s)
    ``within`` selects, once its transitions have settled."""
    page.evaluate(SETTLE_ANIMATIONS)
    return _axe.run(page, context=within, options=AXE_OPTIONS).response["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
    return "\n".join(lines)


def assert_accessible(page, state: str, *, within: str | None = None) -> None:
    """No WCAG 2.2 A/AA violation on ``page`` (or inside ``within``) in
    ``state`` (named in the failure)."""
    found = violations(page, within)
    assert not found, f"{state}: {len(found)} WCAG violation(s)\n{describe(found)}"


def tab_to(page, locator, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until ``locator`` has focus; fail after
    ``limit`` presses, so an unreachable control fails its test."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if locator.evaluate("node => node === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{locator} never received focus in {limit} presses of {key}")


def choose_files_by_keyboard(page, control, files, *, backwards: bool = False) -> None:
    """Tab to the file input ``control``, press Enter, and answer the file
    chooser it opens with ``files``. Playwright starts intercepting choosers
    when the wait begins, without waiting for the browser to confirm it: the
    wait begins before the Tab presses, whose round trips give the browser
    that time, so the Enter cannot reach a page that is not intercepting yet."""
    with page.expect_file_chooser() as chooser:
        tab_to(page, control, backwards=backwards)
        page.keyboard.press("Enter")
    chooser.value.set_files(files)
