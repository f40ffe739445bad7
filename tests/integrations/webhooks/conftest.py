# The browser tests' fixtures, for this folder's one Chromium test.
from tests.browser.conftest import browser, console, pair  # noqa: F401
