"""The REST API of tiers, stages and subscriptions (registered by portal/api/urls.py)."""
