"""The active subscriptions per tier, for the tier list's counts (see Subscription.Meta)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("plans", "0010_tier_moves")]

    operations = [
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["plan"],
                name="active_subscriptions_by_tier",
            ),
        ),
    ]
