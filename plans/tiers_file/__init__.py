"""Tiers as code: `manage.py tiers export` writes every live tier as YAML; `tiers apply` makes the
database match a file, through the same services as the console (plans.services).

The file, by slug:

    tiers:
      premium:
        name: Premium
        description: For production
        self_serve: true
        default: false
        listed: false                           # optional: true unless said (exported if false)
        throttle: {rate: 50, burst: 100}        # or null for no throttle
        quota: {limit: 100000, period: MONTH, offset: 0}   # or null for no quota
        price: 49                               # per month, shown to customers; null = free
        stages: ["Weather API/prod"]            # "API name/stage" or "rest_api_id:stage"
        method_throttles:                       # optional: per-method limits, on covered stages
          - {stage: "Weather API/prod", method: "GET /forecast", rate: 5, burst: 10}

`apply` validates the whole file first (errors name their line) and changes nothing unless all
of it is valid; then, in one transaction, creates new tiers, updates only tiers that differ (a
tier that already matches is not touched: no version bump, no AWS call) and, with `--prune`,
archives live tiers the file leaves out.

The package: `document` (the format, and export), `reading` (a file → checked specs) and
`applying` (specs → the services).
"""

from plans.tiers_file.applying import Change, apply_tiers, tiers_left_out
from plans.tiers_file.document import TiersFile, TiersFileError, TierSpec, export_tiers
from plans.tiers_file.reading import read_tiers_file

__all__ = [
    "Change",
    "TierSpec",
    "TiersFile",
    "TiersFileError",
    "apply_tiers",
    "export_tiers",
    "read_tiers_file",
    "tiers_left_out",
]
