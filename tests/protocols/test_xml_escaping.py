"""XML text escaping: the printable-ASCII shortcut gives exactly what the general path gives,
and what it gives reads back, through an XML parser, as the text (invalid characters replaced)."""

from __future__ import annotations

import re
from xml.etree.ElementTree import fromstring

from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.protocols.serializers.xml import _TEXT_SPECIAL, _TEXT_TABLE, escape_text


def _general(text: str) -> str:
    return text if _TEXT_SPECIAL.search(text) is None else text.translate(_TEXT_TABLE)


ascii_heavy = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40)
anything = st.text(max_size=40)


@settings(max_examples=500, deadline=None)
@given(st.one_of(ascii_heavy, anything))
def test_the_shortcut_agrees_with_the_general_path(text):
    assert escape_text(text) == _general(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ascii_heavy, anything))
def test_escaped_text_reads_back(text):
    parsed = fromstring(f"<a>{escape_text(text)}</a>").text or ""
    invalid = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
    assert parsed == invalid.sub("\ufffd", text)


def test_markup_and_carriage_returns_are_escaped():
    assert escape_text("a<b>&c\rd") == "a&lt;b&gt;&amp;c&#13;d"
    assert escape_text("arn:aws:iam::000000000000:root") == "arn:aws:iam::000000000000:root"
