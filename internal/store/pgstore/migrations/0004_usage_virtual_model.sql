-- 0004: the virtual model a request named, on its usage events
-- (ngrok.ai's virtualModel); empty when it named a model.

ALTER TABLE usage_events ADD COLUMN virtual_model text NOT NULL DEFAULT '';
