"""The family plan the coordinator writes: goals, measures, review meetings and evaluations,
versioned; forwarded to the team under consent through the intake; overviews; the family's copy.

models.py       the entries as the API takes them (goal, measure, meeting, evaluation)
store.py        the plan row and every version of every entry (append-only)
changes.py      check, store and forward a change, with each member's overview
items.py        entries as common-schema items (what a change forwards)
overview.py     a member's overview, from the plan and the metadata of forwarded messages
forwarding.py   changes and overviews through the intake; the coordinator's preview
family_copy.py  the family's printable plan in Norwegian or Danish, recorded in the log
lifecycle.py    closing at the end of the enrolment, lapsing consents, deletion after retention
"""
