"""AWS Identity and Access Management.

``IamProvider`` is assembled from one mixin per family of operations; the domain logic lives
in :mod:`mamori.iam` (users, groups, roles, managed policies, passwords, MFA, identity
providers, the credential report, the policy simulator).
"""

from __future__ import annotations

from mamori.services.iam.ops_account import AccountOps
from mamori.services.iam.ops_federation import FederationOps
from mamori.services.iam.ops_groups import GroupOps
from mamori.services.iam.ops_policies import PolicyOps
from mamori.services.iam.ops_roles import RoleOps
from mamori.services.iam.ops_signin import SigninOps
from mamori.services.iam.ops_users import UserOps


class IamProvider(UserOps, GroupOps, RoleOps, PolicyOps, SigninOps, FederationOps, AccountOps):
    service_name = "iam"
