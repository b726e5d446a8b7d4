"""IAM's condition keys of a request (mamori.iam.condition_keys), on their own."""

from __future__ import annotations

from mamori.iam.condition_keys import iam_condition_keys

BOUNDARY = "arn:aws:iam::000000000000:policy/boundary"
OTHER = "arn:aws:iam::000000000000:policy/other"
USER = {
    "Arn": "arn:aws:iam::000000000000:user/team/alice",
    "Tags": {"team": "blue"},
    "PermissionsBoundary": BOUNDARY,
}


def test_tags_of_the_request():
    keys = iam_condition_keys(
        "iam:CreateRole",
        {"Tags": [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "x"}]},
        None,
    )
    assert keys == {
        "aws:RequestTag/team": "blue",
        "aws:RequestTag/env": "x",
        "aws:TagKeys": ["team", "env"],
    }
    assert iam_condition_keys("iam:UntagRole", {"TagKeys": ["team"]}, None) == {
        "aws:TagKeys": ["team"]
    }


def test_resource_tags_are_iam_resource_tags_only_for_users_and_roles():
    assert iam_condition_keys("iam:GetUser", None, USER) == {
        "aws:ResourceTag/team": "blue",
        "iam:ResourceTag/team": "blue",
    }
    profile = {"Arn": "arn:aws:iam::000000000000:instance-profile/web", "Tags": {"team": "blue"}}
    assert iam_condition_keys("iam:GetInstanceProfile", None, profile) == {
        "aws:ResourceTag/team": "blue"
    }


def test_permissions_boundary_requested_or_current():
    assert iam_condition_keys("iam:CreateUser", {"PermissionsBoundary": OTHER}, None) == {
        "iam:PermissionsBoundary": OTHER
    }
    put = iam_condition_keys("iam:PutUserPermissionsBoundary", {"PermissionsBoundary": OTHER}, USER)
    assert put["iam:PermissionsBoundary"] == OTHER
    for action in (
        "iam:PutUserPolicy",
        "iam:DetachUserPolicy",
        "iam:DeleteUserPermissionsBoundary",
    ):
        assert iam_condition_keys(action, {}, USER)["iam:PermissionsBoundary"] == BOUNDARY
    assert "iam:PermissionsBoundary" not in iam_condition_keys("iam:GetUser", {}, USER)


def test_policy_arn_only_for_attach_and_detach():
    params = {"PolicyArn": OTHER}
    assert iam_condition_keys("iam:AttachGroupPolicy", params, None) == {"iam:PolicyARN": OTHER}
    assert iam_condition_keys("iam:GetPolicy", params, None) == {}
