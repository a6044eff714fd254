"""The school codes the adapter knows (FINT absence types, support types, Danish absence).

Both tables can be replaced per municipality (SchoolAdapter arguments); docs/adapters/school.md.
"""

from __future__ import annotations

# FINT fravarstype (utdanning/kodeverk/fravarstype/systemid/<code>): the codes in the county's
# Vigo/FINT code list. The default covers the common ones; unknown codes are refused.
ABSENCE_TYPES: dict[str, str] = {
    "U": "Udokumentert fravær",
    "D": "Dokumentert fravær (helse- og velferdsgrunner)",
    "P": "Permisjon",
    "T": "Tillitsverv, politisk arbeid eller organisert elevarbeid",
    "S": "Sykdom (attestert)",
}

# FINT tilrettelegging (utdanning/kodeverk/tilrettelegging/systemid/<code>).
SUPPORT_TYPES: dict[str, str] = {
    "ITO": "Individuelt tilrettelagt opplæring",
    "PERSONLIG_ASSISTANSE": "Personleg assistanse",
    "FYSISK_TILRETTELEGGING": "Fysisk tilrettelegging",
    "SPRAK": "Særskild språkopplæring",
    "EKSAMEN": "Tilrettelegging av eksamen og vurdering",
}

# Danish daily absence (the three types the Danish "fraværsregistrering" uses).
DANISH_ABSENCE: dict[str, str] = {
    "sygefravær": "Sygefravær",
    "fravær med tilladelse": "Fravær med tilladelse",
    "ulovligt fravær": "Ulovligt fravær",
}
DANISH_ALIASES: dict[str, str] = {
    "sygefravaer": "sygefravær",
    "fravaer med tilladelse": "fravær med tilladelse",
    "ulovligt fravaer": "ulovligt fravær",
}
