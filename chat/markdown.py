"""Markdown that article authors write, turned into HTML that is safe to show and into plain
text for chat messages.

markdown-it-py parses CommonMark with raw HTML turned off; nh3 (the Rust sanitiser ammonia)
then keeps only an allow-list of tags and attributes: no script, no style, no event handler,
and links and images only to http(s) or relative addresses. Whatever the author typed, the
output can go into a page as it is.
"""
import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
                      "th": {"align"}, "td": {"align"}}
BLOCK_SEPARATOR = re.compile(r"\n\s*\n")


def render(markdown_text):
    """Sanitised HTML of the Markdown, ready for a template (links open in a new tab)."""
    unsafe = _parser.render(markdown_text or "")
    safe = nh3.clean(unsafe, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow",
                     set_tag_attribute_values={"a": {"target": "_blank"}})
    return Markup(safe)


def plain_text(markdown_text):
    """The words a reader sees, without markup: for a chat message, which is text."""
    stripped = nh3.clean(_parser.render(markdown_text or ""), tags=set())
    lines = (line.strip() for line in html.unescape(stripped).splitlines())
    return "\n".join(line for line in lines if line)


def blocks(markdown_text):
    """The Markdown's blocks (paragraphs, lists, headings) as plain text, in order."""
    return [text for text in (plain_text(part) for part in BLOCK_SEPARATOR.split(markdown_text or "")) if text]
