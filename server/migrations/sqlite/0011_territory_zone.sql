-- A territory's IANA time zone (NULL: Asia/Taipei), read from its document: its "today", "overdue" and ageing.
ALTER TABLE rm_territories ADD COLUMN time_zone TEXT;
