"""Users, their role and the sites (clinics) they belong to."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Site(models.Model):
    """A clinic. Patients belong to exactly one site; users to one or more."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    SPECIALIST = "specialist", "Specialist"
    STAFF = "staff", "Clinic staff"
    RULES_ADMIN = "rules_admin", "Rules administrator"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    sites = models.ManyToManyField(Site, blank=True, related_name="members")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return display_name(self.first_name, self.last_name, self.username)

    @property
    def is_specialist(self) -> bool:
        return self.role == Role.SPECIALIST

    @property
    def is_rules_admin(self) -> bool:
        return self.role == Role.RULES_ADMIN

    @property
    def is_privacy_officer(self) -> bool:
        return self.role == Role.PRIVACY_OFFICER


def display_name(first_name: str, last_name: str, username: str) -> str:
    """How a user is named on the pages: the full name, else the username (for rows read as values)."""
    return f"{first_name} {last_name}".strip() or username
