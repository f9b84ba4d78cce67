"""The clinic's date formats for Django's localisation (settings.FORMAT_MODULE_PATH): one format everywhere.

Django reads a language's formats from ``config.formats.<locale>.formats`` before its own, so whatever
the language, dates are shown and parsed as the settings' ``CLINIC_*`` formats say.
"""
