"""The format names Django looks up, taken from the settings' CLINIC_* values (see config/settings.py)."""

from django.conf import settings

DATE_FORMAT = SHORT_DATE_FORMAT = settings.CLINIC_DATE_FORMAT
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = f"{settings.CLINIC_DATE_FORMAT} {settings.CLINIC_TIME_FORMAT}"
TIME_FORMAT = settings.CLINIC_TIME_FORMAT
YEAR_MONTH_FORMAT = settings.CLINIC_MONTH_FORMAT
DATE_INPUT_FORMATS = settings.CLINIC_DATE_INPUT_FORMATS
