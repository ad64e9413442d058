"""Lambda functions deployed in both Regions: the JWT authorizer, the health check and the API."""
