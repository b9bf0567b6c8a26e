"""An index for the usage days list ordered by date then id (see UsageDay.Meta)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("usage", "0003_usage_rollups")]

    operations = [
        migrations.AddIndex(
            model_name="usageday",
            index=models.Index(fields=["date", "id"], name="usage_day_by_date_id"),
        ),
    ]
