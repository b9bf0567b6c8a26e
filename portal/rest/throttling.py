from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class PerUserThrottle(UserRateThrottle):
    """REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] per person (TOLLGATE_API_RATE).

    Reads the rate on each request rather than at import, so settings overrides apply.
    """

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "user")
        return None if rate is None else str(rate)
