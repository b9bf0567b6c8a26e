from django.db import migrations, models

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def record_from_documents(apps, schema_editor):
    """Stages already exported learn their methods from their newest stored document."""
    ApiStage = apps.get_model("plans", "ApiStage")
    ApiDocument = apps.get_model("catalog", "ApiDocument")
    for stage in ApiStage.objects.all():
        document = ApiDocument.objects.filter(stage=stage).order_by("-exported_at", "-pk").first()
        if document is None:
            continue
        found = sorted(
            f"{method.upper()} {path}"
            for path, item in (document.document.get("paths") or {}).items()
            if isinstance(item, dict)
            for method in HTTP_METHODS
            if isinstance(item.get(method), dict)
        )
        ApiStage.objects.filter(pk=stage.pk).update(operations=found)


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0002_method_throttles"),
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apistage",
            name="operations",
            field=models.JSONField(
                blank=True,
                help_text='"GET /forecast" for each method of the newest exported OpenAPI document (recorded by the catalog); empty until one is exported.',
                null=True,
            ),
        ),
        migrations.RunPython(record_from_documents, migrations.RunPython.noop),
    ]
