"""DynamoDB global-table replication between the sandbox's Regional tables."""
