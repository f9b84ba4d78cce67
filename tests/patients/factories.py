"""factory_boy factories for the clinical record."""

from __future__ import annotations

from datetime import date, timedelta

import factory

from accounts.models import Site
from patients.models import Assessment, Condition, DamageIndex, Manifestation, Observation, Patient, TreatmentCourse


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"site-{n}")
    name = factory.Sequence(lambda n: f"Site {n}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    identifier = factory.Sequence(lambda n: f"PAT-{n:05d}")
    birth_date = date(1990, 1, 15)
    sex = "female"
    weight_kg = 65


def _day(n: int) -> date:
    return date(2026, 10, 1) - timedelta(days=n)


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    patient = factory.SubFactory(PatientFactory)
    date = factory.Sequence(_day)
    sledai_present = factory.LazyFunction(lambda: ["arthritis", "rash"])
    sledai_low = 6
    sledai_high = 6
    csledai_low = 6
    csledai_high = 6


class DamageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DamageIndex

    patient = factory.SubFactory(PatientFactory)
    date = factory.Sequence(_day)
    items = factory.LazyFunction(lambda: {"cataract": 1})
    score = 1


class ManifestationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manifestation

    patient = factory.SubFactory(PatientFactory)
    code = "lupus_nephritis"
    date = factory.Sequence(_day)
    active = True


class ObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    patient = factory.SubFactory(PatientFactory)
    code = "egfr"
    date = factory.Sequence(_day)
    value = 80


class TreatmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    drug = "hydroxychloroquine"
    start = factory.Sequence(_day)
    dose = 400
    dose_unit = "mg/day"


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    patient = factory.SubFactory(PatientFactory)
    code = "hiv"
    status = "absent"
    date = factory.Sequence(_day)
