"""What happens to connections that the layers above react to."""

from django.dispatch import Signal

# The default connection row was made (kwargs: connection), inside the creating transaction.
# Until then a blank connection on a stage or copy meant "the settings' default account"; the
# receivers (plans, keys, usage) put those rows on the new connection, which is the same
# account reached the same way, so nothing in AWS is made again.
default_connection_made = Signal()
