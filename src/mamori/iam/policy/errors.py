"""``MalformedPolicy`` and the reason texts AWS returns with MalformedPolicyDocument."""

from __future__ import annotations

SYNTAX_ERRORS = "Syntax errors in policy."
LEGACY_PARSING = "The policy failed legacy parsing"
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
MISSING_ACTIONS = "Policy statement must contain actions."
MISSING_RESOURCES = "Policy statement must contain resources."
INVALID_PRINCIPAL = "Invalid principal in policy"
VENDOR_PREFIX = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
SID_ALNUM = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
PROHIBITED_RESOURCE = "Has prohibited field Resource"
TRUST_ACTIONS = (
    "Trust Policy statement actions can only be sts:AssumeRole, "
    "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
)
VERSION_2012 = "Policy document must be version 2012-10-17 or greater."
VENDOR_QUALIFIED = "Resource vendor must be fully qualified and cannot contain regexes."
IAM_RESOURCE_PATH = (
    'IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, '
    "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, "
    "oidc-provider/, report/, access-report/."
)


def unknown_field(name: str) -> str:
    return f"Unknown field {name}"


def invalid_effect(value: str) -> str:
    return f"Invalid effect: {value}"


def vendor_invalid(vendor: str) -> str:
    return f"Vendor {vendor} is not valid"


def resource_not_arn(resource: str) -> str:
    return f'Resource {resource} must be in ARN format or "*".'


def partition_invalid(partition: str, padded: str) -> str:
    return f'Partition "{partition}" is not valid for resource "{padded}".'


def resource_region(resource: str, iam: bool) -> str:
    if iam:
        return f"IAM resource {resource} cannot contain region information."
    return f"Resource {resource} can not contain region information."


class MalformedPolicy(Exception):
    """A policy document AWS would refuse; ``reason`` is AWS's message text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
