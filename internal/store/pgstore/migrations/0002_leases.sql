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

-- A settlement spends from its node's lease: a lease that is gone (its
-- node was thought dead and the lease reclaimed) fails the settlement's
-- transaction, and one that is short fails the CHECK above.
CREATE FUNCTION spend_credit_lease(acct text, nd text, amt bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE credit_leases SET amount = amount - amt WHERE account_id = acct AND node = nd;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'node % settles % nano-USD on % without a lease (it expired and was reclaimed)', nd, amt, acct;
	END IF;
	UPDATE credit_accounts SET leased = leased - amt WHERE account_id = acct;
END
$$;
