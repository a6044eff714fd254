"""NAV's codes and what they become in the common schema (status, category, decision codes).

docs/adapters/nav.md shows the same tables; change both together.
"""

from __future__ import annotations

from schemas import Category, ItemStatus

ACTION_UPSERT = "UPSERT_AKTIVITETSKORT_V1"
ACTION_KASSER = "KASSER_AKTIVITET"

STATUS: dict[str, ItemStatus] = {
    "FORSLAG": ItemStatus.PROPOSED,
    "PLANLAGT": ItemStatus.PLANNED,
    "GJENNOMFORES": ItemStatus.IN_PROGRESS,
    "FULLFORT": ItemStatus.COMPLETED,
    "AVBRUTT": ItemStatus.CANCELLED,
}

# aktivitetskortType (NAV's enum, shared-definitions schema) -> (category, display).
# Every type NAV publishes today is a labour-market measure, so all are `employment`; a type
# that should go elsewhere gets its own category here. Unknown types are refused.
CARD_TYPES: dict[str, tuple[Category, str]] = {
    "MIDLERTIDIG_LONNSTILSKUDD": (Category.EMPLOYMENT, "Midlertidig lønnstilskudd"),
    "VARIG_LONNSTILSKUDD": (Category.EMPLOYMENT, "Varig lønnstilskudd"),
    "ARBEIDSTRENING": (Category.EMPLOYMENT, "Arbeidstrening"),
    "MENTOR": (Category.EMPLOYMENT, "Mentor"),
    "INDOPPFAG": (Category.EMPLOYMENT, "Oppfølging"),
    "ARBFORB": (Category.EMPLOYMENT, "Arbeidsforberedende trening (AFT)"),
    "AVKLARAG": (Category.EMPLOYMENT, "Avklaring"),
    "VASV": (Category.EMPLOYMENT, "Varig tilrettelagt arbeid i skjermet virksomhet"),
    "ARBRRHDAG": (Category.EMPLOYMENT, "Arbeidsrettet rehabilitering (dag)"),
    "DIGIOPPARB": (Category.EMPLOYMENT, "Digitalt jobbsøkerkurs"),
    "JOBBK": (Category.EMPLOYMENT, "Jobbklubb"),
    "GRUPPEAMO": (Category.EMPLOYMENT, "Arbeidsmarkedsopplæring (gruppe)"),
    "GRUFAGYRKE": (Category.EMPLOYMENT, "Fag- og yrkesopplæring (gruppe)"),
    "REKRUTTERINGSTREFF": (Category.EMPLOYMENT, "Rekrutteringstreff"),
    "ARENA_TILTAK": (Category.EMPLOYMENT, "Arbeidsmarkedstiltak (Arena)"),
    "ENKELAMO": (Category.EMPLOYMENT, "Arbeidsmarkedsopplæring (enkeltplass)"),
    "ENKFAGYRKE": (Category.EMPLOYMENT, "Fag- og yrkesopplæring (enkeltplass)"),
    "HOYEREUTD": (Category.EMPLOYMENT, "Høyere utdanning"),
    "ARBEIDSMARKEDSOPPLAERING": (Category.EMPLOYMENT, "Arbeidsmarkedsopplæring"),
    "NORSKOPPLAERING_GRUNNLEGGENDE_FERDIGHETER_FOV": (
        Category.EMPLOYMENT,
        "Norskopplæring, grunnleggende ferdigheter og FOV",
    ),
    "STUDIESPESIALISERING": (Category.EMPLOYMENT, "Studiespesialisering"),
    "FAG_OG_YRKESOPPLAERING": (Category.EMPLOYMENT, "Fag- og yrkesopplæring"),
    "HOYERE_YRKESFAGLIG_UTDANNING": (Category.EMPLOYMENT, "Høyere yrkesfaglig utdanning"),
    "FIREARIG_LONNSTILSKUDD": (Category.EMPLOYMENT, "Fireårig lønnstilskudd"),
    "SOMMERJOBB": (Category.EMPLOYMENT, "Sommerjobb"),
    "TILRETTELAGT_ARBEID_ORDINAER": (
        Category.EMPLOYMENT,
        "Tilrettelagt arbeid i ordinær virksomhet",
    ),
}

IDENT_TYPES = frozenset(
    {"ARENAIDENT", "NAVIDENT", "PERSONBRUKERIDENT", "TILTAKSARRAGOER", "ARBEIDSGIVER", "SYSTEM"}
)
SENTIMENTS = frozenset({"POSITIVE", "NEGATIVE", "NEUTRAL"})

# §14a decision (NAV-loven § 14 a): innsatsgruppe, both the classic codes and the 2025 ones.
INNSATSGRUPPE: dict[str, str] = {
    "STANDARD_INNSATS": "Standard innsats",
    "SITUASJONSBESTEMT_INNSATS": "Situasjonsbestemt innsats",
    "SPESIELT_TILPASSET_INNSATS": "Spesielt tilpasset innsats",
    "GRADERT_VARIG_TILPASSET_INNSATS": "Gradert varig tilpasset innsats",
    "VARIG_TILPASSET_INNSATS": "Varig tilpasset innsats",
    "GODE_MULIGHETER": "Gode muligheter",
    "TRENGER_VEILEDNING": "Trenger veiledning",
    "TRENGER_VEILEDNING_NEDSATT_ARBEIDSEVNE": "Trenger veiledning, nedsatt arbeidsevne",
    "JOBBE_DELVIS": "Jobbe delvis",
    "LITEN_MULIGHET_TIL_A_JOBBE": "Liten mulighet til å jobbe",
}

HOVEDMAL: dict[str, str] = {
    "SKAFFE_ARBEID": "Skaffe arbeid",
    "BEHOLDE_ARBEID": "Beholde arbeid",
    "OKE_DELTAKELSE": "Øke deltakelse",
}
