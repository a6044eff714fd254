"""Export the common schema as JSON Schema files (schemas/json/); `python -m schemas.export`.

A test compares the committed files with the models, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.family import Family
from schemas.notice import WithdrawalNotice
from schemas.plan import PlanItem, PlanUpdate

JSON_DIR = Path(__file__).parent / "json"

MODELS: dict[str, type[BaseModel]] = {
    "plan-update.schema.json": PlanUpdate,
    "plan-item.schema.json": PlanItem,
    "family.schema.json": Family,
    "withdrawal.schema.json": WithdrawalNotice,
}


def render(model: type[BaseModel]) -> str:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(by_alias=True, mode="validation"),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def rendered() -> dict[str, str]:
    return {name: render(model) for name, model in MODELS.items()}


def main() -> int:
    JSON_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (JSON_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/json/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
