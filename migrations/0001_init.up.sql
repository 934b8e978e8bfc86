-- Runs, tasks, attempts, the event log, the caps ledger and the hash cache.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	plan_name   TEXT NOT NULL,
	plan_path   TEXT NOT NULL,
	plan_sha256 TEXT NOT NULL,
	backend     TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN
		('running', 'succeeded', 'failed', 'interrupted', 'error', 'lost')),
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER,
	host        TEXT NOT NULL,
	pid         INTEGER NOT NULL,
	tasks_total INTEGER NOT NULL DEFAULT 0,
	exit_code   INTEGER
);
CREATE INDEX runs_plan ON runs (plan_name, started_at);

CREATE TABLE tasks (
	run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	status      TEXT NOT NULL CHECK (status IN
		('queued', 'running', 'succeeded', 'failed', 'timed_out',
		 'cancelled', 'skipped', 'lost')),
	reason      TEXT,
	exit_code   INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER,
	ended_at    INTEGER,
	sandbox_id  TEXT,
	files_added    INTEGER NOT NULL DEFAULT 0,
	files_modified INTEGER NOT NULL DEFAULT 0,
	files_deleted  INTEGER NOT NULL DEFAULT 0,
	bytes_pulled   INTEGER NOT NULL DEFAULT 0,
	cost_usd    REAL NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, id)
);

CREATE TABLE attempts (
	run_id      TEXT NOT NULL,
	task_id     TEXT NOT NULL,
	attempt     INTEGER NOT NULL,
	status      TEXT NOT NULL,
	exit_code   INTEGER,
	reason      TEXT,
	backend     TEXT NOT NULL,
	sandbox_id  TEXT,
	host        TEXT NOT NULL,
	pid         INTEGER NOT NULL,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER,
	PRIMARY KEY (run_id, task_id, attempt),
	FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, id)
		ON DELETE CASCADE
);

CREATE TABLE events (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	run_id  TEXT,
	task_id TEXT,
	level   TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
	kind    TEXT NOT NULL,
	message TEXT NOT NULL,
	data    TEXT
);
CREATE INDEX events_run ON events (run_id, id);

-- The caps ledger: one row per sandbox start, shared by every run and
-- every plan that uses this state. cap_key is the backend (local, e2b).
CREATE TABLE starts (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	cap_key TEXT NOT NULL,
	run_id  TEXT,
	task_id TEXT
);
CREATE INDEX starts_key_at ON starts (cap_key, at);

-- File hashes by absolute path and (size, mtime, inode), so that an
-- unchanged workspace is not read again; scanned = the secret-scan rules
-- version the content was found clean with (0: not scanned clean).
CREATE TABLE hash_cache (
	path     TEXT PRIMARY KEY,
	size     INTEGER NOT NULL,
	mtime_ns INTEGER NOT NULL,
	inode    INTEGER NOT NULL,
	sha256   BLOB NOT NULL,
	scanned  INTEGER NOT NULL DEFAULT 0
);
