from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from keys import receivers  # noqa: F401 - keys follow their customer's tier
        from keys.capacity import census
        from portal.connections.capacity import register_census

        register_census("keys", census)
