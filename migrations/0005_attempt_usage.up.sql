-- What each attempt used, from its cgroup (NULL where the backend cannot
-- tell: e2b, or a host without a writable cgroup).
ALTER TABLE attempts ADD COLUMN memory_peak INTEGER;  -- bytes
ALTER TABLE attempts ADD COLUMN cpu_ms INTEGER;       -- user + system
