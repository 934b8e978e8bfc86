-- The cost ledger: one row per attempt started under a daily budget
-- (limits.budget_per_day_usd), shared by every runner on the state. A row
-- is reserved (its estimate) before the sandbox is made and settled (its
-- actual cost) when the attempt ends; the window sums actual_usd where
-- settled, reserved_usd where open. Times are ms since the Unix epoch.
CREATE TABLE cost_ledger (
	id           INTEGER PRIMARY KEY,
	cost_key     TEXT NOT NULL,     -- whose budget: 'state' (all of it)
	at           INTEGER NOT NULL,  -- the attempt's start: its place in the window
	plan_name    TEXT NOT NULL,
	run_id       TEXT NOT NULL,
	task_id      TEXT NOT NULL,
	attempt      INTEGER NOT NULL,
	reserved_usd REAL NOT NULL,
	actual_usd   REAL,              -- NULL while the attempt runs
	settled_at   INTEGER,
	settled_by   TEXT               -- 'attempt' | 'lost' (recovery: at the estimate)
);
CREATE INDEX cost_ledger_window ON cost_ledger (cost_key, at);
CREATE INDEX cost_ledger_task ON cost_ledger (plan_name, task_id, at);
