"""Citable capture-recapture tables shipped with undercount.

Each is a published table (the numbers are facts; the source is cited). ``load(name)``
returns a :class:`~undercount.core.table.CaptureTable` whose ``citation`` names the source;
``info(name)`` gives the lists' meanings and provenance. Reference results for each table
(from Rcapture, SparseMSE, dga and LCMCR) are pinned in the test suite.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import DataWarning, InputError

__all__ = ["DatasetInfo", "frame", "info", "is_dataset", "load", "names"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    lists: str
    citation: str
    provenance: str
    closed: bool = True
    #: List columns when the table also has covariate columns (None: every column but count).
    list_columns: tuple[str, ...] | None = None
    #: A supplement to another table (not estimable alone): read it with :func:`frame`.
    supplement_to: str | None = None


_INFO: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo(
            "kosovo",
            "Killings in Kosovo, 20 March - 22 June 1999 (4 lists, n = 4,400).",
            "EXH: exhumations; ABA: American Bar Association CEELI; OSCE: Organization for "
            "Security and Co-operation in Europe; HRW: Human Rights Watch.",
            "Ball, P., Betts, W., Scheuren, F., Dudukovic, J. and Asher, J. (2002). Killings and "
            "Refugee Flow in Kosovo, March-June 1999. AAAS report to the ICTY.",
            "LCMCR 0.4.14 data/kosovo_aggregate.RData; identical to MultipleSystemsEstimation "
            "data/Kosovo.rda.",
        ),
        DatasetInfo(
            "korea",
            "Korean 'comfort women', Palembang, Indonesia (3 lists, n = 123).",
            "b, c, d: three lists as named in the MultipleSystemsEstimation package.",
            "Ball, P., Shin, E. H.-S. and Yang, H. (2018). There may have been 14 undocumented "
            "Korean 'comfort women' in Palembang, Indonesia. HRDAG technical report.",
            "MultipleSystemsEstimation data/Korea.rda (the zero 011 row omitted).",
        ),
        DatasetInfo(
            "artificial_3",
            "Artificial existence/identifiability test case (3 lists, n = 96).",
            "A, B, C: artificial lists; only A and B overlap.",
            "Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for "
            "sparse capture data: inferential challenges when there are non-overlapping lists. "
            "Journal of the American Statistical Association 116:1297-1306.",
            "SparseMSE 2.0.1 data/Artificial_3.rda.",
        ),
        DatasetInfo(
            "hare",
            "Snowshoe hares, 6 capture occasions (n = 68).",
            "c1-c6: trapping occasions of a closed animal population.",
            "Cormack, R. M. (1989). Log-linear models for capture-recapture. Biometrics "
            "45:395-413; Baillargeon, S. and Rivest, L.-P. (2007). Rcapture: loglinear models "
            "for capture-recapture in R. Journal of Statistical Software 19(5).",
            "Rcapture 1.4-4 data/hare.rda.",
        ),
        DatasetInfo(
            "spina_bifida_my",
            "Spina bifida, Madigan & York's three-list example (n = 626).",
            "L1, L2, L3 in dga's array order (the package does not name them).",
            "Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of "
            "a closed population. Biometrika 84:19-31.",
            "dga 2.0.2 bma.cr examples and tests.",
        ),
        DatasetInfo(
            "uk_2013",
            "Potential victims of modern slavery, UK 2013 (6 lists, n = 2,744).",
            "LA: local authorities; NG: non-government organisations; PF: police forces; "
            "GO: government organisations; GP: general public; NCA: National Crime Agency.",
            "Silverman, B. W. (2014). Modern slavery: an application of multiple systems "
            "estimation. UK Home Office.",
            "SparseMSE 2.0.1 data/UKdat.rda; identical to MultipleSystemsEstimation.",
        ),
        DatasetInfo(
            "uk_2013_5",
            "UK modern slavery 2013 with PF and NCA merged (5 lists, n = 2,744).",
            "LA, NG, PFNCA (police forces + National Crime Agency), GO, GP.",
            "Silverman, B. W. (2014). Modern slavery: an application of multiple systems "
            "estimation. UK Home Office.",
            "SparseMSE 2.0.1 data/UKdat_5.rda.",
        ),
        DatasetInfo(
            "hiv_rome",
            "HIV-1 infection, four reporting centres in Rome (n = 1,896).",
            "c1-c4: four reporting centres (not named by Rcapture).",
            "Abeni, D. D., Brancato, G. and Perucci, C. A. (1994). Capture-recapture to "
            "estimate the size of the population with human immunodeficiency virus type 1 "
            "infection. Epidemiology 5:410-414.",
            "Rcapture 1.4-4 data/HIV.rda (zero rows omitted).",
        ),
        DatasetInfo(
            "my5",
            "Madigan & York five-list example (n = 537).",
            "L1-L5 (the package does not name them).",
            "Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of "
            "a closed population. Biometrika 84:19-31.",
            "dga 2.0.2 README and examples.",
        ),
        DatasetInfo(
            "duck",
            "Eider ducks, 6 yearly periods (n = 896). Open population: a stress test only.",
            "p1-p6: six consecutive years.",
            "Coulson, J. C. (1984). Ibis 126:525-543; Cormack, R. M. (1989). Biometrics "
            "45:395-413.",
            "Rcapture 1.4-4 data/duck.rda (zero rows omitted).",
            closed=False,
        ),
        DatasetInfo(
            "bunting",
            "Lazuli buntings, Logan, Utah, 1973-1980 (n = 1,681). Open population: a stress "
            "test only.",
            "p1-p8: eight years.",
            "Burnham, K. P. et al. (1987). American Fisheries Society Monograph 5.",
            "Rcapture 1.4-4 data/bunting.rda (zero rows omitted).",
            closed=False,
        ),
        DatasetInfo(
            "gaza_lancet_2025",
            "Traumatic-injury deaths in Gaza, 7 Oct 2023 - 30 Jun 2024 (3 lists, n = 29,271), "
            "aggregated over all strata.",
            "hospital: Ministry of Health hospital/morgue list; survey: MoH online form filled "
            "in by relatives; social_media: social-media obituaries compiled by the study team.",
            "Jamaluddine, Z., Abukmail, H., Aly, S., Campbell, O. M. R. and Checchi, F. (2025). "
            "Traumatic injury mortality in the Gaza Strip from Oct 7, 2023, to June 30, 2024: a "
            "capture-recapture analysis. Lancet 405(10477):469-477. "
            "doi:10.1016/S0140-6736(24)02678-3.",
            "ZeinaJamaluddine/gaza_mortality_capture_recapture @ 195e237, "
            "input/2.gaza_list_capture_analysis_pub.xlsx, sheet Gaza (tabulated).",
        ),
        DatasetInfo(
            "gaza_lancet_2025_strata",
            "Gaza Lancet 2025 lists by age group, sex and month of death: counts of linked "
            "decedents per capture pattern and covariate cell (n = 29,271; missing covariates "
            "kept as missing, for imputation).",
            "hospital, survey, social_media as in gaza_lancet_2025; covariates age_group "
            "(0-14, 15-29, 30-44, 45-59, 60+, the study's bins), sex, month_of_death.",
            "Jamaluddine, Z., Abukmail, H., Aly, S., Campbell, O. M. R. and Checchi, F. (2025). "
            "Traumatic injury mortality in the Gaza Strip from Oct 7, 2023, to June 30, 2024: a "
            "capture-recapture analysis. Lancet 405(10477):469-477. "
            "doi:10.1016/S0140-6736(24)02678-3.",
            "Frequency table tabulated by undercount from the authors' de-identified replication "
            "records (ZeinaJamaluddine/gaza_mortality_capture_recapture @ 195e237, sheet Gaza). "
            "The record-level file is not redistributed: its repository has no licence.",
            list_columns=("hospital", "survey", "social_media"),
        ),
        DatasetInfo(
            "gaza_lancet_2025_missing_persons_strata",
            "The 633 persons reported missing (not dead) through the Gaza survey list, as a "
            "frequency table like gaza_lancet_2025_strata (all survey-only).",
            "hospital, survey, social_media; covariates age_group, sex, month_of_death.",
            "Jamaluddine, Z., Abukmail, H., Aly, S., Campbell, O. M. R. and Checchi, F. (2025). "
            "Traumatic injury mortality in the Gaza Strip from Oct 7, 2023, to June 30, 2024: a "
            "capture-recapture analysis. Lancet 405(10477):469-477. "
            "doi:10.1016/S0140-6736(24)02678-3.",
            "Tabulated from input/2.gaza_list_capture_analysis_pub_missing.xlsx of the same "
            "repository (the rows not in the main file).",
            list_columns=("hospital", "survey", "social_media"),
            supplement_to="gaza_lancet_2025_strata",
        ),
    ]
}

_ALIASES = {
    "gaza-lancet-2025": "gaza_lancet_2025_strata",
    "uk2013": "uk_2013",
    "hiv": "hiv_rome",
}


def names() -> list[str]:
    """Names of the shipped datasets."""
    return sorted(_INFO)


def _resolve(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _INFO:
        raise InputError(f"unknown dataset {name!r}; shipped datasets are {', '.join(names())}")
    return key


def info(name: str) -> DatasetInfo:
    return _INFO[_resolve(name)]


def frame(name: str) -> pd.DataFrame:
    """The shipped table as a DataFrame (list columns, covariates, ``count``)."""
    key = _resolve(name)
    with resources.files(__name__).joinpath("data", f"{key}.csv").open("r") as fh:
        return pd.read_csv(fh)


def load(name: str) -> CaptureTable:
    """Load a shipped table by name, e.g. ``load("kosovo")``."""
    key = _resolve(name)
    if _INFO[key].supplement_to:
        raise InputError(
            f"{key} supplements {_INFO[key].supplement_to} and cannot be estimated alone; "
            f"read it with undercount.datasets.frame({key!r})"
        )
    frame_ = frame(key)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        return CaptureTable.from_frame(
            frame_,
            lists=_INFO[key].list_columns,
            count_column="count",
            source=key,
            citation=_INFO[key].citation,
        )


def is_dataset(name: str) -> bool:
    return name.lower() in _INFO or name.lower() in _ALIASES
