"""The REST API's plumbing, shared by every domain's `api` module: errors, paging, permissions."""
