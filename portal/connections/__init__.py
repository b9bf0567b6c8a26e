"""AWS connections: which AWS accounts and regions Tollgate works in, how it reaches each (its
own credential chain, or a role it assumes), and whether it can do its work there (README "AWS
connections"). No secret is stored: a connection names a role, never a key."""
