"""Condition operators, date parsing, variables and wildcard matching, tested on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mamori.iam.policy import MalformedPolicy
from mamori.iam.policy.conditions import OPERATORS, Condition, compile_conditions, parse_date
from mamori.iam.policy.matching import arn_like, glob_match, resource_match
from mamori.iam.policy.variables import parse_template, resolve


def cond(operator: str, key: str, values, variables: bool = True) -> Condition:
    if not isinstance(values, list):
        values = [values]
    return Condition(operator, key, [str(v) for v in values], variables)


def holds(operator, key, values, ctx) -> bool:
    return cond(operator, key, values).evaluate({k.lower(): v for k, v in ctx.items()})


# (operator, policy values, request value, expected)
PRESENT = [
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringNotEquals", "abc", "abd", True),
    ("StringNotEquals", ["a", "b"], "b", False),
    ("StringEqualsIgnoreCase", "abc", "ABC", True),
    ("StringNotEqualsIgnoreCase", "abc", "ABC", False),
    ("StringLike", "a*c", "abbbc", True),
    ("StringLike", "a?c", "abbc", False),
    ("StringLike", "a*", "A1", False),
    ("StringLike", "[ab]", "[ab]", True),
    ("StringNotLike", "a*", "b", True),
    ("NumericEquals", "5", 5, True),
    ("NumericEquals", "5", "5.00", True),
    ("NumericNotEquals", "5", 5, False),
    ("NumericLessThan", "5", 4.5, True),
    ("NumericLessThan", "5", 5, False),
    ("NumericLessThanEquals", "5", 5, True),
    ("NumericGreaterThan", "5", 6, True),
    ("NumericGreaterThanEquals", "5", 4, False),
    ("NumericEquals", "-1.5", "-1.5", True),
    ("DateEquals", "2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC), True),
    ("DateEquals", "2020-01-01T00:00:00Z", "1577836800", True),
    ("DateNotEquals", "2020-01-01", "2020-01-02", True),
    ("DateLessThan", "2020-01-01", datetime(2019, 12, 31, 23, 59, tzinfo=UTC), True),
    ("DateLessThanEquals", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC), False),
    ("DateGreaterThanEquals", "1577836800", datetime(2020, 1, 1, tzinfo=UTC), True),
    ("DateGreaterThan", "2020-01-01", datetime(2020, 1, 1, 1), True),  # naive = UTC
    ("DateLessThan", "2020-01-01", "not a date", False),
    ("Bool", "true", True, True),
    ("Bool", "true", "TRUE", True),
    ("Bool", "false", True, False),
    ("BinaryEquals", "AAEC", b"\x00\x01\x02", True),
    ("BinaryEquals", "AAEC", "AAEC", True),
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.1.2.3", False),
    ("IpAddress", "10.0.0.0/8", "garbage", False),
    ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", True),
    ("IpAddress", "2001:db8::/32", "2001:DB8::1", True),
    ("ArnEquals", "arn:aws:sns:*:111122223333:t", "arn:aws:sns:us-east-1:111122223333:t", True),
    ("ArnLike", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a:b:c", True),
    ("ArnLike", "arn:aws:s3:::b", "arn:aws:s3", False),
    ("ArnLike", "*", "arn:aws:s3:::b", True),
    ("ArnNotLike", "arn:aws:iam::*:role/admin*", "arn:aws:iam::1:role/dev", True),
    ("ArnNotEquals", "arn:aws:iam::*:role/admin*", "arn:aws:iam::1:role/admin1", False),
]


@pytest.mark.parametrize(("op", "values", "request_value", "expected"), PRESENT)
def test_operator_with_key_present(op, values, request_value, expected):
    assert holds(op, "k:v", values, {"k:v": request_value}) is expected


def _sample(op: str) -> str:
    if op.startswith("Numeric"):
        return "1"
    if op.startswith("Date"):
        return "2020-01-01"
    if op == "Bool":
        return "true"
    if op.startswith("Binary"):
        return "AAEC"
    if "IpAddress" in op:
        return "10.0.0.0/8"
    return "x"


NEGATED = {name for name, (_, _, negated) in OPERATORS.items() if negated}


@pytest.mark.parametrize("op", sorted(set(OPERATORS) - {"Null"}))
def test_missing_key(op):
    # IAM UG condition operators: absent key -> false, negated operators -> true,
    # ...IfExists -> true, ForAllValues -> true, ForAnyValue -> false.
    sample = _sample(op)
    assert holds(op, "k:v", sample, {}) is (op in NEGATED)
    assert holds(op + "IfExists", "k:v", sample, {}) is True
    assert holds("ForAllValues:" + op, "k:v", sample, {}) is True
    assert holds("ForAnyValue:" + op, "k:v", sample, {}) is False


def test_ifexists_with_key_present_tests_value():
    assert holds("StringEqualsIfExists", "k:v", "a", {"k:v": "b"}) is False
    assert holds("StringEqualsIfExists", "k:v", "a", {"k:v": "a"}) is True


def test_null():
    assert holds("Null", "k:v", "true", {}) is True
    assert holds("Null", "k:v", "true", {"k:v": "x"}) is False
    assert holds("Null", "k:v", "false", {"k:v": "x"}) is True
    assert holds("Null", "k:v", "false", {"k:v": None}) is False
    assert holds("Null", "k:v", "true", {"k:v": None}) is True


@pytest.mark.parametrize(
    ("op", "values", "request_values", "expected"),
    [
        ("ForAllValues:StringEquals", ["a", "b"], ["a"], True),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
        ("ForAllValues:StringEquals", ["a", "b"], [], True),
        ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
        ("ForAnyValue:StringEquals", ["a", "b"], ["c"], False),
        ("ForAnyValue:StringEquals", ["a", "b"], [], False),
        ("ForAllValues:StringLike", ["a*"], ["ab", "ac"], True),
        ("ForAllValues:StringNotEquals", ["x"], ["a", "b"], True),
        ("ForAllValues:StringNotEquals", ["x"], ["a", "x"], False),
        ("ForAnyValue:StringNotEquals", ["x"], ["x", "a"], True),
        ("ForAnyValue:StringNotEquals", ["x"], ["x"], False),
        ("ForAnyValue:NumericGreaterThan", ["10"], [1, 20], True),
        ("ForAllValues:IpAddress", ["10.0.0.0/8"], ["10.0.0.1", "10.9.9.9"], True),
        ("StringEquals", ["a"], ["b", "a"], True),
        ("StringNotEquals", ["a"], ["b", "a"], False),
    ],
)
def test_set_operators(op, values, request_values, expected):
    assert holds(op, "k:v", values, {"k:v": request_values}) is expected


def test_context_bool_and_int_as_strings():
    assert holds("StringEquals", "k:v", "true", {"k:v": True})
    assert holds("StringEquals", "k:v", "42", {"k:v": 42})


def test_unknown_operator_rejected():
    with pytest.raises(MalformedPolicy) as info:
        cond("StringEqualz", "k", "a")
    assert info.value.reason == "Syntax errors in policy."


def test_compile_conditions_block():
    conds = compile_conditions(
        {"StringEquals": {"a:x": ["1", 2], "a:y": True}, "DateGreaterThan": {}}, True
    )
    assert [(c.operator, c.key, c.raw_values) for c in conds] == [
        ("StringEquals", "a:x", ("1", "2")),
        ("StringEquals", "a:y", ("true",)),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020", datetime(2020, 1, 1, tzinfo=UTC)),  # W3C "YYYY"
        ("20200", datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=20200)),
        ("2020-02", datetime(2020, 2, 1, tzinfo=UTC)),
        ("2020-02-03", datetime(2020, 2, 3, tzinfo=UTC)),
        ("2020-02-03T04:05Z", datetime(2020, 2, 3, 4, 5, tzinfo=UTC)),
        ("2020-02-03T04:05:06Z", datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ("2020-02-03T04:05:06.5Z", datetime(2020, 2, 3, 4, 5, 6, 500000, tzinfo=UTC)),
        (
            "2020-02-03T04:05:06+02:00",
            datetime(2020, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2020-02-03T04:05:06-0130",
            datetime(2020, 2, 3, 4, 5, 6, tzinfo=timezone(-timedelta(hours=1, minutes=30))),
        ),
        ("1577836800", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == pytest.approx(expected.timestamp())


@pytest.mark.parametrize(
    "text", ["sdfdsf", "234-13", "2020-13-01", "2016-12-13t2:00:00.593194+1", "2020-01-01T25:00Z"]
)
def test_parse_date_invalid(text):
    assert parse_date(text) is None


# --- variables -----------------------------------------------------------------------------
def test_template_resolution():
    tpl = parse_template("home/${aws:username}/${*}${?}${$}/${aws:PrincipalTag/team, 'none'}")
    segs = resolve(tpl, {"aws:username": "alice"})
    assert "".join(t for t, _ in segs) == "home/alice/*?$/none"
    assert resolve(parse_template("${aws:username}"), {}) is None
    assert resolve(parse_template("${AWS:UserName}"), {"aws:username": "bob"})[0] == ("bob", True)


def test_variable_value_is_literal_in_like():
    c = cond("StringLike", "k:v", "${aws:PrincipalTag/p}")
    assert c.evaluate({"k:v": "a*", "aws:principaltag/p": "a*"})
    assert not c.evaluate({"k:v": "abc", "aws:principaltag/p": "a*"})


def test_variables_disabled_for_2008():
    c = cond("StringEquals", "k:v", "${aws:username}", variables=False)
    assert c.evaluate({"k:v": "${aws:username}", "aws:username": "alice"})
    assert not c.evaluate({"k:v": "alice", "aws:username": "alice"})


def test_variables_not_substituted_in_numeric():
    with pytest.raises(MalformedPolicy):
        cond("NumericEquals", "k:v", "${aws:x}")


def test_unresolved_variable_in_negated_operator():
    # The unresolvable value matches nothing, so "not equal to it" holds.
    assert cond("StringNotEquals", "k:v", "${aws:PrincipalTag/x}").evaluate({"k:v": "a"})


# --- matching ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "anything:at/all", True),
        ("arn:aws:s3:::b", "arn:aws:s3:::b", True),
        ("arn:aws:s3:::b", "arn:aws:s3:::B", False),
        ("arn:aws:kms:us-*-1:1:key/*", "arn:aws:kms:us-east-1:1:key/k", True),
        ("arn:aws:kms:u*1:1:key/*", "arn:aws:kms:us:x-1:1:key/k", False),  # mid-segment * stays
        ("arn:aws:kms:u?:1:key/*", "arn:aws:kms:u::1:key/k", False),  # ? is not a colon
        ("arn:aws:kms:*:1:key/*", "arn:aws:kms:us-east-1:1:key/k", True),
        ("arn:aws:kms:*", "arn:aws:kms:us-east-1:1:key/k", True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/:", True),
        ("arn:aws:s3:::b/a.b", "arn:aws:s3:::b/aXb", False),  # '.' is literal
        ("arn:aws:s3:::b/(x)", "arn:aws:s3:::b/(x)", True),
    ],
)
def test_resource_match(pattern, value, expected):
    assert resource_match(pattern, value) is expected


def test_glob_match_case():
    assert glob_match("kms:get*", "kms:getkeypolicy")
    assert not glob_match("KMS:Get*", "kms:getkeypolicy")
    assert glob_match("KMS:Get*", "kms:getkeypolicy", ignore_case=True)


def test_arn_like_segments():
    pat = (("arn:aws:someservice:*:111122223333:finance/*", False),)
    assert not arn_like(
        pat, "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/d"
    )
    assert arn_like(pat, "arn:aws:someservice:us-east-2:111122223333:finance/a:b")
