-- What `exec --if-due` has handled for each scheduled plan (by name).
-- Times are seconds since the Unix epoch.
CREATE TABLE schedules (
	plan_name  TEXT PRIMARY KEY,
	armed_at   INTEGER NOT NULL,
	last_fire  INTEGER NOT NULL,  -- the newest fire time handled
	last_check INTEGER NOT NULL
);
