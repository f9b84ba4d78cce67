"""The clinic's formats (config/formats/clinic.py)."""

from config.formats.clinic import *  # noqa: F403
