"""The pure clinical core: vocabularies, scoring tables and case-file validation.

Plain Python, no Django and no database: the screening engine
(``screening.engine``) may use it and nothing else, and every app builds on it.
An import-linter contract (``.importlinter``) holds this.
"""
