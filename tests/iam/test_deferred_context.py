"""The request context is built only when a statement reads it, and reads the same either way."""

from __future__ import annotations

from mamori.iam.policy import PolicySet, RequestFacts, evaluate
from mamori.iam.policy.deferred import DeferredKeys
from tests.iam.helpers import ALICE, KEY, A, P, S


class CountingBuild:
    def __init__(self, keys: dict) -> None:
        self.keys = keys
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return dict(self.keys)


def test_deferred_keys_build_once_on_first_read_and_read_like_the_dict():
    build = CountingBuild({"aws:SourceIp": "10.0.0.1", "kms:KeyUsage": "ENCRYPT_DECRYPT"})
    keys = DeferredKeys(build)
    assert build.calls == 0
    assert "not built" in repr(keys)
    assert keys.get("aws:SourceIp") == "10.0.0.1"
    assert keys.get("missing", "default") == "default"
    assert keys["kms:KeyUsage"] == "ENCRYPT_DECRYPT"
    assert "aws:SourceIp" in keys and "missing" not in keys
    assert sorted(keys) == ["aws:SourceIp", "kms:KeyUsage"]
    assert len(keys) == 2
    assert dict(keys.items()) == build.keys
    assert keys == build.keys and dict(keys) == build.keys
    assert build.calls == 1


class ExplodingContext(DeferredKeys):
    """A context whose building fails the test: no statement may have needed it."""

    def __init__(self) -> None:
        super().__init__(self._fail)

    @staticmethod
    def _fail() -> dict:
        raise AssertionError("the request context was built though no statement reads it")


def _facts(context) -> RequestFacts:
    return RequestFacts(
        action="kms:Encrypt",
        resource=KEY,
        principal_arn=ALICE,
        principal_account=A,
        principal_type="IAMUser",
        context=context,
    )


def test_a_decision_without_conditions_never_builds_the_context():
    policies = PolicySet(identity=[P(S(action="kms:Encrypt", resource=KEY))])
    assert evaluate(_facts(ExplodingContext()), policies).allowed
    denied = PolicySet(identity=[P(S(action="kms:Decrypt", resource=KEY))])
    assert evaluate(_facts(ExplodingContext()), denied).reason == "no_allow_identity"


def test_a_condition_reads_the_deferred_context_with_its_keys_lower_cased():
    build = CountingBuild({"kms:EncryptionContext:Project": "alpha"})
    policy = P(
        S(
            action="kms:Encrypt",
            resource=KEY,
            condition={"StringEquals": {"kms:EncryptionContext:Project": "alpha"}},
        )
    )
    assert evaluate(_facts(DeferredKeys(build)), PolicySet(identity=[policy])).allowed
    assert build.calls == 1
    other = DeferredKeys(CountingBuild({"kms:EncryptionContext:Project": "beta"}))
    assert not evaluate(_facts(other), PolicySet(identity=[policy])).allowed


def test_a_policy_variable_reads_the_deferred_context():
    policy = P(S(action="kms:Encrypt", resource=f"arn:aws:kms:us-east-1:{A}:key/${{aws:username}}"))
    facts = RequestFacts(
        action="kms:Encrypt",
        resource=f"arn:aws:kms:us-east-1:{A}:key/alice",
        principal_arn=ALICE,
        principal_account=A,
        principal_type="IAMUser",
        context=DeferredKeys(dict),
    )
    assert evaluate(facts, PolicySet(identity=[policy])).allowed
