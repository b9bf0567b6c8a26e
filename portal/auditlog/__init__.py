"""The audit log's pages: every event for staff (/console/audit/), an organisation's own for
its owners (/app/audit/), filtered, paged and exported as CSV. The trail itself — the model,
`audit()` and the append-only rule — is the kernel's portal.audit; these pages sit above
portal.access, which decides who reads which events."""
