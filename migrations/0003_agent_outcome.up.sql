-- What a coding agent said about an attempt (runner/agent-stream.h: its
-- final result, error, turns, session, tokens, cost, final text), and
-- what the attempt cost by which measure (cost_source: agent, tokens,
-- time, none). One row per attempt of an agent task whose output is read.
CREATE TABLE agent_outcomes (
	run_id             TEXT NOT NULL,
	task_id            TEXT NOT NULL,
	attempt            INTEGER NOT NULL,
	format             TEXT NOT NULL,
	result             TEXT NOT NULL,
	error              TEXT,
	subtype            TEXT,
	warning            TEXT,
	retries            INTEGER NOT NULL,
	turns              INTEGER NOT NULL,
	tool_calls         INTEGER NOT NULL,
	session_id         TEXT,
	model              TEXT,
	input_tokens       INTEGER,  -- NULL: the agent reported no tokens
	output_tokens      INTEGER,
	cache_read_tokens  INTEGER,
	cache_write_tokens INTEGER,
	reasoning_tokens   INTEGER,
	agent_cost_usd     REAL,     -- what the agent reported, or NULL
	cost_usd           REAL NOT NULL,
	cost_source        TEXT NOT NULL,
	final_text         TEXT,
	PRIMARY KEY (run_id, task_id, attempt),
	FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, id)
		ON DELETE CASCADE
);
