"""The audit API's data access: filters, listings, statistics, export, and its access log."""
