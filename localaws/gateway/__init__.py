"""The local data plane: deployed REST API stages answer real requests, as API Gateway would.

Moto stores APIs, stages, usage plans and API keys but serves no request to a deployed
stage in server mode, so nothing proved that what Tollgate configures is what a client
meets. This package answers those requests on the local server - API keys checked,
throttles and quotas enforced, MOCK integrations evaluated - and meters them into the
usage store GetUsage reads and the CloudWatch metrics the dashboard charts (issue 15).

The modules, by job:

* ``routing``: which requests are data-plane requests, and their API, stage and path
  (path style ``/restapis/{id}/{stage}/_user_request_/...``, the execute-api host, custom
  domain names with base path mappings);
* ``catalog``: indexes over moto's state (APIs, domains, key values, key -> plan per
  stage, route tables), rebuilt after management writes;
* ``resources``: resource and method matching (``{param}``, ``{proxy+}``, ``ANY``);
* ``limits`` and ``buckets``: the throttle levels and their token buckets;
* ``integrations`` and ``templates``: MOCK answers, stand-ins for the other types;
* ``responses``: gateway responses (403/429/500) with PutGatewayResponse customisations;
* ``metering``: CloudWatch ``AWS/ApiGateway`` metrics, aggregated per minute;
* ``dataplane``: one request through all of it (``Gateway``), in API Gateway's order.

Quotas reuse ``localaws.usage``'s store and period arithmetic, so what the gateway enforces
is exactly what GetUsage reports.
"""

from localaws.gateway.dataplane import Gateway

__all__ = ["Gateway"]
