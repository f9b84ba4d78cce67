"""How long, how big and how far every input may go: the one place the models and the validators read.

The column lengths are the database's: the models take their ``max_length``
from here, so a form, a case file or a rule-set file can never accept a value
its column cannot hold (on PostgreSQL an over-long value is an error, not a
truncation). The other numbers bound what a person or a file may ask of the
app: how far back or ahead a date may lie, how large a parameter may be, how
big a file is read and how deeply its JSON may nest. ``docs/operations.md``
("Limits") lists them for operators.

Plain Python, no Django (``clinical`` is the pure core).
"""

from __future__ import annotations

from datetime import date
from typing import Final

# --- Column lengths (characters) -------------------------------------------------------

PATIENT_IDENTIFIER: Final = 64  # Patient.identifier, a case file's case_id
RECORD_CODE: Final = 32  # a manifestation, observation or condition code
DRUG_CODE: Final = 64  # TreatmentCourse.drug: a drug code (and an agent code) of the catalogue
DOSE_UNIT: Final = 16  # TreatmentCourse.dose_unit
PATHWAY_ID: Final = 32  # Referral.pathway: every referral stores its pathway's id
PATHWAY_LABEL: Final = 200  # Referral.pathway_label
RULE_SET_NAME: Final = 200  # RuleSet.name
RULE_SET_VERSION: Final = 40  # RuleSet.version
TEST_CASE_NAME: Final = 100  # RuleCase.name (a case_id, so at most PATIENT_IDENTIFIER in practice)
CENTRE: Final = 200  # Referral.centre

# --- Texts that live inside stored JSON (no column, but shown on every page that reads them) ---

NODE_ID: Final = 100  # a criterion, group or caution id of a rule set
SOURCE: Final = 200  # a criterion's or caution's source keys
REASON: Final = 2000  # why a change was made (rules administration, test cases)

# --- Dates ----------------------------------------------------------------------------------

EARLIEST_DATE: Final = date(1900, 1, 1)  # no birth, record or as-of date before this
# No date after this in any file: the engine looks a year past as-of and up to MAX_WINDOW_DAYS back,
# which stays far inside the calendar. Stored records are bounded by today besides (forms and import).
LATEST_DATE: Final = date(2199, 12, 31)
REVIEW_AHEAD_DAYS: Final = 5 * 365 + 1  # a deferred referral comes back within five years

# --- Values ---------------------------------------------------------------------------------

ANA_TITRE_MAX: Final = 1_000_000  # reciprocal titre; laboratories stop diluting long before
DOSE_MAX: Final = 100_000  # in the drug's own unit (mg/day, mg/week, mg/pulse, mg/dose)
SDI_MAX: Final = 47  # the highest SLICC/ACR damage index a record can score

# --- Rule sets ------------------------------------------------------------------------------

MAX_WINDOW_DAYS: Final = 36_500  # a window, a course length or an examined period: at most 100 years
DECIMAL_PLACES: Final = 4  # a number parameter or drug threshold (the forms edit four places)
RULES_MAX_PATHWAYS: Final = 20
RULES_MAX_CAUTIONS: Final = 200
RULES_MAX_DRUGS: Final = 500
RULES_MAX_NODES: Final = 1000  # criteria and groups of the whole file, cautions included

# --- Files ----------------------------------------------------------------------------------

CASE_FILE_BYTES: Final = 2 * 1024 * 1024  # one case file
CASE_FILES_PER_UPLOAD: Final = 50
CASE_MAX_ENTRIES: Final = 2000  # entries in each list of a case file (assessments, observations, ...)
# Entries of all the files of one import: each becomes a row and its history row, written in one
# request (about 10 seconds for 12,000 on modest hardware): a larger import goes in batches.
IMPORT_MAX_ENTRIES: Final = 15_000
RULES_FILE_BYTES: Final = 1024 * 1024  # one rule-set file
JSON_DEPTH: Final = 64  # nesting of objects and lists in any JSON a person sends


def megabytes(size: int) -> str:
    """A byte count in words for messages ("2 MB", "512 KB")."""
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"
