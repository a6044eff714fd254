"""Child welfare: SSB Barnevern XML (v4 and the older layout) and KS Fiks reports of concern.

Code lists in adapters.child_welfare.codes; documented in docs/adapters/child_welfare.md.
"""

from adapters.child_welfare.adapter import ChildWelfareAdapter

__all__ = ["ChildWelfareAdapter"]
