"""Parts of portal/settings.py that are plain data and long: settings.py imports them. They
import nothing of the product (settings load before the apps)."""
