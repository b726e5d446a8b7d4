"""Console sign-in credentials: login profiles, the account password policy, ChangePassword,
and virtual MFA devices."""

from __future__ import annotations

from mamori.errors import AwsError
from mamori.iam.account import AccountAliases
from mamori.iam.entities import paginate, tag_list
from mamori.iam.mfa import MAX_DEVICES_PER_USER, public_mfa_device, public_virtual_device
from mamori.iam.passwords import check_password, public_password_policy, public_profile
from mamori.iam.users import public_user
from mamori.services.iam.base import IamBase


def _require_password(params) -> None:
    """The model leaves Password optional only for AssumeRoot sessions (which mamori does not
    issue); every other caller must give one, and IAM answers its missing-member error."""
    if params.get("Password") is None:
        raise AwsError(
            "ValidationError",
            "1 validation error detected: Value null at 'password' failed to satisfy "
            "constraint: Member must not be null",
            status=400,
        )


class SigninOps(IamBase):
    # Login profiles

    def create_login_profile(self, ctx, params):
        _require_password(params)
        iam = self._write(ctx)
        name = self._caller_user_name(ctx, params.get("UserName"))
        user = self._entity(ctx, iam.users, name, "iam:CreateLoginProfile")
        profile = iam.passwords.create_profile(
            user["UserName"],
            params["Password"],
            params.get("PasswordResetRequired", False),
            ctx.now,
        )
        return {"LoginProfile": public_profile(profile)}

    def get_login_profile(self, ctx, params):
        with self._read(ctx) as iam:
            name = self._caller_user_name(ctx, params.get("UserName"))
            user = self._entity(ctx, iam.users, name, "iam:GetLoginProfile")
            profile = iam.passwords.require_profile(user["UserName"])
        return {"LoginProfile": public_profile(profile)}

    def update_login_profile(self, ctx, params):
        iam = self._write(ctx)
        user = self._entity(ctx, iam.users, params["UserName"], "iam:UpdateLoginProfile")
        iam.passwords.set_password(
            user["UserName"], params.get("Password"), params.get("PasswordResetRequired"), ctx.now
        )
        return {}

    def delete_login_profile(self, ctx, params):
        iam = self._write(ctx)
        name = self._caller_user_name(ctx, params.get("UserName"))
        user = self._entity(ctx, iam.users, name, "iam:DeleteLoginProfile")
        iam.passwords.delete_profile(user["UserName"], ctx.now)
        return {}

    def change_password(self, ctx, params):
        principal = ctx.principal
        if principal.type != "IAMUser":
            raise AwsError(
                "InvalidUserTypeException", "Only IAM Users can change their own password."
            )
        iam = self._write(ctx)
        user = iam.users.get(principal.user_name)
        policy = iam.passwords.policy()
        if not (policy and policy.get("AllowUsersToChangePassword")):
            self._authorize(ctx, "iam:ChangePassword", user["Arn"], entity=user)
        profile = iam.passwords.require_profile(user["UserName"])
        if not check_password(params["OldPassword"], profile["PasswordHash"]):
            raise AwsError("InvalidInputException", "The old password is incorrect.")
        iam.passwords.set_password(user["UserName"], params["NewPassword"], False, ctx.now)
        return {}

    # Account password policy

    def update_account_password_policy(self, ctx, params):
        ctx.authorize("iam:UpdateAccountPasswordPolicy", "*")
        self._write(ctx).passwords.set_policy(params, ctx.now)
        return {}

    def get_account_password_policy(self, ctx, params):
        ctx.authorize("iam:GetAccountPasswordPolicy", "*")
        with self._read(ctx) as iam:
            policy = iam.passwords.require_policy()
        return {"PasswordPolicy": public_password_policy(policy)}

    def delete_account_password_policy(self, ctx, params):
        ctx.authorize("iam:DeleteAccountPasswordPolicy", "*")
        self._write(ctx).passwords.delete_policy(ctx.now)
        return {}

    # Virtual MFA devices

    def create_virtual_mfa_device(self, ctx, params):
        name, path = params["VirtualMFADeviceName"], params.get("Path", "/")
        iam = self._write(ctx)
        self._authorize(ctx, "iam:CreateVirtualMFADevice", iam.mfa.serial(path, name), params)
        aliases = AccountAliases(self.runtime.resources, iam.conn, ctx.account_id).list()
        device, seed, png = iam.mfa.create(
            name,
            path,
            iam.mfa.tag_rules.check(params.get("Tags", [])),
            ctx.now,
            aliases[0] if aliases else ctx.account_id,
        )
        result = {"SerialNumber": device["SerialNumber"], "Base32StringSeed": seed.encode()}
        if png is not None:
            result["QRCodePNG"] = png
        if device.get("Tags"):
            result["Tags"] = [{"Key": k, "Value": v} for k, v in device["Tags"].items()]
        return {"VirtualMFADevice": result}

    def _device(self, ctx, iam, serial: str, action: str, params=None) -> dict:
        self._authorize(ctx, action, serial, params, iam.mfa.find(serial))
        return iam.mfa.get(serial)

    def enable_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        user = self._entity(ctx, iam.users, params["UserName"], "iam:EnableMFADevice")
        device = self._device(ctx, iam, params["SerialNumber"], "iam:EnableMFADevice")
        if len(iam.mfa.of_user(user["UserName"])) >= MAX_DEVICES_PER_USER:
            raise AwsError(
                "LimitExceededException",
                f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}",
            )
        iam.mfa.enable(
            device,
            user["UserName"],
            params["AuthenticationCode1"],
            params["AuthenticationCode2"],
            ctx.now,
        )
        return {}

    def resync_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        user = self._entity(ctx, iam.users, params["UserName"], "iam:ResyncMFADevice")
        device = self._device(ctx, iam, params["SerialNumber"], "iam:ResyncMFADevice")
        if (device.get("User") or "").lower() != user["UserName"].lower():
            raise AwsError(
                "NoSuchEntityException",
                f"MFA Device with serial number {params['SerialNumber']} does not exist.",
            )
        iam.mfa.resync(
            device, params["AuthenticationCode1"], params["AuthenticationCode2"], ctx.now
        )
        return {}

    def deactivate_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        name = self._caller_user_name(ctx, params.get("UserName"))
        user = self._entity(ctx, iam.users, name, "iam:DeactivateMFADevice")
        device = iam.mfa.find(params["SerialNumber"])
        if device is None or (device.get("User") or "").lower() != user["UserName"].lower():
            raise AwsError(
                "NoSuchEntityException",
                f"MFA Device with serial number {params['SerialNumber']} does not exist.",
            )
        iam.mfa.deactivate(device, ctx.now)
        return {}

    def get_mfa_device(self, ctx, params):
        with self._read(ctx) as iam:
            device = self._device(ctx, iam, params["SerialNumber"], "iam:GetMFADevice")
        if not device.get("User") or (
            params.get("UserName") and params["UserName"].lower() != device["User"].lower()
        ):
            raise AwsError(
                "NoSuchEntityException",
                f"MFA Device with serial number {params['SerialNumber']} does not exist.",
            )
        return public_mfa_device(device)

    def list_mfa_devices(self, ctx, params):
        with self._read(ctx) as iam:
            if params.get("UserName") or ctx.principal.type == "IAMUser":
                name = self._caller_user_name(ctx, params.get("UserName"))
                user = self._entity(ctx, iam.users, name, "iam:ListMFADevices")
                devices = iam.mfa.of_user(user["UserName"])
            else:
                ctx.authorize("iam:ListMFADevices", ctx.principal.arn)
                devices = []  # the root user's MFA is managed outside the API
        return paginate([public_mfa_device(d) for d in devices], params, "MFADevices")

    def list_virtual_mfa_devices(self, ctx, params):
        ctx.authorize("iam:ListVirtualMFADevices", self._arn(ctx, "mfa/"))
        status = params.get("AssignmentStatus", "Any")
        with self._read(ctx) as iam:
            devices = iam.mfa.all()
            if status == "Assigned":
                devices = [d for d in devices if d.get("User")]
            elif status == "Unassigned":
                devices = [d for d in devices if not d.get("User")]
            page = paginate(devices, params, "VirtualMFADevices")
            shaped = []
            for device in page["VirtualMFADevices"]:
                user = iam.users.find(device["User"]) if device.get("User") else None
                shaped.append(
                    public_virtual_device(
                        device, public_user(user, with_tags=False) if user else None
                    )
                )
        page["VirtualMFADevices"] = shaped
        return page

    def delete_virtual_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        device = self._device(ctx, iam, params["SerialNumber"], "iam:DeleteVirtualMFADevice")
        iam.mfa.delete(device, ctx.now)
        return {}

    def tag_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        device = self._device(ctx, iam, params["SerialNumber"], "iam:TagMFADevice", params)
        iam.mfa.save(
            {**device, "Tags": iam.mfa.tag_rules.merge(device.get("Tags") or {}, params["Tags"])},
            ctx.now,
        )
        return {}

    def untag_mfa_device(self, ctx, params):
        iam = self._write(ctx)
        device = self._device(ctx, iam, params["SerialNumber"], "iam:UntagMFADevice", params)
        iam.mfa.save(
            {
                **device,
                "Tags": iam.mfa.tag_rules.remove(device.get("Tags") or {}, params["TagKeys"]),
            },
            ctx.now,
        )
        return {}

    def list_mfa_device_tags(self, ctx, params):
        with self._read(ctx) as iam:
            device = self._device(ctx, iam, params["SerialNumber"], "iam:ListMFADeviceTags")
        return paginate(tag_list(device.get("Tags")), params, "Tags")
