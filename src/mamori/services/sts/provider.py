"""AWS Security Token Service: who am I, and temporary credentials that really expire.

Every temporary credential is an ``ASIA…`` access key with a session token and an expiry from
the domain clock (:mod:`mamori.iam.sessions`); the gateway refuses it once the clock passes the
expiry. Access is decided by the policy engine only: ``AssumeRole`` evaluates the role's trust
policy as the resource policy of ``sts:AssumeRole`` on the role (the cross-account rule then
requires the caller's identity policies too), ``AssumeRoleWithWebIdentity`` and
``AssumeRoleWithSAML`` evaluate it for the OIDC or SAML provider as a ``Federated`` principal.

Notes on mamori's choices where AWS is opaque:

* ``GetAccessKeyInfo``: AWS decodes the account from the key id itself. mamori's key ids do not
  encode an account, so the key is looked up; a key mamori does not know answers with the
  caller's own account.
* ``PackedPolicySize`` is a percentage of a zlib-packed budget (see ``domain.PACKED_BUDGET``).
* ``AssumeRoleWithSAML``: the assertion's ``SessionDuration`` attribute caps the session like
  ``SessionNotOnOrAfter`` does (AWS documents the attribute for console sessions).
* Session policies given by ARN (``PolicyArns``) are the default versions of IAM managed
  policies (AWS managed ones, or customer managed ones of the role's account).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.iam.condition_keys import resource_tag_keys
from mamori.iam.policy import MalformedPolicy, PolicySet, RequestFacts, evaluate, parse_policy
from mamori.iam.principals import Principal, Session
from mamori.iam.sessions import issue_credentials, purge_expired
from mamori.services.registry import Provider
from mamori.services.sts import domain, saml, webidentity
from mamori.services.sts.authmessage import decode_authorization_message

PURGE_INTERVAL = timedelta(hours=1)
# Claims of a web identity token that carry session tags and a source identity (AWS's names).
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"
# Global condition keys that exist for an unsigned (web identity) request.
_REQUEST_KEYS = (
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:SourceIp",
    "aws:SecureTransport",
    "aws:RequestedRegion",
)


class StsProvider(Provider):
    service_name = "sts"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        self.jwks = webidentity.JwksCache()
        scheduler = getattr(runtime, "scheduler", None)
        if scheduler is not None:
            scheduler.every(
                "sts.purge-expired-sessions",
                PURGE_INTERVAL,
                lambda now: purge_expired(runtime.credentials, now),
            )

    # Identity

    def get_caller_identity(self, ctx, params):
        # AWS answers GetCallerIdentity for every valid credential; no permission is needed.
        principal = ctx.principal
        return {
            "UserId": principal.principal_id,
            "Account": principal.account_id,
            "Arn": principal.arn,
        }

    def get_access_key_info(self, ctx, params):
        ctx.authorize("sts:GetAccessKeyInfo")
        credential = self.runtime.credentials.lookup(params["AccessKeyId"])
        account = credential.principal.account_id if credential is not None else ctx.account_id
        return {"Account": account}

    def decode_authorization_message(self, ctx, params):
        ctx.authorize("sts:DecodeAuthorizationMessage")
        decoded = decode_authorization_message(
            self.runtime, ctx.account_id, params["EncodedMessage"]
        )
        return {"DecodedMessage": decoded}

    # Helpers

    @staticmethod
    def _role_account(role_arn: str) -> str:
        parsed = domain.parse_role_arn(role_arn)
        if parsed is None:
            raise domain.validation_error(f"{role_arn} is invalid")
        return parsed[0]

    def _role(self, conn, role_arn: str) -> tuple[str, dict | None]:
        """(account, role) for a role ARN; the role is None when it does not exist."""
        parsed = domain.parse_role_arn(role_arn)
        if parsed is None:
            raise domain.validation_error(f"{role_arn} is invalid")
        account, name = parsed
        try:
            from mamori.iam.roles import get_role
        except ImportError:  # IAM roles not available in this build
            return account, None
        role = get_role(self.runtime, conn, account, name)
        if role is None or role.get("Arn") != role_arn:
            return account, None
        return account, role

    @staticmethod
    def _trust_policy(role: dict):
        try:
            return parse_policy(role.get("AssumeRolePolicyDocument") or "", "trust")
        except MalformedPolicy:
            return None

    def _managed_policy_text(self, conn, account: str, arn: str) -> str:
        """The default version of a managed policy (AWS managed, or of ``account``)."""
        from mamori.iam.managed_policies import ManagedPolicies, default_document

        try:
            policy = ManagedPolicies(self.runtime.resources, conn, account).resolve(arn)
        except AwsError:
            policy = None
        if policy is None:
            raise domain.malformed(f"Policy {arn} does not exist or is not attachable.")
        return default_document(policy)

    def _session_policies(
        self, conn, account: str, params
    ) -> tuple[list[str], str | None, list[str]]:
        """(all session policy documents, the inline one, the managed ARNs); managed policies
        are looked up in ``account`` (the role's, or the federating user's)."""
        inline = domain.inline_session_policy(params.get("Policy"))
        arns = domain.managed_policy_arns(params.get("PolicyArns"))
        texts = [inline] if inline is not None else []
        texts.extend(self._managed_policy_text(conn, account, arn) for arn in arns)
        return texts, inline, arns

    def _verify_mfa(self, conn, caller: Principal, params, now) -> bool:
        """Whether the call proves MFA with a device of the caller's own (AWS: "the MFA device
        that is associated with the user who is making the call"); a device of anyone else
        fails as a wrong code does."""
        serial, code = params.get("SerialNumber"), params.get("TokenCode")
        if serial is None and code is None:
            return False
        if not serial or not code:
            raise domain.access_denied(
                "MultiFactorAuthentication failed, must provide both MFA serial number and one "
                "time pass code."
            )
        try:
            from mamori.iam.mfa import verify_mfa_code
        except ImportError:
            raise domain.access_denied(
                "MultiFactorAuthentication failed, unable to validate MFA code."
            ) from None
        # Only IAM users own virtual MFA devices (the root user's MFA is managed outside the
        # API; role and federated sessions have none).
        owner = caller.user_name if caller.type == "IAMUser" else None
        if not verify_mfa_code(
            self.runtime, conn, caller.account_id, serial, code, now, owner=owner
        ):
            raise domain.access_denied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code."
            )
        return True

    # AssumeRole

    def assume_role(self, ctx, params):
        caller = ctx.principal
        role_arn, session_name = params["RoleArn"], params["RoleSessionName"]
        if caller.is_root:
            raise domain.access_denied("Roles may not be assumed by root accounts.")
        denied = domain.access_denied(
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role_arn}"
        )
        domain.session_name_ok(session_name)
        role_account = self._role_account(role_arn)
        conn = ctx.transaction()
        texts, inline, arns = self._session_policies(conn, role_account, params)
        chaining = caller.type == "AssumedRole"
        parent = caller.session if chaining else None
        tags, transitive = domain.session_tags(
            params.get("Tags"),
            params.get("TransitiveTagKeys"),
            inherited=parent.tags if parent else None,
            inherited_transitive=parent.transitive_tag_keys if parent else (),
        )
        requested_tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        size = domain.packed_policy_size([inline] if inline else [], arns, requested_tags)
        domain.check_packed_size(size)
        source_identity = params.get("SourceIdentity")
        inherited_si = caller.session.source_identity if caller.session else None
        if inherited_si and source_identity and source_identity != inherited_si:
            raise domain.access_denied(
                "The source identity of the calling session can't be changed: it was set to "
                f"{inherited_si}."
            )
        source_identity = source_identity or inherited_si
        problem = domain.source_identity_problem(source_identity) if source_identity else None
        if problem is not None:
            raise domain.validation_error(problem)
        mfa = self._verify_mfa(conn, caller, params, ctx.now)

        account, role = self._role(conn, role_arn)
        trust = self._trust_policy(role) if role is not None else None
        if trust is None:
            raise denied
        context: dict[str, Any] = {"sts:RoleSessionName": session_name}
        context.update(resource_tag_keys(role))  # the role's tags (ABAC on AssumeRole)
        context.update(domain.tag_condition_keys(tags, transitive))
        if params.get("ExternalId") is not None:
            context["sts:ExternalId"] = params["ExternalId"]
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
        if mfa:
            context["aws:MultiFactorAuthPresent"] = True
            context["aws:MultiFactorAuthAge"] = 0
        check = {
            "context": context,
            "resource_policy": trust,
            "resource_account": account,
            "resource_policy_required": True,
        }
        ctx.authorize("sts:AssumeRole", role_arn, **check)
        if tags:
            ctx.authorize("sts:TagSession", role_arn, **check)
        if source_identity:
            ctx.authorize("sts:SetSourceIdentity", role_arn, **check)
        duration = domain.role_duration(
            params.get("DurationSeconds"), role.get("MaxSessionDuration"), chaining=chaining
        )

        now = ctx.now.replace(microsecond=0)
        session = Session(
            issued=now,
            expires=now + timedelta(seconds=duration),
            role_arn=role["Arn"],
            session_name=session_name,
            policies=tuple(texts),
            has_session_policy=bool(texts),
            tags=tags,
            transitive_tag_keys=transitive,
            source_identity=source_identity,
            mfa_authenticated=mfa,
            mfa_authenticated_at=now if mfa else None,
        )
        ctx.add_resource(role_arn, "AWS::IAM::Role")
        return self._role_session(
            conn, params, account, role, session, size if texts or requested_tags else None
        )

    # AssumeRoleWithWebIdentity (unsigned)

    async def assume_role_with_web_identity(self, ctx, params):
        role_arn, session_name = params["RoleArn"], params["RoleSessionName"]
        token = params["WebIdentityToken"]
        domain.session_name_ok(session_name)
        account = self._role_account(role_arn)
        unverified = webidentity.read_token(token)
        url = webidentity.provider_url(unverified.issuer)
        provider_arn = f"arn:aws:iam::{account}:oidc-provider/{url}"
        with self.runtime.store.connect() as conn:
            provider = self._oidc_provider(conn, account, provider_arn)
        if provider is None:
            raise webidentity.invalid_token(
                f"No OpenIDConnect provider found in your account for {unverified.issuer}"
            )
        await asyncio.to_thread(webidentity.verify_signature, token, unverified, self.jwks)
        claims = unverified.claims
        webidentity.check_time(claims, ctx.now)
        audience = webidentity.matched_audience(claims, list(provider.get("ClientIDList") or []))
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise webidentity.invalid_token("The ID Token provided is missing the sub claim.")
        # From here on the call is the token's subject's (CloudTrail's WebIdentityUser).
        ctx.principal = Principal(
            type="WebIdentityUser",
            account_id=account,
            arn="",
            principal_id=f"{url}:{audience}:{subject}",
            user_name=subject,
            identity_provider=url,
        )

        conn = ctx.transaction()
        texts, inline, arns = self._session_policies(conn, account, params)
        tags, transitive = self._token_tags(claims)
        size = domain.packed_policy_size([inline] if inline else [], arns, tags)
        domain.check_packed_size(size)
        source_identity = claims.get(SOURCE_IDENTITY_CLAIM)
        if source_identity is not None:
            if not isinstance(source_identity, str):
                raise webidentity.invalid_token("The source_identity claim must be a string.")
            problem = domain.source_identity_problem(source_identity)
            if problem is not None:
                raise webidentity.invalid_token(f"The source_identity claim is invalid: {problem}")

        _, role = self._role(conn, role_arn)
        trust = self._trust_policy(role) if role is not None else None
        keys = ctx.condition_keys()
        context: dict[str, Any] = {k: keys[k] for k in _REQUEST_KEYS if k in keys}
        if role is not None:
            context.update(resource_tag_keys(role))
        context.update(webidentity.condition_keys(url, claims, audience))
        context.update(domain.tag_condition_keys(tags, transitive))
        context["sts:RoleSessionName"] = session_name
        context["aws:FederatedProvider"] = provider_arn
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
        self._check_federated_trust(
            "sts:AssumeRoleWithWebIdentity",
            role_arn,
            account,
            provider_arn,
            trust,
            context,
            tags=bool(tags),
            source_identity=bool(source_identity),
        )
        duration = domain.role_duration(
            params.get("DurationSeconds"), role.get("MaxSessionDuration"), chaining=False
        )

        now = ctx.now.replace(microsecond=0)
        session = Session(
            issued=now,
            expires=now + timedelta(seconds=duration),
            role_arn=role["Arn"],
            session_name=session_name,
            policies=tuple(texts),
            has_session_policy=bool(texts),
            tags=tags,
            transitive_tag_keys=transitive,
            source_identity=source_identity,
            web_identity={
                "provider": provider_arn,
                "issuer": unverified.issuer,
                "aud": audience,
                "sub": subject,
            },
            federated_provider=provider_arn,
        )
        result = self._role_session(
            conn, params, account, role, session, size if texts or tags else None
        )
        result.update(
            SubjectFromWebIdentityToken=subject, Provider=unverified.issuer, Audience=audience
        )
        return result

    # AssumeRoleWithSAML (unsigned)

    def assume_role_with_saml(self, ctx, params):
        role_arn, provider_arn = params["RoleArn"], params["PrincipalArn"]
        account = self._role_account(role_arn)
        data = saml.decode(params["SAMLAssertion"])
        with self.runtime.store.connect() as conn:
            provider = self._saml_provider(conn, account, provider_arn)
        if provider is None:
            raise saml.invalid_token("Specified provider doesn't exist")
        idp = saml.identity_provider(provider["SAMLMetadataDocument"])
        assertion = saml.verify(data, idp)
        saml.check(assertion, idp, ctx.now)
        provider_name = provider["Name"]
        qualifier = saml.name_qualifier(assertion.issuer, account, provider_name)
        # From here on the call is the SAML subject's (CloudTrail's SAMLUser).
        ctx.principal = Principal(
            type="SAMLUser",
            account_id=account,
            arn="",
            principal_id=f"{qualifier}:{assertion.subject}",
            user_name=assertion.subject,
            identity_provider=qualifier,
        )
        denied = domain.access_denied("Not authorized to perform sts:AssumeRoleWithSAML")
        if (role_arn, provider_arn) not in saml.role_pairs(assertion):
            raise denied
        session_name = saml.session_name(assertion)
        requested_tags, requested_transitive = saml.principal_tags(assertion)
        try:
            tags, transitive = domain.session_tags(requested_tags, requested_transitive)
        except AwsError as error:
            raise saml.invalid_token(error.message) from None
        source_identity = assertion.single(saml.SOURCE_IDENTITY)
        if source_identity is not None:
            problem = domain.source_identity_problem(source_identity)
            if problem is not None:
                raise saml.invalid_token(f"SourceIdentity in AuthnResponse is invalid: {problem}")

        conn = ctx.transaction()
        texts, inline, arns = self._session_policies(conn, account, params)
        size = domain.packed_policy_size([inline] if inline else [], arns, tags)
        domain.check_packed_size(size)
        _, role = self._role(conn, role_arn)
        trust = self._trust_policy(role) if role is not None else None
        keys = ctx.condition_keys()
        context: dict[str, Any] = {k: keys[k] for k in _REQUEST_KEYS if k in keys}
        if role is not None:
            context.update(resource_tag_keys(role))
        context.update(saml.condition_keys(assertion, account, provider_name, qualifier))
        context.update(domain.tag_condition_keys(tags, transitive))
        context["sts:RoleSessionName"] = session_name
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
        self._check_federated_trust(
            "sts:AssumeRoleWithSAML",
            role_arn,
            account,
            provider_arn,
            trust,
            context,
            tags=bool(tags),
            source_identity=bool(source_identity),
        )
        now = ctx.now.replace(microsecond=0)
        expires = now + timedelta(
            seconds=domain.role_duration(
                params.get("DurationSeconds"), role.get("MaxSessionDuration"), chaining=False
            )
        )
        # DurationSeconds or SessionNotOnOrAfter, whichever ends first (the SessionDuration
        # attribute is for console sessions, not for these credentials).
        if assertion.session_not_on_or_after is not None:
            expires = min(expires, assertion.session_not_on_or_after.replace(microsecond=0))
        if expires <= now:
            raise saml.expired_token("Response has expired")

        session = Session(
            issued=now,
            expires=expires,
            role_arn=role["Arn"],
            session_name=session_name,
            policies=tuple(texts),
            has_session_policy=bool(texts),
            tags=tags,
            transitive_tag_keys=transitive,
            source_identity=source_identity,
        )
        ctx.add_resource(role_arn, "AWS::IAM::Role")
        ctx.add_resource(provider_arn, "AWS::IAM::SAMLProvider")
        result = self._role_session(
            conn, params, account, role, session, size if texts or tags else None
        )
        result.update(
            Subject=assertion.subject,
            SubjectType=assertion.subject_type,
            Issuer=assertion.issuer,
            Audience=assertion.recipient,
            NameQualifier=qualifier,
        )
        return result

    def _saml_provider(self, conn, account: str, arn: str) -> dict | None:
        try:
            from mamori.iam.saml import get_saml_provider
        except ImportError:
            return None
        return get_saml_provider(self.runtime, conn, account, arn)

    def _oidc_provider(self, conn, account: str, arn: str) -> dict | None:
        try:
            from mamori.iam.oidc import get_oidc_provider
        except ImportError:
            return None
        return get_oidc_provider(self.runtime, conn, account, arn)

    def _role_session(
        self, conn, params, account: str, role: dict, session: Session, packed_size: int | None
    ) -> dict[str, Any]:
        """Issue the credentials of an assumed-role ``session`` of ``role``: the answer's
        Credentials, AssumedRoleUser, PackedPolicySize (when not None) and SourceIdentity."""
        principal = Principal(
            type="AssumedRole",
            account_id=account,
            arn=domain.assumed_role_arn(account, role["RoleName"], session.session_name),
            principal_id=f"{role['RoleId']}:{session.session_name}",
            tags=dict(role.get("Tags") or {}),
            session=session,
        )
        credentials = issue_credentials(
            self.runtime.credentials,
            conn,
            principal,
            min_token_size=params.get("MinimumSessionTokenSize"),
        )
        result: dict[str, Any] = {
            "Credentials": credentials,
            "AssumedRoleUser": {"AssumedRoleId": principal.principal_id, "Arn": principal.arn},
        }
        if packed_size is not None:
            result["PackedPolicySize"] = packed_size
        if session.source_identity:
            result["SourceIdentity"] = session.source_identity
        return result

    @classmethod
    def _check_federated_trust(
        cls, action, role_arn, account, provider_arn, trust, context, *, tags, source_identity
    ) -> None:
        """AccessDenied unless the trust policy lets the identity provider perform ``action``,
        and sts:TagSession / sts:SetSourceIdentity when the session gets tags / a source
        identity."""
        actions = [action]
        if tags:
            actions.append("sts:TagSession")
        if source_identity:
            actions.append("sts:SetSourceIdentity")
        for each in actions:
            if trust is None or not cls._federated_allowed(
                each, role_arn, account, provider_arn, trust, context
            ):
                raise domain.access_denied(f"Not authorized to perform {action}")

    @staticmethod
    def _federated_allowed(action, role_arn, account, provider_arn, trust, context) -> bool:
        """Whether the trust policy lets the identity provider (a ``Federated`` principal)
        perform ``action``: only the trust policy speaks for a web identity."""
        facts = RequestFacts(
            action=action,
            resource=role_arn,
            principal_arn=provider_arn,
            principal_account=account,
            principal_type="AWSService",
            service_principal=provider_arn,
            context=context,
        )
        return evaluate(facts, PolicySet(resource=trust, resource_account=account)).allowed

    @staticmethod
    def _token_tags(claims: dict) -> tuple[dict[str, str], tuple[str, ...]]:
        raw = claims.get(TAGS_CLAIM)
        if raw is None:
            return {}, ()
        if not isinstance(raw, dict):
            raise webidentity.invalid_token("The tags claim of the ID Token is malformed.")
        principal_tags = raw.get("principal_tags") or {}
        if not isinstance(principal_tags, dict):
            raise webidentity.invalid_token("The tags claim of the ID Token is malformed.")
        tags = []
        for key, value in principal_tags.items():
            values = value if isinstance(value, list) else [value]
            if len(values) != 1 or not isinstance(values[0], str):
                raise webidentity.invalid_token("The tags claim of the ID Token is malformed.")
            tags.append({"Key": str(key), "Value": values[0]})
        transitive = raw.get("transitive_tag_keys") or []
        if not isinstance(transitive, list):
            raise webidentity.invalid_token("The tags claim of the ID Token is malformed.")
        return domain.session_tags(tags, [str(k) for k in transitive])

    # GetSessionToken / GetFederationToken

    def get_session_token(self, ctx, params):
        # No permission is needed (AWS: "No permissions are required for users to perform this
        # operation"); session credentials may not call it (mamori.iam.session_limits).
        caller = ctx.principal
        duration = domain.token_duration(params.get("DurationSeconds"), root=caller.is_root)
        conn = ctx.transaction()
        mfa = self._verify_mfa(conn, caller, params, ctx.now)
        now = ctx.now.replace(microsecond=0)
        session = Session(
            issued=now,
            expires=now + timedelta(seconds=duration),
            mfa_authenticated=mfa,
            mfa_authenticated_at=now if mfa else None,
        )
        credentials = issue_credentials(
            self.runtime.credentials,
            conn,
            replace(caller, session=session),
            min_token_size=params.get("MinimumSessionTokenSize"),
        )
        return {"Credentials": credentials}

    def get_federation_token(self, ctx, params):
        caller = ctx.principal
        name = params["Name"]
        arn = domain.federated_user_arn(caller.account_id, name)
        conn = ctx.transaction()
        texts, inline, arns = self._session_policies(conn, caller.account_id, params)
        tags, _ = domain.session_tags(params.get("Tags"), None)
        size = domain.packed_policy_size([inline] if inline else [], arns, tags)
        domain.check_packed_size(size)
        context = domain.tag_condition_keys(tags, ())
        ctx.authorize("sts:GetFederationToken", arn, context)
        if tags:
            ctx.authorize("sts:TagSession", arn, context)
        duration = domain.token_duration(params.get("DurationSeconds"), root=caller.is_root)
        now = ctx.now.replace(microsecond=0)
        session = Session(
            issued=now,
            expires=now + timedelta(seconds=duration),
            role_arn=caller.arn,  # the federating user (its policies bound the session)
            session_name=name,
            policies=tuple(texts),
            has_session_policy=bool(texts),
            tags=tags,
        )
        principal = Principal(
            type="FederatedUser",
            account_id=caller.account_id,
            arn=arn,
            principal_id=f"{caller.account_id}:{name}",
            user_name=caller.user_name,
            tags=dict(caller.tags),
            session=session,
        )
        credentials = issue_credentials(
            self.runtime.credentials,
            conn,
            principal,
            min_token_size=params.get("MinimumSessionTokenSize"),
        )
        result: dict[str, Any] = {
            "Credentials": credentials,
            "FederatedUser": {"FederatedUserId": principal.principal_id, "Arn": arn},
        }
        if texts or tags:
            result["PackedPolicySize"] = size
        return result
