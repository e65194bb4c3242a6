// Package pgstore is the gateway's PostgreSQL storage engine: every node
// on the same database shares all state. It implements the interfaces
// the rest of the gateway declares — manage.Store (resources, usage
// queries), credits.Store (the credit ledger) and store.UsageStorer (the
// usage Writer's batches) — with the semantics of boltstore, checked by
// the same conformance suite, and is the only package that imports pgx.
//
// # Schema
//
// migrations/NNNN_*.sql, embedded, are applied by Open in one transaction
// holding pg_advisory_xact_lock(migrationLock), so nodes starting at once
// migrate one at a time; schema_version lists those applied. A binary
// that finds a version higher than its last migration refuses to start,
// naming both. The tables (0001_init.sql):
//
//	meta               key → bytes (SetMetaIfAbsent: the secret-key check)
//	resources          (kind, id) → jsonb document, for every store.Kinds
//	access_key_hashes  token hash → access key id, unique: a key's current
//	                   and previous hash; a hash of another key is refused
//	credit_accounts    balance (bigint nano-USD), updated_at; leased is
//	                   reserved for leases (unused yet)
//	credit_lots        (account, lot) → remaining + jsonb lot; a partial
//	                   index on remaining > 0 serves OpenLots
//	credit_entries     (account, entry) → jsonb entry
//	credit_idempotency (account, key) → jsonb purchase
//	credit_settled     request id → entry ids
//	usage_events       one typed row per attempt, indexed by (ts, seq),
//	                   request id, (access key, ts, seq), (account, ts, seq)
//
// Ids are text COLLATE "C", so id order is byte order as in bbolt; money
// and tokens are bigint, never floats. Timestamps of usage events and
// account records are timestamptz, kept to the microsecond; lots and
// entries keep Go's nanoseconds in their JSON.
//
// # Transactions and locks
//
//   - ViewResources, ViewLedger and the usage queries: a read-only
//     REPEATABLE READ snapshot; they lock nothing.
//   - UpdateResources: READ COMMITTED, first taking
//     pg_advisory_xact_lock(resourceLock), so resource writers run one at
//     a time across all nodes and a reference check commits with the
//     change it guards.
//   - UpdateLedger and BatchLedger: READ COMMITTED; the first Account,
//     PutAccount, OpenLots or PutLot of an account in a transaction locks
//     its credit_accounts row (INSERT … ON CONFLICT DO NOTHING, then
//     SELECT … FOR UPDATE; a row first created this way has updated_at
//     NULL and reads as the zero record), so every later statement sees
//     the account as its previous writer committed it and two nodes never
//     draw the same lot. Ledger() of a resource transaction locks the same
//     way.
//   - BatchLedger runs the calls queued on this DB in one transaction
//     (group commit: many settlements of one busy account share a commit
//     instead of queueing on its row lock); when that fails, each runs
//     again alone.
//   - Ledger writes (PutAccount, PutLot, PutEntry, PutIdempotentPurchase,
//     MarkSettled, JournalUsage) are deferred: they go to the server in
//     one round trip with the transaction's next read or before its
//     commit. A settlement costs BEGIN, Settled, the account lock,
//     OpenLots, its writes, COMMIT (TestRoundTripsPerRequest counts eight
//     for a settlement on its own, leases included; none for a
//     reservation its node's lease covers).
//   - JournalUsage inserts the settlement's usage events in full in its
//     transaction and says so (stored), so they are not handed to the
//     usage writer; StoreUsage (one INSERT … SELECT FROM unnest(…) ON
//     CONFLICT (id) DO NOTHING per batch) stores the others.
//   - Credit leases (lease.go, migration 0002): every lease operation
//     locks the account row, then the lease row; a settlement spends its
//     node's lease with a deferred spend_credit_lease call, which fails
//     the transaction when the lease is gone or short.
//   - Per-key limits (limits.go, migration 0003): an admission holds
//     pg_advisory_xact_lock on the key while it sums the key's admissions
//     of every node and records its own.
//   - Usage retention (retention.go): pg_try_advisory_xact_lock
//     (retentionLock), so one node deletes at a time and the others skip.
//
// A function's error rolls its transaction back and is returned as is. A
// transaction PostgreSQL aborted as a serialization failure (40001) or a
// deadlock (40P01) runs again, a few times; so does one whose settled
// mark met another node's for the same request, which then sees that
// mark and charges nothing.
//
// # Notifications
//
// A committed UpdateResources that wrote something sends
// pg_notify('ai_gateway_changes', kind) for each kind it wrote, in its
// transaction (delivered only if it commits). WatchChanges listens on a
// connection of its own, reconnecting with backoff, and calls its
// function for each notification and once after every (re)connection.
package pgstore
