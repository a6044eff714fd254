"""A witness for tests: the C2SP tlog-witness `add-checkpoint` endpoint on a real HTTP server,
cosigning with the project's own witnessing code (audit.witness) and remembering, per origin,
the last checkpoint it cosigned, as a real witness does."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from audit.checkpoint import ALG_COSIGNATURE_V1, Checkpoint, verify_checkpoint, vkey
from audit.errors import InconsistentCheckpoint, InvalidCheckpoint
from audit.witness import check_and_cosign


class WitnessServer:
    def __init__(self, name: str, log_keys: list[Ed25519PublicKey], origin: str) -> None:
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.log_keys = log_keys
        self.origin = origin
        self.seen: dict[str, Checkpoint] = {}
        self.requests = 0
        self.app = FastAPI()
        self.app.post("/add-checkpoint")(self.add_checkpoint)

    @property
    def vkey(self) -> str:
        return vkey(self.name, self.key.public_key(), ALG_COSIGNATURE_V1)

    async def add_checkpoint(self, request: Request) -> PlainTextResponse:
        self.requests += 1
        body = (await request.body()).decode()
        head, sep, note = body.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old "):
            return PlainTextResponse("malformed\n", status_code=400)
        old = int(lines[0].removeprefix("old "))
        proof = [base64.b64decode(line) for line in lines[1:]]
        checkpoint = None
        for key in self.log_keys:
            try:
                checkpoint = verify_checkpoint(note, key, self.origin)
                break
            except InvalidCheckpoint:
                continue
        if checkpoint is None:
            return PlainTextResponse("unknown log or bad signature\n", status_code=403)
        previous = self.seen.get(self.origin)
        known = previous.size if previous else 0
        if old != known:
            return PlainTextResponse(f"{known}\n", status_code=409, media_type="text/x.tlog.size")
        if checkpoint.size < old:
            return PlainTextResponse("old size beyond the checkpoint\n", status_code=400)
        try:
            result = check_and_cosign(
                note,
                log_public=self.log_keys[0],
                origin=self.origin,
                previous=previous,
                proof=proof,
                witness_name=self.name,
                witness_key=self.key,
                now=dt.datetime.now(dt.UTC),
            )
        except InconsistentCheckpoint as exc:
            return PlainTextResponse(f"{exc}\n", status_code=422)
        self.seen[self.origin] = checkpoint
        return PlainTextResponse(result.cosignature)
