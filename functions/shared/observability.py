"""Powertools Logger, Tracer and Metrics shared by the three functions.

Built at import without touching AWS: the Logger writes JSON lines to stdout, Metrics flushes EMF
to stdout, and the Tracer is a no-op outside Lambda (and patches only what we call when inside).
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "MultiRegionAuthorizer"
SERVICE_NAME = "multi-region-authorizer"

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
# Only the SDK (DynamoDB, SSM) and http.client (JWKS fetch) are worth a subsegment; patching
# everything would import libraries the functions never use.
tracer = Tracer(patch_modules=("botocore", "httplib"))
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE))
