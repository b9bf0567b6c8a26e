from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Every list: `?cursor=` from the `next`/`previous` links, `?limit=` up to 200.

    The order is the view's (`ordering`) unless `?ordering=` picks another allowed field.
    """

    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-pk"


class CustomerUsageCursor(Cursor):
    """The usage summary's pages: 20 customers, each with every key of theirs (a page is sized
    by its keys: 50 customers were ~250 keys' figures), `?limit=` up to 200 as elsewhere."""

    page_size = 20
