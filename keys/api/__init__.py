"""The REST API of API keys and bulk key imports (registered by portal/api/urls.py)."""
