"""Metrics measured in the reporting request path; /metrics (monitoring.metrics) exposes them.

A histogram in prometheus_client's multiprocess mode when gunicorn runs several workers (see
monitoring.metrics), so a scrape that reaches any one worker sees every worker's requests.
"""

from prometheus_client import Histogram

REPORT_QUERY_SECONDS = Histogram(
    "eventbase_report_query_seconds",
    "Time to answer a reporting API request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
