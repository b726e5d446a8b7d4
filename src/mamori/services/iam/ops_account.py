"""Account-wide IAM: aliases, the summary, authorization details, the credential report, and
the policy simulator."""

from __future__ import annotations

from typing import Any

from mamori.errors import AwsError
from mamori.iam.account import AccountAliases, summary_map
from mamori.iam.aws_managed import AWS_MANAGED
from mamori.iam.credential_report import CredentialReports
from mamori.iam.entities import (
    attached,
    boundary_shape,
    encode_document,
    name_of_arn,
    paginate,
    tag_list,
)
from mamori.iam.managed_policies import (
    Usage,
    default_document,
    public_policy,
    public_version,
    sorted_versions,
)
from mamori.iam.roles import public_instance_profile, public_role
from mamori.iam.simulation import Simulation, Source, context_from_entries, parse_input, simulate
from mamori.services.iam.base import Iam, IamBase


def _inline_list(entity: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"PolicyName": name, "PolicyDocument": encode_document(text)}
        for name, text in sorted((entity.get("InlinePolicies") or {}).items())
    ]


class AccountOps(IamBase):
    # Account aliases

    def create_account_alias(self, ctx, params):
        ctx.authorize("iam:CreateAccountAlias", "*")
        iam = self._write(ctx)
        AccountAliases(self.runtime.resources, iam.conn, ctx.account_id).create(
            params["AccountAlias"], ctx.now
        )
        return {}

    def delete_account_alias(self, ctx, params):
        ctx.authorize("iam:DeleteAccountAlias", "*")
        iam = self._write(ctx)
        AccountAliases(self.runtime.resources, iam.conn, ctx.account_id).delete(
            params["AccountAlias"], ctx.now
        )
        return {}

    def list_account_aliases(self, ctx, params):
        ctx.authorize("iam:ListAccountAliases", "*")
        with self._read(ctx) as iam:
            aliases = AccountAliases(self.runtime.resources, iam.conn, ctx.account_id).list()
        return paginate(aliases, params, "AccountAliases")

    # Summary

    def get_account_summary(self, ctx, params):
        ctx.authorize("iam:GetAccountSummary", "*")
        with self._read(ctx) as iam:
            users = iam.users.all()
            policies = iam.policies.all()
            devices = iam.mfa.all()
            root_keys = self.runtime.credentials.keys_of(iam.conn, ctx.account_id, ctx.account_id)
            counts = {
                "Users": len(users),
                "Groups": len(iam.groups.all()),
                "Roles": len(iam.roles.all()),
                "Policies": len(policies),
                "PolicyVersionsInUse": len(
                    Usage.of(self.runtime.resources, iam.conn, ctx.account_id).attachments
                ),
                "InstanceProfiles": len(iam.instance_profiles.all()),
                "MFADevices": len(devices),
                "MFADevicesInUse": sum(1 for d in devices if d.get("User")),
                "Providers": len(iam.oidc.all()) + len(iam.saml.all()),
                "ServerCertificates": 0,
                "AccountMFAEnabled": 0,
                "AccountAccessKeysPresent": int(bool(root_keys)),
                "AccountPasswordPresent": 0,
                "AccountSigningCertificatesPresent": 0,
            }
        return {"SummaryMap": summary_map(counts)}

    # GetAccountAuthorizationDetails

    def get_account_authorization_details(self, ctx, params):
        ctx.authorize("iam:GetAccountAuthorizationDetails", "*")
        wanted = set(
            params.get("Filter")
            or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
        )
        entries: list[tuple[str, dict]] = []
        with self._read(ctx) as iam:
            usage = Usage.of(self.runtime.resources, iam.conn, ctx.account_id)
            if "User" in wanted:
                entries += [("UserDetailList", self._user_detail(u)) for u in usage.users]
            if "Group" in wanted:
                entries += [("GroupDetailList", self._group_detail(g)) for g in usage.groups]
            if "Role" in wanted:
                entries += [("RoleDetailList", self._role_detail(iam, r)) for r in usage.roles]
            if "AWSManagedPolicy" in wanted:
                used = sorted(
                    (
                        p
                        for arn, p in AWS_MANAGED.items()
                        if usage.attachments.get(arn) or usage.boundaries.get(arn)
                    ),
                    key=lambda p: p["PolicyName"].lower(),
                )
                entries += [("Policies", self._policy_detail(p, usage)) for p in used]
            if "LocalManagedPolicy" in wanted:
                entries += [("Policies", self._policy_detail(p, usage)) for p in iam.policies.all()]
        page = paginate(entries, params, "Entries")
        result: dict[str, Any] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
            "IsTruncated": page["IsTruncated"],
        }
        for key, item in page["Entries"]:
            result[key].append(item)
        if page.get("Marker"):
            result["Marker"] = page["Marker"]
        return result

    @staticmethod
    def _user_detail(user: dict) -> dict:
        detail = {k: user[k] for k in ("Path", "UserName", "UserId", "Arn", "CreateDate")}
        detail["UserPolicyList"] = _inline_list(user)
        detail["GroupList"] = list(user.get("Groups", []))
        detail["AttachedManagedPolicies"] = attached(user)
        if user.get("PermissionsBoundary"):
            detail["PermissionsBoundary"] = boundary_shape(user["PermissionsBoundary"])
        detail["Tags"] = tag_list(user.get("Tags"))
        return detail

    @staticmethod
    def _group_detail(group: dict) -> dict:
        detail = {k: group[k] for k in ("Path", "GroupName", "GroupId", "Arn", "CreateDate")}
        detail["GroupPolicyList"] = _inline_list(group)
        detail["AttachedManagedPolicies"] = attached(group)
        return detail

    @staticmethod
    def _role_detail(iam: Iam, role: dict) -> dict:
        detail = public_role(role, iam.principals)
        key = role["RoleName"].lower()
        detail["InstanceProfileList"] = [
            public_instance_profile(p, iam.roles)
            for p in iam.instance_profiles.all()
            if key in (r.lower() for r in p.get("Roles", []))
        ]
        detail["RolePolicyList"] = _inline_list(role)
        detail["AttachedManagedPolicies"] = attached(role)
        detail["Tags"] = tag_list(role.get("Tags"))
        detail.pop("Description", None)
        detail.pop("MaxSessionDuration", None)
        return detail

    @staticmethod
    def _policy_detail(policy: dict, usage: Usage) -> dict:
        detail = public_policy(policy, usage, with_tags=False)
        detail["PolicyVersionList"] = [
            public_version(policy, vid, with_document=True) for vid, _ in sorted_versions(policy)
        ]
        return detail

    # Credential report

    def generate_credential_report(self, ctx, params):
        ctx.authorize("iam:GenerateCredentialReport", "*")
        iam = self._write(ctx)
        state = CredentialReports(self.runtime, iam.conn, ctx.account_id).generate(ctx.now)
        return {"State": state, "Description": "Credential report generated."}

    def get_credential_report(self, ctx, params):
        ctx.authorize("iam:GetCredentialReport", "*")
        with self._read(ctx) as iam:
            report = CredentialReports(self.runtime, iam.conn, ctx.account_id).get(ctx.now)
        return {
            "Content": report["Content"].encode(),
            "ReportFormat": "text/csv",
            "GeneratedTime": report["GeneratedTime"],
        }

    # Policy simulator

    def _sources_of(self, iam: Iam, entity: dict, kind: str) -> list[Source]:
        sources: list[Source] = []
        for name, text in (entity.get("InlinePolicies") or {}).items():
            sources.append(Source(parse_input(text, "identity"), name, kind))
        for arn in entity.get("AttachedPolicies") or []:
            policy = iam.policies.resolve(arn)
            if policy is not None:
                sources.append(
                    Source(
                        parse_input(default_document(policy), "identity"),
                        arn,
                        "aws-managed" if policy.get("AwsManaged") else "user-managed",
                    )
                )
        return sources

    def _boundary_source(self, iam: Iam, arn: str | None) -> list[Source]:
        if not arn:
            return []
        policy = iam.policies.resolve(arn)
        if policy is None:
            return []
        return [Source(parse_input(default_document(policy), "boundary"), arn, "none")]

    @staticmethod
    def _inputs(params, key: str, kind: str, label: str) -> list[Source]:
        return [
            Source(parse_input(text, kind), f"{label}.{i}", "none")
            for i, text in enumerate(params.get(key) or [], start=1)
        ]

    def _finish(self, ctx, sim: Simulation, params) -> dict:
        if params.get("ResourcePolicy"):
            sim.resource_policy = Source(
                parse_input(params["ResourcePolicy"], "resource"), "ResourcePolicy", "resource"
            )
            owner = params.get("ResourceOwner")
            sim.resource_owner = owner.split(":")[4] if owner and ":" in owner else owner
        if params.get("CallerArn"):
            sim.principal_arn = params["CallerArn"]
        sim.context = context_from_entries(params.get("ContextEntries") or [])
        results = simulate(sim, params["ActionNames"], params.get("ResourceArns") or ["*"])
        return paginate(results, params, "EvaluationResults")

    def simulate_principal_policy(self, ctx, params):
        source_arn = params["PolicySourceArn"]
        ctx.authorize("iam:SimulatePrincipalPolicy", source_arn)
        parts = source_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] != ctx.account_id:
            raise AwsError("InvalidInputException", f"Invalid ARN: {source_arn}")
        kind = parts[5].split("/", 1)[0]
        name = name_of_arn(source_arn)
        with self._read(ctx) as iam:
            sim = Simulation(principal_arn=source_arn, principal_account=ctx.account_id)
            if kind == "user":
                user = iam.users.get(name)
                sim.identity = self._sources_of(iam, user, "user")
                for group_name in user.get("Groups", []):
                    group = iam.groups.find(group_name)
                    if group is not None:
                        sim.identity += self._sources_of(iam, group, "group")
                sim.boundary = self._boundary_source(iam, user.get("PermissionsBoundary"))
            elif kind == "role":
                role = iam.roles.get(name)
                sim.principal_type = "AssumedRole"
                sim.role_arn = role["Arn"]
                sim.principal_arn = (
                    f"arn:aws:sts::{ctx.account_id}:assumed-role/{role['RoleName']}/simulation"
                )
                sim.identity = self._sources_of(iam, role, "role")
                sim.boundary = self._boundary_source(iam, role.get("PermissionsBoundary"))
            elif kind == "group":
                group = iam.groups.get(name)
                sim.identity = self._sources_of(iam, group, "group")
            else:
                raise AwsError("InvalidInputException", f"Invalid ARN: {source_arn}")
        sim.identity += self._inputs(params, "PolicyInputList", "identity", "PolicyInputList")
        if params.get("PermissionsBoundaryPolicyInputList"):
            sim.boundary = self._inputs(
                params,
                "PermissionsBoundaryPolicyInputList",
                "boundary",
                "PermissionsBoundaryPolicyInputList",
            )
        return self._finish(ctx, sim, params)

    def simulate_custom_policy(self, ctx, params):
        ctx.authorize("iam:SimulateCustomPolicy", "*")
        sim = Simulation(
            principal_arn=f"arn:aws:iam::{ctx.account_id}:user/SimulatedUser",
            principal_account=ctx.account_id,
        )
        sim.identity = self._inputs(params, "PolicyInputList", "identity", "PolicyInputList")
        sim.boundary = self._inputs(
            params,
            "PermissionsBoundaryPolicyInputList",
            "boundary",
            "PermissionsBoundaryPolicyInputList",
        )
        return self._finish(ctx, sim, params)
