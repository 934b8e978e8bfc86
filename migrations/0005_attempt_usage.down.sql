ALTER TABLE attempts DROP COLUMN cpu_ms;
ALTER TABLE attempts DROP COLUMN memory_peak;
