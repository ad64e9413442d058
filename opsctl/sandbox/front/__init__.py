"""An API Gateway-like front for one Region: REST API routing, TOKEN authorizer, Lambda proxy.

Runs as its own process per Region (`python -m opsctl.sandbox.front SPEC_FILE --fd N [--fd M ...]
--tls-cert PEM --tls-key PEM --supervisor-pid PID`), serving HTTPS on every address the
supervisor bound for the Region, so the
handlers' module-level caches live per Region as they do in per-Region Lambdas. It calls the real
handlers from `functions/` with REST API event shapes:

- a route with a CUSTOM authorizer: a missing identity header is a 401 without calling the
  authorizer (as API Gateway does); otherwise the TOKEN authorizer runs, its policy is cached per
  token for the authorizer's result TTL and evaluated against each request's method ARN
  (explicit Deny wins, no matching Allow is a 403), then the API function runs with the
  authorizer's context in `requestContext.authorizer`;
- a route without authorization (`/health`) calls its function directly;
- requests arrive either on the execute-api style path `/<stage>/...` or, with the custom
  domain's name as Host, on the base-path mapping (`/...` → the stage).

Each invocation runs with exactly its function's environment and its own copy of the project's
`functions` package (Lambda functions share neither environment variables nor module state, so
each function's Powertools Metrics has its own `service`), one at a time per process, like one
warm Lambda instance per function.

Like API Gateway and Lambda, the front publishes its metrics to the Region's CloudWatch:
AWS/ApiGateway Count, 4XXError, 5XXError, Latency by ApiName and Stage; AWS/Lambda Invocations,
Errors, Duration by FunctionName; and, as Lambda does with a function's log output, every
CloudWatch Embedded Metric Format (EMF) document a handler prints (Powertools Metrics), with the
document's namespace, dimensions, units and timestamp. Every line still reaches stdout (the
functions' log). The Region's own alarms are evaluated from these metrics.

HTTP is served with the standard library's `http.server`, not werkzeug: API Gateway hands a
handler the request headers as the client spelled them, and WSGI upper-cases them into the
environ, so a WSGI server would need the raw request anyway; and the front serves on a socket the
supervisor bound and passed down, which `http.server` takes as it is. `api.Front` does all the
routing, so the server is only the read-request/write-response loop.
"""
