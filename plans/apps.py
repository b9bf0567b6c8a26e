from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Tiers and stages"

    def ready(self) -> None:
        from plans import receivers  # noqa: F401 - connects the default tier to sign-up
