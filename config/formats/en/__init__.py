"""The clinic's formats for this language (config/formats/clinic.py)."""
