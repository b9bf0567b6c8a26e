from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "portal.usage"
    label = "usage"
    verbose_name = "Usage and metrics"

    def ready(self) -> None:
        from portal.usage import receivers  # noqa: F401 - roll-ups follow a tier's quota
