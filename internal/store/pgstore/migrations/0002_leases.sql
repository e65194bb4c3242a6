-- 0002: credit leases (many nodes). A node leases a slice of an account's
-- balance (credit_accounts.leased sums the leases of the account) and
-- spends it with its settlements; a lease that is not renewed before
-- expires_at (database time) is returned to its account by any node.

CREATE TABLE credit_leases (
	account_id text COLLATE "C" NOT NULL,
	node       text COLLATE "C" NOT NULL,
	amount     bigint NOT NULL CHECK (amount >= 0),
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (account_id, node)
);
CREATE INDEX credit_leases_node ON credit_leases (node);
CREATE INDEX credit_leases_expires ON credit_leases (expires_at);

ALTER TABLE credit_accounts ADD CONSTRAINT credit_accounts_leased_nonnegative CHECK (leased >= 0);
