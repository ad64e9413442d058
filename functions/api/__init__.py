"""The game-session API behind the authorizer (Powertools APIGatewayRestResolver)."""
