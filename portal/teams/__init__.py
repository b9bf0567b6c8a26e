"""Who is in an organisation: invitations, members' roles, leaving, handing ownership over, and
choosing which organisation one works in. The models are portal.customers'; the rules of who may
do this are portal.access's."""
