"""The Lambda APIs moto lacks that the product reads."""
