"""Local AWS for Tollgate: moto in server mode plus a strictness layer.

Moto is kinder than AWS in ways that hide real bugs in the dashboard: it never pages
list results, lets one API key join two usage plans on the same API stage, never throttles
and forgets everything on restart. This package serves moto over real HTTP (boto3 reaches it
through ``AWS_ENDPOINT_URL``) and wraps it in WSGI middleware that restores those AWS
behaviours, plus test-only control endpoints under ``/_localaws/`` (fault injection, a
journal of AWS calls, reset).
"""

from localaws.server import LocalAwsServer, build_app

__all__ = ["LocalAwsServer", "build_app"]
