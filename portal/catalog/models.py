"""The OpenAPI documents of the API stages we sell, exported from API Gateway."""

from __future__ import annotations

from django.db import models

from plans.models import ApiStage


class ApiDocument(models.Model):
    """One stage's OpenAPI 3.0 document as of one deployment (GetExport oas30, API Gateway's
    ``x-amazon-apigateway-*`` extensions stripped). A new deployment adds a new version; pages
    read these rows and never call AWS."""

    stage = models.ForeignKey(ApiStage, on_delete=models.CASCADE, related_name="documents")
    deployment_id = models.CharField(max_length=32)
    exported_at = models.DateTimeField(auto_now_add=True)
    document = models.JSONField()
    raw_size = models.PositiveIntegerField(help_text="Bytes of the export as AWS sent it.")

    class Meta:
        ordering = ["-exported_at", "-pk"]
        get_latest_by = "exported_at"
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "deployment_id"], name="one_document_per_stage_deployment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage} @ {self.deployment_id}"

    @property
    def title(self) -> str:
        return str((self.document.get("info") or {}).get("title") or self.stage.api_name)

    @property
    def version(self) -> str:
        return str((self.document.get("info") or {}).get("version") or "")
