from django.apps import AppConfig, apps


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"

    def ready(self) -> None:
        from allauth.account import signals as account
        from django.contrib.auth.signals import user_login_failed

        from portal.accounts import receivers

        uid = "portal.accounts.receivers."
        account.user_logged_in.connect(receivers.signed_in, dispatch_uid=uid + "signed_in")
        user_login_failed.connect(receivers.sign_in_failed, dispatch_uid=uid + "sign_in_failed")
        account.password_changed.connect(
            receivers.password_changed, dispatch_uid=uid + "pw_changed"
        )
        account.password_set.connect(receivers.password_set, dispatch_uid=uid + "pw_set")
        account.password_reset.connect(receivers.password_reset, dispatch_uid=uid + "pw_reset")
        if apps.is_installed("allauth.mfa"):
            from allauth.mfa import signals as mfa

            mfa.authenticator_added.connect(receivers.mfa_added, dispatch_uid=uid + "mfa_added")
            mfa.authenticator_removed.connect(
                receivers.mfa_removed, dispatch_uid=uid + "mfa_removed"
            )
            mfa.authenticator_reset.connect(receivers.mfa_reset, dispatch_uid=uid + "mfa_reset")
            mfa.authentication_failed.connect(receivers.mfa_failed, dispatch_uid=uid + "mfa_failed")
