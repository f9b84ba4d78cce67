"""Rule sets in the database: validated on every write, exactly one published."""

from __future__ import annotations

import copy

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from screening.models import RuleSet


@pytest.mark.django_db
def test_invalid_parameters_cannot_be_saved() -> None:
    content = copy.deepcopy(RuleSet.objects.published().content)
    content["version"] = "x1"
    content["pathways"][0]["inclusion"]["all"][1]["params"]["min_years"] = -3
    with pytest.raises(ValidationError) as err:
        RuleSet.objects.create(name=content["name"], version="x1", content=content)
    assert "hsct.age" in str(err.value) and "min_years" in str(err.value)


@pytest.mark.django_db
def test_exactly_one_published_is_enforced_by_the_database() -> None:
    content = copy.deepcopy(RuleSet.objects.published().content)
    content["version"] = "x2"
    draft = RuleSet.objects.create(name=content["name"], version="x2", content=content)
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSet.objects.filter(pk=draft.pk).update(status="published")
