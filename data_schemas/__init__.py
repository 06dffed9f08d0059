"""The data contract (JSON schemas, policy and reference tables), installed as package data."""
