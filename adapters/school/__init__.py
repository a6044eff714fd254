"""School: FINT absence registrations, absence overviews and special support; Danish absence.

Mapping tables in adapters.school.mapping; documented in docs/adapters/school.md.
"""

from adapters.school.adapter import SchoolAdapter

__all__ = ["SchoolAdapter"]
