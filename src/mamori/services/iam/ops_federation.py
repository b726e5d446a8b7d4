"""Identity providers: OpenID Connect and SAML."""

from __future__ import annotations

from mamori.errors import AwsError
from mamori.iam.entities import paginate, tag_list
from mamori.iam.oidc import (
    check_client_ids,
    check_thumbprints,
    public_oidc_provider,
    stored_url,
)
from mamori.iam.saml import public_saml_provider
from mamori.services.iam.base import IamBase


class FederationOps(IamBase):
    # OpenID Connect

    def create_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        arn = iam.oidc.arn(stored_url(params["Url"]))
        self._authorize(ctx, "iam:CreateOpenIDConnectProvider", arn, params)
        provider = iam.oidc.create(
            params["Url"],
            params.get("ClientIDList", []),
            params.get("ThumbprintList", []),
            iam.oidc.tag_rules.check(params.get("Tags", [])),
            ctx.now,
        )
        result = {"OpenIDConnectProviderArn": provider["Arn"]}
        if provider["Tags"]:
            result["Tags"] = tag_list(provider["Tags"])
        return result

    def _oidc(self, ctx, iam, arn: str, action: str, params=None) -> dict:
        self._authorize(ctx, action, arn, params, iam.oidc.find(arn))
        return iam.oidc.get(arn)

    def get_open_id_connect_provider(self, ctx, params):
        with self._read(ctx) as iam:
            provider = self._oidc(
                ctx, iam, params["OpenIDConnectProviderArn"], "iam:GetOpenIDConnectProvider"
            )
        return public_oidc_provider(provider)

    def list_open_id_connect_providers(self, ctx, params):
        ctx.authorize("iam:ListOpenIDConnectProviders", self._arn(ctx, "oidc-provider/"))
        with self._read(ctx) as iam:
            providers = iam.oidc.all()
        return {"OpenIDConnectProviderList": [{"Arn": p["Arn"]} for p in providers]}

    def delete_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx, iam, params["OpenIDConnectProviderArn"], "iam:DeleteOpenIDConnectProvider"
        )
        iam.oidc.delete(provider, ctx.now)
        return {}

    def add_client_id_to_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx,
            iam,
            params["OpenIDConnectProviderArn"],
            "iam:AddClientIDToOpenIDConnectProvider",
        )
        ids = check_client_ids([*provider["ClientIDList"], params["ClientID"]])
        iam.oidc.save({**provider, "ClientIDList": ids}, ctx.now)
        return {}

    def remove_client_id_from_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx,
            iam,
            params["OpenIDConnectProviderArn"],
            "iam:RemoveClientIDFromOpenIDConnectProvider",
        )
        ids = [c for c in provider["ClientIDList"] if c != params["ClientID"]]
        iam.oidc.save({**provider, "ClientIDList": ids}, ctx.now)
        return {}

    def update_open_id_connect_provider_thumbprint(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx,
            iam,
            params["OpenIDConnectProviderArn"],
            "iam:UpdateOpenIDConnectProviderThumbprint",
        )
        thumbprints = check_thumbprints(params["ThumbprintList"])
        iam.oidc.save({**provider, "ThumbprintList": thumbprints}, ctx.now)
        return {}

    def tag_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx, iam, params["OpenIDConnectProviderArn"], "iam:TagOpenIDConnectProvider", params
        )
        tags = iam.oidc.tag_rules.merge(provider.get("Tags") or {}, params["Tags"])
        iam.oidc.save({**provider, "Tags": tags}, ctx.now)
        return {}

    def untag_open_id_connect_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._oidc(
            ctx, iam, params["OpenIDConnectProviderArn"], "iam:UntagOpenIDConnectProvider", params
        )
        tags = iam.oidc.tag_rules.remove(provider.get("Tags") or {}, params["TagKeys"])
        iam.oidc.save({**provider, "Tags": tags}, ctx.now)
        return {}

    def list_open_id_connect_provider_tags(self, ctx, params):
        with self._read(ctx) as iam:
            provider = self._oidc(
                ctx, iam, params["OpenIDConnectProviderArn"], "iam:ListOpenIDConnectProviderTags"
            )
        return paginate(tag_list(provider.get("Tags")), params, "Tags")

    # SAML

    def create_saml_provider(self, ctx, params):
        iam = self._write(ctx)
        self._authorize(ctx, "iam:CreateSAMLProvider", iam.saml.arn(params["Name"]), params)
        provider = iam.saml.create(
            params["Name"],
            params["SAMLMetadataDocument"],
            iam.saml.tag_rules.check(params.get("Tags", [])),
            ctx.now,
        )
        result = {"SAMLProviderArn": provider["Arn"]}
        if provider["Tags"]:
            result["Tags"] = tag_list(provider["Tags"])
        return result

    def _saml(self, ctx, iam, arn: str, action: str, params=None) -> dict:
        self._authorize(ctx, action, arn, params, iam.saml.find(arn))
        return iam.saml.get(arn)

    def get_saml_provider(self, ctx, params):
        with self._read(ctx) as iam:
            provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:GetSAMLProvider")
        return public_saml_provider(provider)

    def list_saml_providers(self, ctx, params):
        ctx.authorize("iam:ListSAMLProviders", self._arn(ctx, "saml-provider/"))
        with self._read(ctx) as iam:
            providers = iam.saml.all()
        entries = []
        for p in providers:
            entry = {"Arn": p["Arn"], "CreateDate": p["CreateDate"]}
            if p.get("ValidUntil"):
                entry["ValidUntil"] = p["ValidUntil"]
            entries.append(entry)
        return {"SAMLProviderList": entries}

    def update_saml_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:UpdateSAMLProvider")
        document = params.get("SAMLMetadataDocument")
        if not document:
            raise AwsError("InvalidInputException", "SAMLMetadataDocument is required.")
        iam.saml.update(provider, document, ctx.now)
        return {"SAMLProviderArn": provider["Arn"]}

    def delete_saml_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:DeleteSAMLProvider")
        iam.saml.delete(provider, ctx.now)
        return {}

    def tag_saml_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:TagSAMLProvider", params)
        tags = iam.saml.tag_rules.merge(provider.get("Tags") or {}, params["Tags"])
        iam.saml.save({**provider, "Tags": tags}, ctx.now)
        return {}

    def untag_saml_provider(self, ctx, params):
        iam = self._write(ctx)
        provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:UntagSAMLProvider", params)
        tags = iam.saml.tag_rules.remove(provider.get("Tags") or {}, params["TagKeys"])
        iam.saml.save({**provider, "Tags": tags}, ctx.now)
        return {}

    def list_saml_provider_tags(self, ctx, params):
        with self._read(ctx) as iam:
            provider = self._saml(ctx, iam, params["SAMLProviderArn"], "iam:ListSAMLProviderTags")
        return paginate(tag_list(provider.get("Tags")), params, "Tags")
