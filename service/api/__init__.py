"""The HTTP API: thin views over the use-cases, with marshmallow schemas."""
