"""Teaching-file anonymization: the whitelist profile, keyed UIDs, age and review."""

from .profiles import TEACHING, Action, Rule
from .review import review_reasons
from .teaching import AnonymizationResult, anonymize_teaching
from .uids import remap_uid

__all__ = [
    "TEACHING",
    "Action",
    "AnonymizationResult",
    "Rule",
    "anonymize_teaching",
    "remap_uid",
    "review_reasons",
]
