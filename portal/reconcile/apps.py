from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "portal.reconcile"
    label = "reconcile"
    verbose_name = "Reconciliation with AWS"

    def ready(self) -> None:
        from portal.connections.capacity import register_keeper
        from portal.reconcile.counts import remembered

        # The pages read the capacity counts as last made (a minute at most), not a new count
        # of every key per view.
        register_keeper(remembered)
