"""Two-factor authentication with django-allauth's mfa app: Tollgate's side of it.

allauth.mfa does the factors (TOTP, recovery codes, WebAuthn security keys) and its pages under
/accounts/2fa/; the rule for who must have one is `portal.access.mfa_setup_required`. Here:

- `middleware`: pages send someone the rule says must set MFA up to /accounts/2fa/ first (the
  REST API refuses them in portal.rest.permissions);
- `adapter`: allauth's MFA adapter; it refuses removing the last factor of someone who must
  keep one;
- `views`: allauth's "remove a security key" with the same refusal (allauth asks the adapter
  only when an authenticator app is removed);
- `site`, `apps`: Django's admin without a login page of its own (allauth's, with its rate
  limits and MFA), open only to active superusers whose session passed MFA.
"""
