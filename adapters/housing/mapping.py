"""The housing codes the adapter knows and what they become (status, titles).

docs/adapters/housing.md shows the same tables; change both together.
"""

from __future__ import annotations

from schemas import ItemStatus

# Husbanken bostøtte: sak.status, vedtak.type, rolle, utbetaling.mottaker.
SAK_STATUS: dict[str, ItemStatus] = {
    "UNDER_BEHANDLING": ItemStatus.IN_PROGRESS,
    "VEDTATT": ItemStatus.RECORDED,
}
VEDTAK_TYPE: dict[str, str] = {
    "INNVILGET": "innvilget",
    "AVSLAG": "avslag",
    "AVVIST": "avvist",
}
ROLLE = frozenset({"HOVEDPERSON", "BIPERSON"})
MOTTAKER = frozenset({"HUSSTAND", "VERTSKOMMUNE"})

# Living situation (botype).
BOTYPE: dict[str, str] = {
    "eier": "Eier egen bolig",
    "leier": "Leier privat",
    "kommunal": "Leier kommunal bolig",
    "borettslag": "Andel i borettslag",
    "midlertidig": "Midlertidig botilbud",
    "institusjon": "Bor i institusjon",
    "hos_familie": "Bor hos familie eller venner",
    "uten_fast_bolig": "Uten fast bolig",
}

# Eviction steps (tvangsfullbyrdelsesloven kap. 13): hendelse -> (title, status).
EVICTION: dict[str, tuple[str, ItemStatus]] = {
    "VARSEL": ("Varsel om fravikelse (utkastelse)", ItemStatus.RECORDED),
    "BEGJAERING": ("Begjæring om fravikelse sendt namsmannen", ItemStatus.RECORDED),
    "BERAMMET": ("Dato for fravikelse fastsatt", ItemStatus.PLANNED),
    "GJENNOMFORT": ("Fravikelse gjennomført", ItemStatus.COMPLETED),
    "AVLYST": ("Fravikelse avlyst", ItemStatus.CANCELLED),
}
