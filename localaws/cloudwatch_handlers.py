"""CloudWatch requests (awsJson1.0) split between our metric index and moto.

Moto has no percentiles, a slow GetMetricData (see ``localaws.metrics``) and a
GetMetricStatistics that sums across dimension sets (see ``localaws.metric_statistics``), so
GetMetricData and GetMetricStatistics are answered from our index, a request that mixes what
we serve with what only moto serves (metric math) is split between the two and merged back
in query order, and everything else is moto's.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from localaws import metric_statistics, metrics, strict
from localaws.responses import MotoCall, amz_json_response, with_body
from localaws.wire import AwsCall, error_response


def answer(environ: dict[str, Any], call: AwsCall, body: bytes, moto: MotoCall) -> Response:
    """The response to one CloudWatch request; a rule AWS enforces becomes its error."""
    try:
        return _cloudwatch(environ, call, body, moto)
    except strict.ApiError as exc:
        return error_response(call, exc.status, exc.code, exc.message)


def _cloudwatch(environ: dict[str, Any], call: AwsCall, body: bytes, moto: MotoCall) -> Response:
    """GetMetricData and GetMetricStatistics from our index; everything else is moto's."""
    if call.operation == "GetMetricStatistics":
        result = metric_statistics.metric_statistics(call.account, call.region, body)
        if result is None:
            return moto(environ)
        return amz_json_response(result)
    if call.operation == "PutMetricData":
        response = moto(environ)
        if response.status_code == 200:
            metrics.refresh(call.account, call.region)  # index it now, not at the next read
        return response
    if call.operation != "GetMetricData":
        return moto(environ)
    request, percentile_queries = metrics.split_get_metric_data(body)
    answer = metrics.metric_data(call.account, call.region, request)
    if answer is not None:
        return amz_json_response(answer)
    if not percentile_queries:
        return moto(environ)
    ours = metrics.percentile_results(call.account, call.region, request, percentile_queries)
    rest = [q for q in request["MetricDataQueries"] if q not in percentile_queries]
    moto_results: list[dict[str, Any]] = []
    if rest:
        inner_body = json.dumps(request | {"MetricDataQueries": rest}).encode()
        response = moto(with_body(environ, inner_body))
        if response.status_code != 200:
            return response
        moto_results = json.loads(response.get_data()).get("MetricDataResults", [])
    return amz_json_response(
        {"MetricDataResults": metrics.merge_results(request, moto_results, ours)}
    )
