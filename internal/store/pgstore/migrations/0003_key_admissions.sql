-- 0003: per-key limits across nodes. Every admission of an access key with
-- limits, on any node, is a row: the requests and tokens of the last
-- minute and the spend of the UTC day are sums over them. Rows older than
-- two days are deleted as admissions go.

CREATE TABLE key_admissions (
	id     bigserial PRIMARY KEY,
	key_id text COLLATE "C" NOT NULL,
	at     timestamptz NOT NULL,
	tokens bigint NOT NULL,
	cost   bigint NOT NULL
);
CREATE INDEX key_admissions_key_at ON key_admissions (key_id, at);
