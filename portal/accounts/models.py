from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class StaffRole(models.TextChoices):
    NONE = "", "Customer"
    ADMIN = "admin", "Admin"
    OPS = "ops", "Ops (read-only)"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True, staff_role=StaffRole.ADMIN)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: staff (admin or ops) or a member of customer organisations."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    staff_role = models.CharField(max_length=10, choices=StaffRole.choices, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_tollgate_admin(self) -> bool:
        return self.is_active and (self.is_superuser or self.staff_role == StaffRole.ADMIN)

    @property
    def is_tollgate_staff(self) -> bool:
        """Admins and ops: people who see every customer (ops only reads)."""
        return self.is_tollgate_admin or (self.is_active and self.staff_role == StaffRole.OPS)
