"""The gateway: everything that knows about HTTP, Kafka, database engines, migrations and the
instance's configuration, wired around the domain packages (schemas, adapters, consent, audit).

Its subpackages follow the data flow of DESIGN §2, and so do their imports: each floor imports
only the floors below it (tests/test_layering.py checks it, with no import cycles).

    cli/          `helhet …`: one module per command; parse, call one function, print
    demo/         `helhet demo`: a synthetic municipality end to end
    api/          the HTTP API: app, deps (all FastAPI wiring), policy (who may do what),
                  problem+json, clients and bearer tokens, access declarations and the request
                  guard (token and body limit before any body is read), access entries, bodies,
                  rate limits, metrics, serving; routers/ (one per resource)
    console/      the web console under /console, on the api floor (the app mounts it; it uses
                  the api's deps, policy and access entries): sessions, pages, nb/da/en
    plan/         the coordinator's family plan: goals, measures, meetings, evaluations, each
                  change versioned and forwarded through the intake; overviews; the family's
                  copy; closing, lapsing consents and deletion after retention
    delivery/     the relay: outbox -> Kafka, consent re-checked just before, deliveries
                  recorded; reconciliation of the topics with the log
    intake/       a record (or a consent change) -> routing -> decisions -> minimisation ->
                  sealed messages with their log entries, queued in ONE transaction; the family
                  registry; the process's shared state (Services)
    checkpoints/  signing checkpoints of the log, on demand and on a schedule; witnessing and
                  publishing them outside the database; refusing a log rolled back behind them
    envelope/     sealing for a recipient (the format and the opening are recipient's)
    kafka/        publishing, reading a topic back, the bundled broker
    config/       Settings, key files, the Instance built once from them, `helhet init`
    db/           engines, tables, the outbox's state machine, the one Alembic history
    errors.py     GatewayError and its tree

Below the gateway: `recipient` (the agency side: open, verify, receive; it imports nothing of
the server), `consent`, `audit`, `adapters` and, at the bottom, `schemas`.
"""
