"""The embedded default's demo tooling: demo data (`seed_demo`) and simulated traffic
(`simulate_traffic`) written into the local AWS server.

Not product code: it talks to `localaws/` directly, so no product package may import it
(import-linter), and it is installed only when DEBUG is on (portal/settings.py) — its
`seed_demo` creates people with well-known passwords.
"""
