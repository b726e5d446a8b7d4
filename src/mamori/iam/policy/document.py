"""Parsing, validation and compilation of policy documents.

``parse_policy(document, kind)`` validates a document the way AWS's policy grammar does (IAM UG,
"Grammar of the IAM JSON policy language") and compiles it for fast evaluation: wildcards become
cached regexes, statements are split by effect and indexed by the service prefix of their actions,
conditions become :class:`~mamori.iam.policy.conditions.Condition` objects. Compiled policies are
kept in an LRU keyed by ``(kind, text)``, so a policy seen before costs no parsing.

Validation order follows AWS: structural ("Syntax errors in policy.") problems first, then the
principal rules of the policy kind, statement IDs, actions, resources, principals' values, and
last the values AWS's legacy parser rejects ("The policy failed legacy parsing").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache

from mamori.iam.policy import errors as E
from mamori.iam.policy.conditions import (
    OPERATORS,
    check_condition_syntax,
    compile_conditions,
)
from mamori.iam.policy.errors import MalformedPolicy
from mamori.iam.policy.matching import glob_regex, has_wildcard, resource_regex
from mamori.iam.policy.variables import has_variables, parse_template, resolve

KINDS = ("identity", "resource", "trust", "boundary", "session", "scp")
_PRINCIPAL_KINDS = frozenset({"resource", "trust"})
_IAM_KINDS = frozenset({"identity", "boundary", "trust", "session"})
_TOP_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
VERSIONS = frozenset({"2008-10-17", "2012-10-17"})
_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_IAM_RESOURCE_PREFIXES = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
_VENDOR_RE = re.compile(r"^[A-Za-z0-9*?_.-]+$")
_SID_RE = re.compile(r"^[0-9A-Za-z]*$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_PRINCIPAL_ARN_RE = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):"
    r"(?:iam::(\d{12}):(root|user/.+|role/.+)|sts::(\d{12}):(assumed-role/[^/]+/.+|federated-user/.+))$"
)
_UNIQUE_ID_RE = re.compile(r"^A[A-Z]{3}[A-Z0-9]{12,124}$")

# How a resource-based policy's Principal names the caller (higher is more direct).
NO_MATCH = 0
MATCH_ACCOUNT = 1  # the caller's account (root ARN or bare account ID): IAM policies decide
MATCH_ROLE = 2  # the role ARN of a role session (or the IAM user behind a federated session)
MATCH_DIRECT = 3  # the caller itself: its ARN, its session ARN, "*", its service principal


class PrincipalSpec:
    """A compiled ``Principal``/``NotPrincipal`` element."""

    __slots__ = ("accounts", "arns", "canonical", "federated", "services", "unique_ids", "wildcard")

    def __init__(self, value: object) -> None:
        self.wildcard = False
        self.arns: frozenset[str] = frozenset()
        self.accounts: frozenset[str] = frozenset()
        self.services: frozenset[str] = frozenset()
        self.federated: frozenset[str] = frozenset()
        self.canonical: frozenset[str] = frozenset()
        self.unique_ids: frozenset[str] = frozenset()
        if isinstance(value, str):
            if value != "*":
                raise MalformedPolicy(E.INVALID_PRINCIPAL)
            self.wildcard = True
            return
        assert isinstance(value, dict)
        arns: set[str] = set()
        accounts: set[str] = set()
        ids: set[str] = set()
        for key, raw in value.items():
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise MalformedPolicy(E.INVALID_PRINCIPAL)
            if key == "AWS":
                for item in items:
                    if item == "*":
                        self.wildcard = True
                    elif _ACCOUNT_RE.match(item):
                        accounts.add(item)
                    elif (m := _PRINCIPAL_ARN_RE.match(item)) is not None:
                        if has_wildcard(item):
                            raise MalformedPolicy(E.INVALID_PRINCIPAL)
                        if m.group(3) == "root":
                            accounts.add(m.group(2))
                        else:
                            arns.add(item)
                    elif _UNIQUE_ID_RE.match(item):
                        ids.add(item)
                    else:
                        raise MalformedPolicy(E.INVALID_PRINCIPAL)
            elif key == "Service":
                if any(not item or " " in item for item in items):
                    raise MalformedPolicy(E.INVALID_PRINCIPAL)
                if "*" in items:
                    self.wildcard = True
                self.services = frozenset(item.lower() for item in items)
            elif key == "Federated":
                if any(not item for item in items):
                    raise MalformedPolicy(E.INVALID_PRINCIPAL)
                self.federated = frozenset(items)
            elif key == "CanonicalUser":
                if any(not item for item in items):
                    raise MalformedPolicy(E.INVALID_PRINCIPAL)
                self.canonical = frozenset(items)
            else:
                raise MalformedPolicy(E.INVALID_PRINCIPAL)
        self.arns = frozenset(arns)
        self.accounts = frozenset(accounts)
        self.unique_ids = frozenset(ids)

    def level(self, facts, ctx: Mapping[str, object]) -> int:
        """How directly this element names the caller (``NO_MATCH`` ... ``MATCH_DIRECT``)."""
        if self.wildcard:
            return MATCH_DIRECT
        ptype = facts.principal_type
        service = facts.service_principal
        if service and (service.lower() in self.services or service in self.federated):
            return MATCH_DIRECT
        if ptype == "AWSService" or ptype == "Anonymous":
            return NO_MATCH
        if facts.principal_arn in self.arns or facts.principal_arn in self.federated:
            return MATCH_DIRECT
        if self._lists_unique_id(ctx):
            return MATCH_ROLE if ptype in ("AssumedRole", "FederatedUser") else MATCH_DIRECT
        if facts.role_arn and facts.role_arn in self.arns:
            return MATCH_ROLE
        if facts.principal_account in self.accounts:
            return MATCH_ACCOUNT
        return NO_MATCH

    def _lists_unique_id(self, ctx: Mapping[str, object]) -> bool:
        """Whether the caller's unique ID (a user's, or the role's of a role session) is listed:
        IAM stores a named user or role as its unique ID (see ``mamori.iam.principal_binding``).
        """
        if not self.unique_ids:
            return False
        userid = ctx.get("aws:userid")
        return bool(userid) and str(userid).split(":", 1)[0] in self.unique_ids

    def excludes(self, facts, ctx: Mapping[str, object]) -> bool:
        """Whether a ``NotPrincipal`` holding this element leaves the caller out.

        AWS may check the account, then the role, then the session (IAM UG, "NotPrincipal"):
        the caller is left out only when every layer of its identity is listed.
        """
        if self.wildcard:
            return True
        ptype = facts.principal_type
        if ptype == "AWSService":
            return bool(facts.service_principal) and facts.service_principal.lower() in (
                self.services
            )
        if ptype == "Anonymous":
            return False
        account_listed = facts.principal_account in self.accounts
        if ptype == "Root":
            return account_listed
        if not account_listed:
            return False
        if ptype == "AssumedRole":
            role_listed = (
                not facts.role_arn or facts.role_arn in self.arns or self._lists_unique_id(ctx)
            )
            return facts.principal_arn in self.arns and role_listed
        if ptype == "IAMUser":
            return facts.principal_arn in self.arns or self._lists_unique_id(ctx)
        return facts.principal_arn in self.arns


class _ActionMatcher:
    __slots__ = ("everything", "exact", "pattern_texts", "patterns")

    def __init__(self, actions: list[str]) -> None:
        self.everything = False
        exact: set[str] = set()
        texts: list[str] = []
        for action in actions:
            low = action.lower()
            if low == "*":
                self.everything = True
            elif has_wildcard(low):
                texts.append(low)
            else:
                exact.add(low)
        self.exact = frozenset(exact)
        self.pattern_texts = tuple(texts)
        self.patterns = tuple(glob_regex(t) for t in texts)

    def match(self, action: str) -> bool:
        if self.everything or action in self.exact:
            return True
        return any(p.fullmatch(action) is not None for p in self.patterns)


class _ResourceMatcher:
    __slots__ = ("everything", "exact", "patterns", "templates")

    def __init__(self, resources: list[str], allow_variables: bool) -> None:
        self.everything = False
        exact: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        templates: list[tuple] = []
        for res in resources:
            if res == "*":
                self.everything = True
            elif allow_variables and has_variables(res):
                templates.append(parse_template(res))
            elif has_wildcard(res):
                patterns.append(resource_regex(((res, False),)))
            else:
                exact.add(res)
        self.exact = frozenset(exact)
        self.patterns = tuple(patterns)
        self.templates = tuple(templates)

    def match(self, resource: str, ctx: Mapping[str, object]) -> bool:
        if self.everything or resource in self.exact:
            return True
        for p in self.patterns:
            if p.fullmatch(resource) is not None:
                return True
        for tpl in self.templates:
            segs = resolve(tpl, ctx)
            if segs is not None and resource_regex(segs).fullmatch(resource) is not None:
                return True
        return False


class Statement:
    """One compiled statement."""

    __slots__ = (
        "actions",
        "allow",
        "conditions",
        "not_action",
        "not_principal",
        "not_resource",
        "principal",
        "resources",
        "sid",
    )

    def __init__(self, raw: dict, allow_variables: bool) -> None:
        self.sid: str | None = raw.get("Sid")
        self.allow = raw["Effect"] == "Allow"
        self.not_action = "NotAction" in raw
        self.actions = _ActionMatcher(
            _as_list(raw.get("NotAction" if self.not_action else "Action"))
        )
        self.not_resource = "NotResource" in raw
        res = raw.get("NotResource" if self.not_resource else "Resource")
        self.resources = None if res is None else _ResourceMatcher(_as_list(res), allow_variables)
        self.not_principal = "NotPrincipal" in raw
        pr = raw.get("NotPrincipal" if self.not_principal else "Principal")
        self.principal = None if pr is None else PrincipalSpec(pr)
        cond = raw.get("Condition")
        self.conditions = () if cond is None else compile_conditions(cond, allow_variables)

    def matches_action(self, action: str) -> bool:
        """Whether the Action/NotAction element covers ``action`` (lower-case)."""
        return self.actions.match(action) != self.not_action

    def matches_rest(self, resource: str, ctx: Mapping[str, object]) -> bool:
        """Resource/NotResource and conditions match (action and principal checked apart)."""
        res = self.resources
        if res is not None and res.match(resource, ctx) == self.not_resource:
            return False
        for cond in self.conditions:  # noqa: SIM110 - a plain loop is faster on the hot path
            if not cond.evaluate(ctx):
                return False
        return True

    def matches_resource(self, resource: str, ctx: Mapping[str, object]) -> bool:
        """Whether the Resource/NotResource element covers ``resource``."""
        res = self.resources
        return res is None or res.match(resource, ctx) != self.not_resource

    def applies(self, action: str, resource: str, ctx: Mapping[str, object]) -> bool:
        """Action, resource and conditions match (the principal is checked separately)."""
        return self.matches_action(action) and self.matches_rest(resource, ctx)

    def principal_level(self, facts, ctx: Mapping[str, object]) -> int:
        if self.principal is None:
            return MATCH_DIRECT
        if self.not_principal:
            return NO_MATCH if self.principal.excludes(facts, ctx) else MATCH_DIRECT
        return self.principal.level(facts, ctx)

    def service_keys(self) -> tuple[str, ...] | None:
        """Service prefixes this statement can apply to, or ``None`` for any service."""
        if self.not_action or self.actions.everything:
            return None
        keys: set[str] = set()
        for exact in self.actions.exact:
            keys.add(exact.split(":", 1)[0])
        for text in self.actions.pattern_texts:
            vendor = text.split(":", 1)[0]
            if has_wildcard(vendor):
                return None
            keys.add(vendor)
        return tuple(keys)


class Policy:
    """A parsed, validated and compiled policy document."""

    __slots__ = (
        "_any",
        "_by_action",
        "_by_service",
        "_cache",
        "document",
        "kind",
        "statements",
        "text",
        "version",
    )

    def __init__(self, kind: str, text: str, document: dict, statements: tuple[Statement, ...]):
        self.kind = kind
        self.text = text
        self.document = document
        self.version: str | None = document.get("Version")
        self.statements = statements
        by_service: dict[str, list[Statement]] = {}
        anyservice: list[Statement] = []
        for st in statements:
            keys = st.service_keys()
            if keys is None:
                anyservice.append(st)
            else:
                for key in keys:
                    by_service.setdefault(key, []).append(st)
        self._by_service = by_service
        self._any = tuple(anyservice)
        self._cache: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}
        self._by_action: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}

    def __repr__(self) -> str:
        return f"Policy(kind={self.kind!r}, statements={len(self.statements)})"

    def candidates(self, service: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(deny statements, allow statements) that may apply to an action of ``service``."""
        hit = self._cache.get(service)
        if hit is None:
            specific = self._by_service.get(service, ())
            merged = [st for st in self.statements if st in specific or st in self._any]
            denies = tuple(st for st in merged if not st.allow)
            allows = tuple(st for st in merged if st.allow)
            hit = (denies, allows)
            if len(self._cache) < 512:
                self._cache[service] = hit
        return hit

    def for_action(self, action: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(deny statements, allow statements) whose action element covers ``action``
        (lower-case); memoised per action."""
        hit = self._by_action.get(action)
        if hit is None:
            denies, allows = self.candidates(action.split(":", 1)[0])
            hit = (
                tuple(st for st in denies if st.matches_action(action)),
                tuple(st for st in allows if st.matches_action(action)),
            )
            if len(self._by_action) < 4096:
                self._by_action[action] = hit
        return hit


class PolicyGroup:
    """Several policies of one kind (a principal's identity policies, one SCP level) merged so
    that finding the statements for an action is one memoised lookup."""

    __slots__ = ("_by_action", "policies")

    def __init__(self, policies: tuple[Policy, ...]) -> None:
        self.policies = policies
        self._by_action: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}

    def for_action(self, action: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        hit = self._by_action.get(action)
        if hit is None:
            denies: list[Statement] = []
            allows: list[Statement] = []
            for p in self.policies:
                d, a = p.for_action(action)
                denies.extend(d)
                allows.extend(a)
            hit = (tuple(denies), tuple(allows))
            if len(self._by_action) < 4096:
                self._by_action[action] = hit
        return hit


_GROUPS: dict[tuple[Policy, ...], PolicyGroup] = {}


def policy_group(policies: tuple[Policy, ...]) -> PolicyGroup:
    """The (cached) :class:`PolicyGroup` of these exact policy objects."""
    group = _GROUPS.get(policies)
    if group is None:
        if len(_GROUPS) >= 2048:
            _GROUPS.clear()
        group = _GROUPS[policies] = PolicyGroup(policies)
    return group


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]  # type: ignore[list-item]


def _str_or_str_list(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_operator_name(name: str) -> None:
    base = name
    if ":" in name:
        prefix, _, base = name.partition(":")
        if prefix not in ("ForAnyValue", "ForAllValues"):
            raise MalformedPolicy(E.SYNTAX_ERRORS)
    if base.endswith("IfExists") and base != "NullIfExists":
        base = base[: -len("IfExists")]
    if base not in OPERATORS:
        raise MalformedPolicy(E.SYNTAX_ERRORS)


def _check_statement_syntax(st: object, kind: str, legacy: list[str]) -> None:
    if not isinstance(st, dict):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    for key in st:
        if key not in _STATEMENT_FIELDS:
            raise MalformedPolicy(E.unknown_field(key) if kind == "resource" else E.SYNTAX_ERRORS)
    if "Sid" in st and not isinstance(st["Sid"], str):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    effect = st.get("Effect")
    if not isinstance(effect, str):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    if effect not in ("Allow", "Deny"):
        if effect.lower() in ("allow", "deny"):
            legacy.append(E.LEGACY_PARSING)
        elif kind == "resource":
            raise MalformedPolicy(E.invalid_effect(effect))
        else:
            raise MalformedPolicy(E.SYNTAX_ERRORS)
    for a, b in (
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ):
        if a in st and b in st:
            raise MalformedPolicy(E.SYNTAX_ERRORS)
    for field in ("Action", "NotAction", "Resource", "NotResource"):
        if field in st and not _str_or_str_list(st[field]):
            raise MalformedPolicy(E.SYNTAX_ERRORS)
    for field in ("Principal", "NotPrincipal"):
        if field in st:
            value = st[field]
            if isinstance(value, dict):
                if not all(_str_or_str_list(v) for v in value.values()):
                    raise MalformedPolicy(E.SYNTAX_ERRORS)
            elif not isinstance(value, str):
                raise MalformedPolicy(E.SYNTAX_ERRORS)
    if "Condition" in st:
        check_condition_syntax(st["Condition"])
        for op, body in st["Condition"].items():
            if body:
                _check_operator_name(op)


def _check_action(action: str, kind: str) -> None:
    if action == "*":
        if kind == "trust":
            raise MalformedPolicy(E.TRUST_ACTIONS)
        return
    colons = action.count(":")
    if colons == 0:
        raise MalformedPolicy(E.VENDOR_PREFIX)
    if colons > 1:
        raise MalformedPolicy(E.ONE_COLON)
    vendor = action.split(":", 1)[0]
    if not _VENDOR_RE.match(vendor):
        raise MalformedPolicy(E.vendor_invalid(vendor))
    if kind == "trust" and vendor.lower() != "sts":
        raise MalformedPolicy(E.TRUST_ACTIONS)


def _check_resource(resource: str, legacy: list[str]) -> None:
    if resource == "*":
        return
    if ":" not in resource:
        raise MalformedPolicy(E.resource_not_arn(resource))
    parts = resource.split(":", 5)
    partition = parts[1]
    if partition not in _PARTITIONS and not has_wildcard(partition):
        padded = ":".join(["arn", *parts[1:]] + ["*"] * (6 - len(parts)))
        raise MalformedPolicy(E.partition_invalid(partition, padded))
    if len(parts) == 2:
        raise MalformedPolicy(E.VENDOR_QUALIFIED)
    if len(parts) == 3:
        if not parts[2]:
            legacy.append(E.LEGACY_PARSING)
        return
    if len(parts) < 6:
        # A trailing "*" may expand over the missing segments ("arn:aws:kms:*").
        if not resource.endswith("*"):
            legacy.append(E.LEGACY_PARSING)
        return
    vendor, region, rest = parts[2], parts[3], parts[5]
    if vendor == "s3" and region:
        raise MalformedPolicy(E.resource_region(resource, iam=False))
    if vendor == "iam":
        if region:
            raise MalformedPolicy(E.resource_region(resource, iam=True))
        if not (rest.startswith(_IAM_RESOURCE_PREFIXES) or rest[:1] in ("*", "?", "$")):
            raise MalformedPolicy(E.IAM_RESOURCE_PATH)


def _build(kind: str, text: str) -> Policy:
    try:
        doc = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise MalformedPolicy(E.SYNTAX_ERRORS) from exc
    if not isinstance(doc, dict):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    for key in doc:
        if key not in _TOP_FIELDS:
            raise MalformedPolicy(E.unknown_field(key) if kind == "resource" else E.SYNTAX_ERRORS)
    version = doc.get("Version")
    if "Version" in doc and (not isinstance(version, str) or version not in VERSIONS):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    if "Statement" not in doc:
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    raw_statements = doc["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicy(E.SYNTAX_ERRORS)

    legacy: list[str] = []
    for st in raw_statements:
        _check_statement_syntax(st, kind, legacy)

    principal_kind = kind in _PRINCIPAL_KINDS
    for st in raw_statements:
        has_principal = "Principal" in st or "NotPrincipal" in st
        if has_principal and not principal_kind:
            raise MalformedPolicy(E.NO_PRINCIPAL_ALLOWED)
        if principal_kind and not has_principal:
            raise MalformedPolicy(E.MISSING_PRINCIPAL)

    seen_sids: set[str] = set()
    for st in raw_statements:
        sid = st.get("Sid")
        if sid is None:
            continue
        if kind in _IAM_KINDS and not _SID_RE.match(sid):
            raise MalformedPolicy(E.SID_ALNUM)
        if sid in seen_sids and sid != "":
            raise MalformedPolicy(E.DUPLICATE_SID)
        seen_sids.add(sid)

    for st in raw_statements:
        if not _as_list(st.get("Action", st.get("NotAction"))):
            raise MalformedPolicy(E.MISSING_ACTIONS)
    for st in raw_statements:
        for action in _as_list(st.get("Action", st.get("NotAction"))):
            _check_action(action, kind)

    for st in raw_statements:
        resources = st.get("Resource", st.get("NotResource"))
        if kind == "trust":
            if "Resource" in st or "NotResource" in st:
                raise MalformedPolicy(E.PROHIBITED_RESOURCE)
            continue
        if kind == "scp" and resources is None:
            continue
        if not _as_list(resources):
            raise MalformedPolicy(E.MISSING_RESOURCES)
    for st in raw_statements:
        for resource in _as_list(st.get("Resource", st.get("NotResource"))):
            _check_resource(resource, legacy)

    allow_variables = version == "2012-10-17"
    statements: list[Statement] = []
    for st in raw_statements:
        try:
            statements.append(Statement(st, allow_variables))
        except MalformedPolicy as exc:
            if exc.reason != E.LEGACY_PARSING:
                raise
            legacy.append(exc.reason)
    if legacy:
        raise MalformedPolicy(legacy[0])
    return Policy(kind, text, doc, tuple(statements))


@lru_cache(maxsize=4096)
def _parse_cached(kind: str, text: str) -> Policy:
    return _build(kind, text)


def parse_policy(document: str | bytes | Mapping, kind: str = "identity") -> Policy:
    """Validate and compile a policy document; raises :class:`MalformedPolicy`.

    ``kind`` is one of ``identity``, ``resource``, ``trust``, ``boundary``, ``session``, ``scp``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown policy kind {kind!r}; expected one of {', '.join(KINDS)}")
    if type(document) is str:  # the usual case (a stored policy), before any ABC check
        return _parse_cached(kind, document)
    if isinstance(document, (bytes, bytearray)):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPolicy(E.SYNTAX_ERRORS) from exc
    if isinstance(document, Mapping):
        try:
            document = json.dumps(document)
        except (TypeError, ValueError) as exc:
            raise MalformedPolicy(E.SYNTAX_ERRORS) from exc
    if not isinstance(document, str):
        raise MalformedPolicy(E.SYNTAX_ERRORS)
    return _parse_cached(kind, document)


def policy_cache_info():
    """Hit/miss statistics of the compiled-policy LRU."""
    return _parse_cached.cache_info()
