"""The form/query-string field parser must give exactly what ``urllib.parse.parse_qsl`` gives."""

from urllib.parse import parse_qsl, quote

from hypothesis import given
from hypothesis import strategies as st

from mamori.protocols.base import HttpRequest, parse_fields

_texts = st.text(alphabet=st.sampled_from("ab=&%+;.12 é"), max_size=40)


@given(_texts)
def test_same_fields_as_parse_qsl(text):
    assert parse_fields(text) == parse_qsl(text, keep_blank_values=True)


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6))
def test_encoded_fields_round_trip(pairs):
    text = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    assert parse_fields(text) == pairs


def test_request_form_reads_query_then_body():
    request = HttpRequest(
        method="POST",
        path="/",
        query_string="Action=A&X=1",
        body=b"Version=2011-06-15&X=2&Name=a%2Bb+c",
    )
    assert request.form == [
        ("Action", "A"),
        ("X", "1"),
        ("Version", "2011-06-15"),
        ("X", "2"),
        ("Name", "a+b c"),
    ]
    assert request.form_value("X") == "2"
    assert request.query == {"Action": ["A"], "X": ["1"]}
