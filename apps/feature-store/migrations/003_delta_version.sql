-- For views read from a Delta table: the table version the last incremental materialisation read, so the next
-- one reads only the files added since (late rows included), not only rows after the time watermark.
ALTER TABLE materialization_state ADD COLUMN delta_version bigint;
