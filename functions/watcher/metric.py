"""The watcher's one AWS call: `PeerHealthy` into CloudWatch in its own Region."""

from __future__ import annotations

from typing import Any

# The watcher's own namespace: its role may put metrics here and nowhere else.
WATCH_NAMESPACE = "MultiRegionAuthorizer/Watch"
PEER_HEALTHY_METRIC = "PeerHealthy"


def publish_peer_healthy(cloudwatch: Any, app: str, peer_role: str, value: float) -> None:
    """One standard-resolution datapoint (the alarm reads one-minute periods)."""
    cloudwatch.put_metric_data(
        Namespace=WATCH_NAMESPACE,
        MetricData=[
            {
                "MetricName": PEER_HEALTHY_METRIC,
                "Dimensions": [
                    {"Name": "App", "Value": app},
                    {"Name": "Peer", "Value": peer_role},
                ],
                "Value": value,
                "Unit": "None",
                "StorageResolution": 60,
            }
        ],
    )
