-- 0005: the firewall's decisions on a usage event, as a JSON array
-- (store.FirewallDecision); empty when the firewall decided nothing.

ALTER TABLE usage_events ADD COLUMN firewall text NOT NULL DEFAULT '';
