"""HTML in framework files: Moodle's descriptions are HTML, our statements are plain text.

An import keeps a description's HTML, cleaned to an allow-list of elements (paragraphs, line
breaks, lists, emphasis, links, simple tables…, no attributes but a link's ``href``), next to
its text; an export writes that HTML back while the text still says the same thing.

The cleaning is nh3's (the Python binding of the Rust ``ammonia`` sanitiser), which parses as
a browser does and serialises what it keeps; clean HTML comes back as it went in.
"""

import html
import re
from html.parser import HTMLParser

import nh3

_PLAIN = (
    "p br div span b strong i em u s sub sup small blockquote pre code hr "
    "ul ol li dl dt dd h1 h2 h3 h4 h5 h6 table thead tbody tfoot tr th td caption"
)
ALLOWED_ELEMENTS = frozenset({*_PLAIN.split(), "a"})
#: A link keeps only its address, and only a web or mail address.
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Their text is code, not content: removed with it (other unknown elements keep their text).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template"})


def sanitise_html(value: str) -> str:
    """``value`` with only allowed elements and attributes; markup no parser reads is text."""
    if "<" not in value and "&" not in value:
        return value
    return nh3.clean(
        value,
        tags=set(ALLOWED_ELEMENTS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        link_rel=None,
    )


class _TextOfHTML(HTMLParser):
    BLOCK = re.compile(
        r"p|div|li|ul|ol|table|tr|blockquote|pre|section|article|header|footer|d[ldt]|h[1-6]"
    )
    HIDDEN = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif self.BLOCK.fullmatch(tag):
            self.parts.append("\n\n")
        elif tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag):
        if self.BLOCK.fullmatch(tag):
            self.parts.append("\n\n")
        elif tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(value: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, breaks and paragraphs kept."""
    parser = _TextOfHTML()
    try:
        parser.feed(value)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # html.parser gives up on some broken markup, e.g. "<![x["
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", value)
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r"(?i)<br\s*/?>", "\n", text)
        text = re.sub(r"(?i)</?(?:" + _TextOfHTML.BLOCK.pattern + r")\b[^>]*>", "\n\n", text)
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    text = re.sub(r"[ \t\xa0]{2,}", " ", text)
    text = re.sub(r"[ \t\xa0]*\n[ \t\xa0]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks as ``<br>``."""
    return html.escape(text.strip(), quote=False).replace("\r\n", "\n").replace("\n", "<br>")
