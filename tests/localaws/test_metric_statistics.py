"""GetMetricStatistics matches exactly the dimension set asked for, as CloudWatch does and as
GetMetricData already did (moto summed every dimension set containing the ones asked for)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration

NS = "Tollgate/Test"
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
AT = NOW - datetime.timedelta(minutes=10)
STAGE = {"Name": "Stage", "Value": "prod"}
API = {"Name": "ApiName", "Value": "Demo"}


@pytest.fixture
def counts(cloudwatch: Any) -> Any:
    """Count 1 with no dimensions, 2 for the stage alone, 4 for API + stage."""
    for value, dimensions in ((1, []), (2, [STAGE]), (4, [API, STAGE])):
        cloudwatch.put_metric_data(
            Namespace=NS,
            MetricData=[
                {
                    "MetricName": "Count",
                    "Value": value,
                    "Unit": "Count",
                    "Timestamp": AT,
                    "Dimensions": dimensions,
                }
            ],
        )
    return cloudwatch


def _statistics(cloudwatch: Any, dimensions: list[dict[str, str]], **wanted: Any) -> Any:
    """Sum and SampleCount unless ``wanted`` names the statistics."""
    return cloudwatch.get_metric_statistics(
        Namespace=NS,
        MetricName="Count",
        Dimensions=dimensions,
        StartTime=NOW - datetime.timedelta(hours=1),
        EndTime=NOW,
        Period=3600,
        **(wanted or {"Statistics": ["Sum", "SampleCount"]}),
    )


@pytest.mark.parametrize(
    ("dimensions", "total"),
    [([], 1.0), ([STAGE], 2.0), ([API, STAGE], 4.0), ([STAGE, API], 4.0)],
    ids=["none", "stage", "api-and-stage", "either-order"],
)
def test_each_dimension_set_is_its_own_metric(
    counts: Any, dimensions: list[dict[str, str]], total: float
) -> None:
    answer = _statistics(counts, dimensions)

    assert answer["Label"] == "Count"
    (point,) = answer["Datapoints"]
    assert point["Sum"] == total
    assert point["SampleCount"] == 1.0
    assert point["Unit"] == "Count"
    assert "Average" not in point  # only the statistics asked for


def test_statistics_agree_with_get_metric_data(counts: Any) -> None:
    data = counts.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {"Namespace": NS, "MetricName": "Count", "Dimensions": [STAGE]},
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=NOW - datetime.timedelta(hours=1),
        EndTime=NOW,
    )
    (point,) = _statistics(counts, [STAGE])["Datapoints"]
    assert data["MetricDataResults"][0]["Values"] == [point["Sum"]]


def test_a_dimension_set_with_no_data_has_no_datapoints(counts: Any) -> None:
    assert _statistics(counts, [API])["Datapoints"] == []


def test_percentiles_match_the_dimension_set_too(counts: Any) -> None:
    answer = _statistics(counts, [STAGE], ExtendedStatistics=["p50"])
    (point,) = answer["Datapoints"]
    assert point["ExtendedStatistics"] == {"p50": 2.0}


def test_an_unknown_statistic_is_refused(counts: Any) -> None:
    with pytest.raises(ClientError) as caught:
        _statistics(counts, [STAGE], Statistics=["p99"])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
