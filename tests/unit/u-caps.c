#include "runner.h"
#include "caps.h"
#include "fs.h"
#include "store.h"
#include "tap.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define BASE 1790000000000LL /* a fixed "now" for the fake clock */

/*
 * Each row: at this time, try a start; expect taken or full, and when
 * full, when the next slot frees and which cap said no.
 */
struct row {
	int64_t at;
	int want;     /* CAPS_TAKEN or CAPS_FULL */
	int64_t next; /* when full */
	const char *which;
	const char *what;
};

static void run_rows(struct store *st, const struct caps *c,
		     const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct strbuf err = STRBUF_INIT;
		int64_t next;
		const char *which;
		int v = caps_try_start(st, c, BASE + rows[i].at, "run", "t",
				       &next, &which, &err);
		is_int(v, rows[i].want, "%s", rows[i].what);
		if (rows[i].want == CAPS_FULL) {
			is_int(next - BASE, rows[i].next,
			       "  ... and the next slot is at +%lldms",
			       (long long)rows[i].next);
			const char *want = rows[i].which ? rows[i].which : "?";
			is_str(which, want, "  ... said by %s", want);
		}
		strbuf_release(&err);
	}
}

/* Try a start under c for task id at +at with sp's estimate inputs. */
static int spend(struct store *st, const struct caps *c, int64_t at,
		 const char *id, double max_cost, double def,
		 struct caps_spend *sp, int64_t *next, const char **which)
{
	struct strbuf err = STRBUF_INIT;
	int v;

	*sp = (struct caps_spend){ .plan = "p",
				   .run_id = "r",
				   .task_id = id,
				   .attempt = 1,
				   .max_cost_usd = max_cost,
				   .default_usd = def };
	v = caps_try_spend(st, c, BASE + at, sp, next, which, &err);
	if (v < 0)
		printf("# %s\n", err.buf);
	strbuf_release(&err);
	return v;
}

static void settle(struct store *st, int64_t id, double usd)
{
	struct strbuf err = STRBUF_INIT;
	ok(caps_settle(st, id, usd, BASE, &err) == 0, "settle #%lld at $%.2f",
	   (long long)id, usd);
	strbuf_release(&err);
}

/* The daily budget's arithmetic, on a store of its own. */
static void budget_tests(void)
{
	char dir[] = "/tmp/u-caps-budget.XXXXXX";
	const struct caps c = { "local", 0, 0, 5.00 };
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	struct caps_spend sp;
	int64_t next, id1, id2;
	const char *which;

	if (!mkdtemp(dir) || store_open(dir, STORE_MIGRATE, &st, &err) < 0) {
		printf("Bail out! cannot open a store: %s\n", err.buf);
		exit(1);
	}
	is_int(spend(st, &c, 0, "a", 2.0, 0, &sp, &next, &which), CAPS_TAKEN,
	       "budget: $2 reserved of $5");
	is_str(sp.estimate_from, "its max_cost_usd",
	       "  ... from max_cost_usd");
	id1 = sp.ledger_id;
	settle(st, id1, 1.5);
	is_int(spend(st, &c, HOUR, "b", 2.0, 0, &sp, &next, &which),
	       CAPS_TAKEN, "$1.50 spent + $2 reserved");
	id2 = sp.ledger_id;
	is_int(spend(st, &c, 2 * HOUR, "c", 2.0, 0, &sp, &next, &which),
	       CAPS_FULL, "$3.50 spent or reserved + $2 is past $5");
	is_str(which, "budget_per_day_usd", "  ... said by the budget");
	ok(sp.spent_usd > 3.49 && sp.spent_usd < 3.51, "  ... $3.50 counted");
	is_int(next - BASE, 2 * HOUR + CAPS_BUDGET_RECHECK_MS,
	       "  ... an open reservation: look again soon");
	settle(st, id2, 0.5);
	is_int(spend(st, &c, 2 * HOUR, "c", 2.0, 0, &sp, &next, &which),
	       CAPS_TAKEN, "settled for less: room for $2 again");
	settle(st, sp.ledger_id, 2.0);
	is_int(spend(st, &c, 3 * HOUR, "d", 2.0, 0, &sp, &next, &which),
	       CAPS_FULL, "$4 spent + $2 is past $5");
	is_int(next - BASE, 24 * HOUR,
	       "  ... until the first $1.50 leaves the window");
	is_int(spend(st, &c, 3 * HOUR, "e", 0, 0, &sp, &next, &which),
	       CAPS_TAKEN, "an estimate of 0 goes while there is room");
	settle(st, sp.ledger_id, 1.0);
	is_int(spend(st, &c, 4 * HOUR, "f", 0, 0, &sp, &next, &which),
	       CAPS_FULL, "$5 of $5 spent: not even an estimate of 0");
	is_int(next - BASE, 24 * HOUR, "  ... until the first leaves");
	is_int(spend(st, &c, 4 * HOUR, "g", 6.0, 0, &sp, &next, &which),
	       CAPS_NEVER, "an estimate over the whole budget never fits");
	is_int(spend(st, &c, 24 * HOUR, "a", 0, 0.3, &sp, &next, &which),
	       CAPS_TAKEN, "a day later the first $1.50 is out ($3.50 left)");
	ok(sp.spent_usd > 3.49 && sp.spent_usd < 3.51, "  ... $3.50 counted");
	is_str(sp.estimate_from, "its last cost", "  ... a's last cost");
	ok(sp.estimate_usd == 1.5, "  ... $1.50");
	settle(st, sp.ledger_id, 0.2);
	is_int(spend(st, &c, 24 * HOUR, "h", 0, 0.3, &sp, &next, &which),
	       CAPS_TAKEN, "no history: estimate_usd");
	is_str(sp.estimate_from, "estimate_usd", "  ... estimate_usd");
	ok(sp.estimate_usd == 0.3, "  ... $0.30");
	store_close(st);
	fs_rm_rf(dir, &err);
	strbuf_release(&err);
}

int main(void)
{
	char dir[] = "/tmp/u-caps.XXXXXX";
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	int n = -1;

	if (!mkdtemp(dir) || store_open(dir, STORE_MIGRATE, &st, &err) < 0) {
		printf("Bail out! cannot open a store: %s\n", err.buf);
		return 1;
	}

	{
		const struct caps hourly = { "hourly", 3, 0, 0 };
		const struct row rows[] = {
			{ 0, CAPS_TAKEN, 0, NULL, "first start" },
			{ 10 * MIN, CAPS_TAKEN, 0, NULL, "second start" },
			{ 20 * MIN, CAPS_TAKEN, 0, NULL,
			  "third start fills it" },
			{ 30 * MIN, CAPS_FULL, HOUR, "per_hour",
			  "fourth within the hour is refused" },
		};

		run_rows(st, &hourly, rows, 4);
		/*
		 * The window is (now - 1h, now]: a start exactly one hour
		 * old has left it, so at +1h a slot is free again.
		 */
		{
			const struct row more[] = {
				{ HOUR, CAPS_TAKEN, 0, NULL,
				  "a start exactly 1h old has left the "
				  "window" },
				{ HOUR + 1, CAPS_FULL, HOUR + 10 * MIN,
				  "per_hour",
				  "full again until the second "
				  "start leaves" },
				{ HOUR + 10 * MIN, CAPS_TAKEN, 0, NULL,
				  "and then there is a slot" },
			};
			run_rows(st, &hourly, more, ARRAY_SIZE(more));
		}
	}
	{
		const struct caps daily = { "daily", 100, 2, 0 };
		const struct row rows[] = {
			{ 0, CAPS_TAKEN, 0, NULL, "daily: first" },
			{ 5 * HOUR, CAPS_TAKEN, 0, NULL, "daily: second" },
			{ 6 * HOUR, CAPS_FULL, 24 * HOUR, "per_day",
			  "daily cap refuses the third" },
			{ 24 * HOUR, CAPS_TAKEN, 0, NULL,
			  "a day later there is room" },
		};
		run_rows(st, &daily, rows, ARRAY_SIZE(rows));
	}
	{
		const struct caps both = { "both", 1, 1, 0 };
		const struct row rows[] = {
			{ 0, CAPS_TAKEN, 0, NULL, "both: first" },
			{ MIN, CAPS_FULL, 24 * HOUR, "per_day",
			  "when both are full, the later freeing one counts" },
		};
		run_rows(st, &both, rows, ARRAY_SIZE(rows));
	}
	{
		const struct caps other = { "other-plan", 1, 0, 0 };
		const struct row rows[] = {
			{ 0, CAPS_TAKEN, 0, NULL,
			  "caps are per key: another plan has its own" },
		};
		run_rows(st, &other, rows, ARRAY_SIZE(rows));
	}
	{
		const struct caps none = { "none", 0, 0, 0 };
		for (int i = 0; i < 50; i++) {
			int64_t next;
			const char *which;
			if (caps_try_start(st, &none, BASE, "r", "t", &next,
					   &which, &err) != CAPS_TAKEN)
				break;
			n = i + 1;
		}
		is_int(n, 50, "no caps: every start is taken (and recorded)");
	}
	ok(caps_count(st, "none", HOUR, BASE, &n, &err) == 0 && n == 50,
	   "caps_count sees the 50 starts");

	store_close(st);
	fs_rm_rf(dir, &err);
	strbuf_release(&err);
	budget_tests();
	return done_testing();
}
