"""Every personal access token expires now, at most a year after it is made.

Tokens created before this release with expiry "never" (`expires_at` NULL) are capped at one
year from the moment this migration runs: they keep working until then, and their owners can
replace them at any time before. Revoked tokens are capped too, so no row says "never" any more.
Reversing it changes nothing: which tokens once said "never" is not recorded.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone


def cap_never_expiring(apps, schema_editor):
    token_model = apps.get_model("tokens", "PersonalAccessToken")
    token_model.objects.filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + timedelta(days=365)
    )


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_initial")]

    operations = [migrations.RunPython(cap_never_expiring, migrations.RunPython.noop)]
