"""A third token scope, "leaks": it reports leaked API keys (POST /api/v1/keys/leaked) and can do
nothing else. Only the choices change; no row does."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tokens", "0002_cap_never_expiring_tokens")]

    operations = [
        migrations.AlterField(
            model_name="personalaccesstoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("read", "Read only"),
                    ("write", "Read and write"),
                    ("leaks", "Report leaked keys only"),
                ],
                default="read",
                max_length=5,
            ),
        ),
    ]
