"""Bulk onboarding: import many existing API keys from a CSV file with ImportApiKeys.

The file (uploaded on /console/keys/import/ or given to `manage.py import_keys`) has a header
and the columns `customer` (a customer's slug), `name`, `key` (the secret the customer already
uses) and optionally `enabled`. Every row is checked up front (`check_file`); a file that cannot
be read at all is refused and changes nothing, a bad row is skipped with its line number and
the reason, and the good rows go on. Each key joins the usage plan of its customer's tier. A
file whose keys would pass API Gateway's 10,000 keys in an account and region (counting the rows
of imports still running) is refused as a whole (keys.capacity.refuse_import_past_cap).

One job per module; callers import a name from the module that owns it:

* `checking`: reading and checking the file (FileRefused, CheckedRow, CheckedFile, check_file).
* `vault`: the Fernet-encrypted secrets in the shared cache, a chunk per entry.
* `starting`: start_import, resume_import, is_stalled; the import's token and the rows' ids.
* `running`: the Celery task's body (run_import, run_import_task), a chunk at a time.
* `linking`: recording the keys AWS took as the customers' synced keys.
* `report`: the CSV of what became of every row (report_csv).

How the secrets travel (they are never stored in the database, nor sent through the broker):

1. The web request (or the command) reads the file, keeps each good row as a `KeyImportRow`
   with only the SHA-256 and 5-character prefix of its key, and puts the values themselves,
   1,000 rows per entry, in the shared cache (Redis in production, the file cache in the
   embedded default) **encrypted** with Fernet (AES-128-CBC + HMAC-SHA256, from
   `cryptography`) under a key derived from SECRET_KEY (`salted_hmac`, its own salt). Each entry
   expires after SECRETS_TTL (6 hours; Fernet checks the age too) and is deleted as soon as its
   rows reached API Gateway. The cache entries are written inside the upload's transaction: if
   the cache cannot take them the upload fails and nothing is kept.
2. The Celery task `run_key_import` receives the import's id only. It decrypts one chunk, checks
   every value against the SHA-256 kept for its row, builds the ImportApiKeys CSV in memory and
   drops it after the call. Nothing logs the values (botocore is capped at WARNING).

So a database dump, a log or a broker message never holds a secret, and the encrypted copy lives
only as long as the import needs it. If it expired before its rows were sent (a worker down for
hours), those rows fail with a message asking to upload them again: nothing is half-done.

How one chunk reaches AWS, and why a crash or retry neither loses nor duplicates a key:

* Every row gets its future ApiKey's public_id at upload, so its AWS name `tollgate-<uuid>` is
  fixed; the uuid starts with the import's token and the chunk number, so one GetApiKeys
  (nameQuery = that prefix, 500 a page) lists exactly the chunk's keys.
* Before the first chunk the task lists the account's keys once (with values, hashed at once): a
  value AWS already holds under another name would be *overwritten* by ImportApiKeys ("the most
  recent version overwrites"), so such a row fails instead of taking over someone's key. A value
  held under the row's own name is a previous attempt's work and is sent again: AWS overwrites it
  with the same data, so no duplicate.
* One ImportApiKeys call per chunk of CHUNK_SIZE rows with `failonwarnings=false`; each warning
  ("Line N: ...") fails its row with the reason. The chunk is then listed by name, each key is
  checked against the row's SHA-256, and the ApiKey rows are recorded *synced* by
  `keys.services.keys_take_over` (the one write path for keys that already exist in AWS) — in
  one transaction with the rows' new status — so nothing waits in "pending" for a sync task
  that would create the key with an AWS-generated value instead. Progress counters follow each
  chunk.
* Throttling, 5xx and timeouts retry the task (exponential backoff, full jitter); waiting for
  the AWS rate budget or for another worker's lock is not a failed attempt. The policy is the
  sync tasks' own (`portal.sync.retry_countdown`). Rows already settled are not sent again.
"""
