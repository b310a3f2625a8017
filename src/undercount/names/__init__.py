"""Name and record standardisation: Arabic and Latin normalisation, cross-script keys,
national ID check digits, dates and ages, and the DataFrame-level :func:`standardise`."""

from undercount.names.arabic import (
    clean_arabic,
    is_arabic,
    lam_alef_key,
    normalise_arabic,
    normalise_arabic_token,
    repair_lam_alef,
    split_name,
    strip_article,
)
from undercount.names.dates import (
    ParsedDates,
    age_heaped,
    completed_years,
    parse_ages,
    parse_date,
    parse_dates,
)
from undercount.names.ids import check_digit, clean_id, clean_ids, id_valid, ids_valid
from undercount.names.keys import (
    family_skeleton,
    name_skeleton,
    skeleton,
    skeleton_arabic,
    skeleton_latin,
)
from undercount.names.latin import (
    latin_key,
    normalise_latin,
    normalise_latin_token,
    split_latin_name,
    strip_latin_article,
)
from undercount.names.standardise import OUTPUT_COLUMNS, ROLES, standardise

__all__ = [
    "OUTPUT_COLUMNS",
    "ROLES",
    "ParsedDates",
    "age_heaped",
    "check_digit",
    "clean_arabic",
    "clean_id",
    "clean_ids",
    "completed_years",
    "family_skeleton",
    "id_valid",
    "ids_valid",
    "is_arabic",
    "lam_alef_key",
    "latin_key",
    "name_skeleton",
    "normalise_arabic",
    "normalise_arabic_token",
    "normalise_latin",
    "normalise_latin_token",
    "parse_ages",
    "parse_date",
    "parse_dates",
    "repair_lam_alef",
    "skeleton",
    "skeleton_arabic",
    "skeleton_latin",
    "split_latin_name",
    "split_name",
    "standardise",
    "strip_article",
    "strip_latin_article",
]
