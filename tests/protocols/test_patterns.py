"""Model patterns (Java regexes) compile and match as AWS's services match them."""

from __future__ import annotations

import pytest

from mamori.protocols.patterns import compile_pattern, java_to_python
from mamori.protocols.validation import check
from mamori.service_models import SERVICES, service_model

TAG_KEY = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"


def model_patterns() -> set[tuple[str, str]]:
    found = set()
    for service in SERVICES:
        model = service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                found.add((service, pattern))
    return found


def test_every_pattern_of_every_served_model_compiles() -> None:
    broken = [(s, p) for s, p in sorted(model_patterns()) if compile_pattern(p) is None]
    assert broken == []


@pytest.mark.parametrize(
    ("value", "matches"),
    [("Costcenter", True), ("café 1:x/y=z+@-_.", True), ("a*b#c", False), ("<x>", False)],
)
def test_unicode_property_classes(value: str, matches: bool) -> None:
    assert (compile_pattern(TAG_KEY).fullmatch(value) is not None) is matches


def test_surrogate_pairs_are_supplementary_code_points() -> None:
    java = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*"
    assert java_to_python(java) == r"[\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF\t]*"
    compiled = compile_pattern(java)
    assert compiled.fullmatch("a\U0001f600b") is not None
    assert compiled.fullmatch("a\x01") is None


def test_iam_tag_key_pattern_is_checked() -> None:
    shape = service_model("iam").shape_for("tagKeyType")
    assert check(shape, "a*b#c") == [
        "Value 'a*b#c' at '' failed to satisfy constraint: Member must satisfy regular "
        rf"expression pattern: {TAG_KEY}"
    ]
