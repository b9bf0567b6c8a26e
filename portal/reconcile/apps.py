from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "portal.reconcile"
    label = "reconcile"
    verbose_name = "Reconciliation with AWS"
