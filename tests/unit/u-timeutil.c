/*
 * timeutil's formatters: every time and duration runner shows or writes
 * comes from these (the table, runs, show, report, run.json, --json).
 */
#include "runner.h"
#include "timeutil.h"
#include "tap.h"

static void test_utc(void)
{
	static const struct {
		int64_t ms;
		const char *iso_ms, *iso_s, *human;
	} t[] = {
		{ 1795315440123, "2026-11-22T02:44:00.123Z",
		  "2026-11-22T02:44:00Z", "2026-11-22 02:44:00Z" },
		{ 951868799007, "2000-02-29T23:59:59.007Z",
		  "2000-02-29T23:59:59Z", "2000-02-29 23:59:59Z" },
		{ 0, "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00Z",
		  "1970-01-01 00:00:00Z" },
	};
	char buf[40];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		time_iso8601_utc(t[i].ms, buf, sizeof(buf));
		is_str(buf, t[i].iso_ms, "iso8601 with ms of %" PRId64,
		       t[i].ms);
		time_iso8601_utc_s(t[i].ms, buf, sizeof(buf));
		is_str(buf, t[i].iso_s, "iso8601 to the second of %" PRId64,
		       t[i].ms);
		time_human_utc(t[i].ms, buf, sizeof(buf));
		is_str(buf, t[i].human, "human UTC of %" PRId64, t[i].ms);
	}
	time_iso8601_utc(1795315440123, buf, 11);
	is_str(buf, "2026-11-22", "truncated to the buffer");
}

static void test_elapsed(void)
{
	static const struct {
		int64_t ms;
		const char *out;
	} t[] = {
		{ -1, "-" },	       { 0, "0ms" },	      { 999, "999ms" },
		{ 1000, "1.0s" },      { 3249, "3.2s" },      { 59999, "60.0s" },
		{ 60000, "1m00s" },    { 65000, "1m05s" },    { 3599999, "59m59s" },
		{ 3600000, "1h00m" },  { 7380000, "2h03m" },  { 90061000, "25h01m" },
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		time_format_elapsed(t[i].ms, buf, sizeof(buf));
		is_str(buf, t[i].out, "elapsed %" PRId64 " ms", t[i].ms);
	}
}

int main(void)
{
	test_utc();
	test_elapsed();
	return done_testing();
}
