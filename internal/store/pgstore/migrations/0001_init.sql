-- 0001: the gateway's state, as boltstore keeps it. Ids are compared
-- bytewise (COLLATE "C"), the order bbolt's keys have; money and tokens
-- are bigint (nano-USD, counts).

CREATE TABLE meta (
	key text COLLATE "C" PRIMARY KEY,
	val bytea NOT NULL
);

-- Management resources: JSON documents by kind (store.Kinds) and id.
CREATE TABLE resources (
	kind text COLLATE "C" NOT NULL,
	id   text COLLATE "C" NOT NULL,
	doc  jsonb NOT NULL,
	PRIMARY KEY (kind, id)
);

-- Every token hash (current and previous) of an access key, unique.
CREATE TABLE access_key_hashes (
	hash   bytea PRIMARY KEY,
	key_id text COLLATE "C" NOT NULL
);
CREATE INDEX access_key_hashes_key_id ON access_key_hashes (key_id);

-- Credit accounts. A row whose updated_at is NULL is a lock placeholder
-- (an account a transaction locked before the ledger ever wrote it): it
-- reads as the zero record and is not listed. leased is the budget nodes
-- hold on lease (unused by 0001's code).
CREATE TABLE credit_accounts (
	account_id text COLLATE "C" PRIMARY KEY,
	balance    bigint NOT NULL DEFAULT 0,
	updated_at timestamptz,
	leased     bigint NOT NULL DEFAULT 0
);

CREATE TABLE credit_lots (
	account_id text COLLATE "C" NOT NULL,
	lot_id     text COLLATE "C" NOT NULL,
	remaining  bigint NOT NULL,
	doc        jsonb NOT NULL,
	PRIMARY KEY (account_id, lot_id)
);
CREATE INDEX credit_lots_open ON credit_lots (account_id, lot_id) WHERE remaining > 0;

CREATE TABLE credit_entries (
	account_id text COLLATE "C" NOT NULL,
	entry_id   text COLLATE "C" NOT NULL,
	doc        jsonb NOT NULL,
	PRIMARY KEY (account_id, entry_id)
);

CREATE TABLE credit_idempotency (
	account_id text COLLATE "C" NOT NULL,
	key        text COLLATE "C" NOT NULL,
	doc        jsonb NOT NULL,
	PRIMARY KEY (account_id, key)
);

-- Requests charged already, with the entries that charged them
-- (comma-separated).
CREATE TABLE credit_settled (
	request_id text COLLATE "C" PRIMARY KEY,
	entry_ids  text NOT NULL
);

-- Usage events, one row per upstream attempt. seq orders events of the
-- same timestamp by arrival; final marks the attempt that ended its
-- request (store.UsageEvent.Final).
CREATE TABLE usage_events (
	id                 text COLLATE "C" PRIMARY KEY,
	seq                bigint GENERATED ALWAYS AS IDENTITY,
	request_id         text COLLATE "C" NOT NULL,
	attempt            integer NOT NULL,
	ts                 timestamptz NOT NULL,
	access_key_id      text COLLATE "C" NOT NULL,
	account_id         text COLLATE "C" NOT NULL,
	provider_id        text COLLATE "C" NOT NULL,
	model              text COLLATE "C" NOT NULL,
	endpoint           text NOT NULL,
	key_source         text NOT NULL,
	status             integer NOT NULL,
	streaming          boolean NOT NULL,
	stop_reason        text NOT NULL,
	input_tokens       bigint NOT NULL,
	output_tokens      bigint NOT NULL,
	cache_read_tokens  bigint NOT NULL,
	cache_write_tokens bigint NOT NULL,
	reasoning_tokens   bigint NOT NULL,
	usage_estimated    boolean NOT NULL,
	cost               bigint NOT NULL,
	fee                bigint NOT NULL,
	provider_key_id    text NOT NULL,
	latency_ms         bigint NOT NULL,
	ttft_ms            bigint NOT NULL,
	retry_action       text NOT NULL,
	error              text NOT NULL,
	final              boolean NOT NULL
);
CREATE INDEX usage_events_ts ON usage_events (ts, seq);
CREATE INDEX usage_events_request ON usage_events (request_id);
CREATE INDEX usage_events_access_key ON usage_events (access_key_id, ts, seq);
CREATE INDEX usage_events_account ON usage_events (account_id, ts, seq);
