"""What the browser tests share: the screens they use, and steps and checks on a page."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.factories import TEST_PASSWORD

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

#: Pixels of horizontal overflow tolerated on a phone (sub-pixel rounding).
OVERFLOW_TOLERANCE = 2


def field(scope: Page | Locator, label: str, role: str = "textbox") -> Locator:
    """The form field labelled ``label`` (Wagtail marks required ones with an asterisk)."""
    return scope.get_by_role(role, name=re.compile(rf"^{re.escape(label)}\*?$"))


def textbox(page: Page, label: str) -> Locator:
    """The text field labelled ``label`` (Django and allauth end labels with a colon)."""
    return page.get_by_role("textbox", name=re.compile(rf"^{re.escape(label)}:?$"))


def log_in(page: Page, base_url: str, username: str, next_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_url}")
    textbox(page, "Username or e-mail").fill(username)
    textbox(page, "Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()


def expect_admin_message(page: Page, text: str) -> None:
    """Wagtail's admin shows ``text`` in its message bar (once it has slid into view)."""
    messages = page.locator(".messages > ul")
    expect(messages).to_contain_text(text)
    expect(messages).to_have_css("opacity", "1")


def assert_fits_phone(page: Page, width: int = PHONE["viewport"]["width"]) -> None:
    """The page scrolls only vertically: nothing sticks out past the phone's screen."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + OVERFLOW_TOLERANCE, (
        f"{page.url} is {scroll_width}px wide on a {width}px screen: it scrolls sideways"
    )
