from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "portal.catalog"
    label = "catalog"
    verbose_name = "API catalog"

    def ready(self) -> None:
        from portal.catalog import signals  # noqa: F401 - connects the export trigger
