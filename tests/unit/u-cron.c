#include "runner.h"
#include "cron.h"
#include "tap.h"

#include <sys/stat.h>
#include <time.h>

/*
 * Expected fire times were worked out by hand and checked with
 * `TZ=Europe/Berlin date -d @SECONDS +%FT%T%:z` and `date -d DAY +%a`.
 * DST in 2026: Europe/Berlin 03-29 02:00 CET -> 03:00 CEST and 10-25
 * 03:00 CEST -> 02:00 CET; America/New_York 03-08 02:00 EST -> 03:00 EDT
 * and 11-01 02:00 EDT -> 01:00 EST; Australia/Sydney 10-04 02:00 AEST ->
 * 03:00 AEDT and 04-05 03:00 AEDT -> 02:00 AEST. In 2040 (past the
 * TZif file's explicit transitions, so from its POSIX footer rule)
 * Berlin changes on 03-25 and 10-28.
 */

struct next_case {
	const char *expr, *tz, *from;
	const char *want; /* space-separated fire times */
};

static const struct next_case next_cases[] = {
	/* Spring forward, fixed-time: once, when the gap ends. */
	{ "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
	  "2026-03-29T03:00:00+02:00 2026-03-30T02:30:00+02:00" },
	{ "0 2 * * *", "Europe/Berlin", "2026-03-28T12:00Z",
	  "2026-03-29T03:00:00+02:00 2026-03-30T02:00:00+02:00" },
	{ "0 2,3 * * *", "Europe/Berlin", "2026-03-29T00:00+01:00",
	  "2026-03-29T03:00:00+02:00 2026-03-30T02:00:00+02:00" },
	{ "30 2 * * *", "Europe/Berlin", "2026-03-29T03:00:00+02:00",
	  "2026-03-30T02:30:00+02:00" },
	/* Spring forward, wildcard: real time, no catch-up. */
	{ "*/15 * * * *", "Europe/Berlin", "2026-03-29T01:40+01:00",
	  "2026-03-29T01:45:00+01:00 2026-03-29T03:00:00+02:00 "
	  "2026-03-29T03:15:00+02:00" },
	{ "30 * * * *", "Europe/Berlin", "2026-03-29T01:00+01:00",
	  "2026-03-29T01:30:00+01:00 2026-03-29T03:30:00+02:00" },
	/* Fall back, fixed-time: the first occurrence only. */
	{ "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00Z",
	  "2026-10-25T02:30:00+02:00 2026-10-26T02:30:00+01:00" },
	{ "30 2 * * *", "Europe/Berlin", "2026-10-25T02:40+02:00",
	  "2026-10-26T02:30:00+01:00" },
	/* Fall back, wildcard: the repeated hour runs twice. */
	{ "*/15 * * * *", "Europe/Berlin", "2026-10-25T02:40+02:00",
	  "2026-10-25T02:45:00+02:00 2026-10-25T02:00:00+01:00 "
	  "2026-10-25T02:15:00+01:00" },
	{ "0 * * * *", "Europe/Berlin", "2026-10-25T01:30+02:00",
	  "2026-10-25T02:00:00+02:00 2026-10-25T02:00:00+01:00 "
	  "2026-10-25T03:00:00+01:00" },
	/* New York. */
	{ "30 2 * * *", "America/New_York", "2026-03-07T12:00Z",
	  "2026-03-08T03:00:00-04:00 2026-03-09T02:30:00-04:00" },
	{ "0 * * * *", "America/New_York", "2026-03-08T00:30-05:00",
	  "2026-03-08T01:00:00-05:00 2026-03-08T03:00:00-04:00 "
	  "2026-03-08T04:00:00-04:00" },
	{ "30 1 * * *", "America/New_York", "2026-10-31T12:00Z",
	  "2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00" },
	{ "0 1 * * *", "America/New_York", "2026-11-01T01:00:00-04:00",
	  "2026-11-02T01:00:00-05:00" },
	{ "*/30 1 * * *", "America/New_York", "2026-11-01T00:00-04:00",
	  "2026-11-01T01:00:00-04:00 2026-11-01T01:30:00-04:00 "
	  "2026-11-01T01:00:00-05:00 2026-11-01T01:30:00-05:00 "
	  "2026-11-02T01:00:00-05:00" },
	/* Southern hemisphere, and a half-hour DST shift. */
	{ "30 2 * * *", "Australia/Sydney", "2026-10-03T12:00+10:00",
	  "2026-10-04T03:00:00+11:00 2026-10-05T02:30:00+11:00" },
	{ "30 2 * * *", "Australia/Sydney", "2026-04-04T12:00+11:00",
	  "2026-04-05T02:30:00+11:00 2026-04-06T02:30:00+10:00" },
	{ "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00+10:30",
	  "2026-10-04T02:30:00+11:00 2026-10-05T02:15:00+11:00" },
	/* From the footer rule. */
	{ "30 2 * * *", "Europe/Berlin", "2040-03-24T12:00Z",
	  "2040-03-25T03:00:00+02:00 2040-03-26T02:30:00+02:00" },
	{ "30 2 * * *", "Europe/Berlin", "2040-10-28T00:00+02:00",
	  "2040-10-28T02:30:00+02:00 2040-10-29T02:30:00+01:00" },
	/* Without an offset, FROM is local to the zone. */
	{ "0 3 * * *", "Europe/Berlin", "2026-03-29T02:59",
	  "2026-03-30T03:00:00+02:00" },
	{ "*/20 * * * *", "Asia/Kolkata", "2026-01-01T00:05",
	  "2026-01-01T00:20:00+05:30 2026-01-01T00:40:00+05:30" },
	/* Month ends: the 31st skips short months. */
	{ "0 0 31 * *", "UTC", "2026-01-31T00:00Z",
	  "2026-03-31T00:00:00+00:00 2026-05-31T00:00:00+00:00 "
	  "2026-07-31T00:00:00+00:00 2026-08-31T00:00:00+00:00 "
	  "2026-10-31T00:00:00+00:00 2026-12-31T00:00:00+00:00" },
	{ "0 12 30 * *", "UTC", "2027-01-30T12:00Z",
	  "2027-03-30T12:00:00+00:00" },
	/* Leap days, including 2100, which is not one. */
	{ "0 0 29 2 *", "UTC", "2026-01-01T00:00Z",
	  "2028-02-29T00:00:00+00:00 2032-02-29T00:00:00+00:00" },
	{ "0 0 29 2 *", "UTC", "2096-03-01T00:00Z",
	  "2104-02-29T00:00:00+00:00" },
	/* DOM and DOW both restricted: either (the 13th or a Friday). */
	{ "0 0 13 * FRI", "UTC", "2026-04-01T00:00Z",
	  "2026-04-03T00:00:00+00:00 2026-04-10T00:00:00+00:00 "
	  "2026-04-13T00:00:00+00:00 2026-04-17T00:00:00+00:00 "
	  "2026-04-24T00:00:00+00:00 2026-05-01T00:00:00+00:00 "
	  "2026-05-08T00:00:00+00:00 2026-05-13T00:00:00+00:00" },
	/* "*\/2" in DOM counts as a star: odd days AND Mondays. */
	{ "0 0 */2 * MON", "UTC", "2026-01-01T00:00Z",
	  "2026-01-05T00:00:00+00:00 2026-01-19T00:00:00+00:00 "
	  "2026-02-09T00:00:00+00:00 2026-02-23T00:00:00+00:00" },
	{ "0 0 */28 2 */7", "UTC", "2097-01-01T00:00Z",
	  "2099-02-01T00:00:00+00:00 2105-02-01T00:00:00+00:00" },
	/* Names, ranges with steps, and 7 as Sunday. */
	{ "0 9-17/4 * jan-MAR/2 Mon-FRI", "UTC", "2026-03-27T00:00Z",
	  "2026-03-27T09:00:00+00:00 2026-03-27T13:00:00+00:00 "
	  "2026-03-27T17:00:00+00:00 2026-03-30T09:00:00+00:00 "
	  "2026-03-30T13:00:00+00:00 2026-03-30T17:00:00+00:00 "
	  "2026-03-31T09:00:00+00:00 2026-03-31T13:00:00+00:00 "
	  "2026-03-31T17:00:00+00:00 2027-01-01T09:00:00+00:00" },
	{ "0 12 * * 7", "UTC", "2026-01-01T00:00Z",
	  "2026-01-04T12:00:00+00:00 2026-01-11T12:00:00+00:00" },
	{ "0 0 * * 5-7", "UTC", "2026-01-01T00:00Z",
	  "2026-01-02T00:00:00+00:00 2026-01-03T00:00:00+00:00 "
	  "2026-01-04T00:00:00+00:00 2026-01-09T00:00:00+00:00" },
	{ "10/20 */6 * * *", "UTC", "2026-01-01T00:00Z",
	  "2026-01-01T00:10:00+00:00 2026-01-01T00:30:00+00:00 "
	  "2026-01-01T00:50:00+00:00 2026-01-01T06:10:00+00:00" },
	/* Macros. */
	{ "@yearly", "Europe/Berlin", "2026-03-28T22:30:00Z",
	  "2027-01-01T00:00:00+01:00 2028-01-01T00:00:00+01:00" },
	{ "@annually", "UTC", "2026-06-01T00:00Z",
	  "2027-01-01T00:00:00+00:00" },
	{ "@monthly", "Europe/Berlin", "2026-03-28T22:30:00Z",
	  "2026-04-01T00:00:00+02:00 2026-05-01T00:00:00+02:00" },
	{ "@weekly", "Europe/Berlin", "2026-03-28T22:30:00Z",
	  "2026-03-29T00:00:00+01:00 2026-04-05T00:00:00+02:00" },
	{ "@daily", "Europe/Berlin", "2026-03-28T22:30:00Z",
	  "2026-03-29T00:00:00+01:00 2026-03-30T00:00:00+02:00" },
	{ "@midnight", "UTC", "2026-12-31T23:59:59Z",
	  "2027-01-01T00:00:00+00:00" },
	{ "@hourly", "Europe/Berlin", "2026-03-28T22:30:00Z",
	  "2026-03-29T00:00:00+01:00 2026-03-29T01:00:00+01:00 "
	  "2026-03-29T03:00:00+02:00" },
	/* "Strictly after": a fire time equal to FROM is not repeated. */
	{ "* * * * *", "UTC", "2026-01-01T00:00:00Z",
	  "2026-01-01T00:01:00+00:00 2026-01-01T00:02:00+00:00" },
	{ "* * * * *", "UTC", "2026-01-01T00:00:30Z",
	  "2026-01-01T00:01:00+00:00" },
};

static void test_next(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(next_cases); i++) {
		const struct next_case *tc = &next_cases[i];
		struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
		struct cron_tz *tz = NULL;
		struct cron c;
		char buf[CRON_TIME_MAX];
		const char *p;
		unsigned col;
		time_t t;

		if (cron_parse(tc->expr, &c, &col, &err) < 0 ||
		    cron_tz_load(tc->tz, &tz, &err) < 0 ||
		    cron_parse_time(tc->from, tz, &t, &err) < 0) {
			ok(0, "next '%s' %s: %s", tc->expr, tc->tz, err.buf);
			goto next;
		}
		/* As many fire times as expected. */
		for (p = tc->want; p; p = strchr(p + 1, ' ')) {
			if (cron_next_tz(&c, tz, t, &t, &err) < 0) {
				strbuf_addf(&got, "%s(%s)", got.len ? " " : "",
					    err.buf);
				break;
			}
			cron_tz_format(tz, t, buf, sizeof(buf));
			strbuf_addf(&got, "%s%s", got.len ? " " : "", buf);
		}
		is_str(got.buf, tc->want, "next '%s' in %s after %s", tc->expr,
		       tc->tz, tc->from);
next:
		cron_tz_free(tz);
		strbuf_release(&err);
		strbuf_release(&got);
	}
}

struct parse_case {
	const char *expr;
	unsigned col;     /* 0: parses */
	const char *msg;  /* the whole message */
};

static const struct parse_case parse_cases[] = {
	{ "0 2 * * 1-5", 0, NULL },
	{ "  */5\t* * * *  ", 0, NULL },
	{ "0 0 1,15 JAN,jul sun", 0, NULL },
	{ "@DAILY", 0, NULL },
	{ "@hourly ", 0, NULL },
	{ "0 x * * *", 3, "hour: bad number 'x'" },
	{ "5x * * * *", 1, "minute: bad number '5x'" },
	{ "0 0 ? * *", 5, "day-of-month: bad number '?'" },
	{ "60 * * * *", 1, "minute: 60 is out of range 0-59" },
	{ "0 24 * * *", 3, "hour: 24 is out of range 0-23" },
	{ "0 0 0 * *", 5, "day-of-month: 0 is out of range 1-31" },
	{ "0 0 32 * *", 5, "day-of-month: 32 is out of range 1-31" },
	{ "0 0 * 13 *", 7, "month: 13 is out of range 1-12" },
	{ "0 0 * * 8", 9, "day-of-week: 8 is out of range 0-7" },
	{ "0 0 * * 1-09", 11, "day-of-week: 09 is out of range 0-7" },
	{ "99999999999 * * * *", 1,
	  "minute: 99999999999 is out of range 0-59" },
	{ "0 0 * FOO *", 7,
	  "month: unknown name 'FOO' (use JAN-DEC or 1-12)" },
	{ "0 0 * * FUNDAY", 9,
	  "day-of-week: unknown name 'FUNDAY' (use SUN-SAT or 0-7)" },
	{ "0 0 * * MON-", 13, "day-of-week: missing value" },
	{ "1,,2 * * * *", 3, "minute: empty list element" },
	{ "1, * * * *", 3, "minute: empty list element" },
	{ ",1 * * * *", 1, "minute: empty list element" },
	{ "", 1, "empty schedule (expected 5 fields: minute hour "
	  "day-of-month month day-of-week)" },
	{ "0 0 * *", 8, "missing day-of-week field (expected 5 fields: "
	  "minute hour day-of-month month day-of-week)" },
	{ "0 0 * * * *", 11, "too many fields: a schedule has 5 (minute "
	  "hour day-of-month month day-of-week), no seconds and no "
	  "command" },
	{ "0 0 * * * /bin/true", 11, "too many fields: a schedule has 5 "
	  "(minute hour day-of-month month day-of-week), no seconds and "
	  "no command" },
	{ "*/0 * * * *", 3, "minute: step 0 (a step is at least 1)" },
	{ "0 0 1-10/0 * *", 10, "day-of-month: step 0 (a step is at least "
	  "1)" },
	{ "*/ * * * *", 3, "minute: missing step after '/'" },
	{ "*/61 * * * *", 3, "minute: step 61 is larger than the range "
	  "0-59" },
	{ "5-1 * * * *", 1, "minute: range 5-1 is reversed (write it from "
	  "low to high)" },
	{ "0 0 * * FRI-MON", 9, "day-of-week: range FRI-MON is reversed "
	  "(write it from low to high)" },
	{ "*-5 * * * *", 2, "minute: unexpected '-'" },
	{ "@foo", 1, "unknown macro '@foo' (use @yearly, @monthly, "
	  "@weekly, @daily or @hourly)" },
	{ "@reboot", 1, "@reboot has no fire times; use a 5-field "
	  "schedule or a macro such as @daily" },
	{ "@daily 0", 8, "unexpected '0' after @daily" },
};

static void test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *tc = &parse_cases[i];
		struct strbuf err = STRBUF_INIT;
		struct cron c;
		unsigned col = 99;
		int ret = cron_parse(tc->expr, &c, &col, &err);

		if (!tc->col) {
			ok(!ret, "parse '%s'%s%s", tc->expr,
			   err.len ? ": " : "", err.buf);
		} else {
			is_int(col, tc->col, "parse '%s' fails at column %u",
			       tc->expr, tc->col);
			is_str(err.buf, tc->msg, "parse '%s' message",
			       tc->expr);
			ok(ret == -1 && !c.minute && !c.flags,
			   "parse '%s' returns -1, out zeroed", tc->expr);
		}
		strbuf_release(&err);
	}
}

struct bits_case {
	const char *expr;
	uint64_t minute;
	uint32_t hour, dom;
	uint16_t month;
	uint8_t dow;
	unsigned flags;
};

#define B(n) (UINT64_C(1) << (n))
#define ALL(lo, hi) (((UINT64_C(1) << ((hi) + 1)) - 1) & ~(B(lo) - 1))

static const struct bits_case bits_cases[] = {
	{ "* * * * *", ALL(0, 59), ALL(0, 23), ALL(1, 31), ALL(1, 12),
	  ALL(0, 6), CRON_MIN_STAR | CRON_HOUR_STAR | CRON_DOM_STAR |
	  CRON_DOW_STAR },
	{ "0,30 9-17/4 1/10 JAN-dec/3 7", B(0) | B(30), B(9) | B(13) | B(17),
	  B(1) | B(11) | B(21) | B(31), B(1) | B(4) | B(7) | B(10), B(0), 0 },
	{ "*/20 */12 */15 * 0-7/2", B(0) | B(20) | B(40), B(0) | B(12),
	  B(1) | B(16) | B(31), ALL(1, 12), B(0) | B(2) | B(4) | B(6),
	  CRON_MIN_STAR | CRON_HOUR_STAR | CRON_DOM_STAR },
	{ "59 23 31 12 SAT,sun", B(59), B(23), B(31), B(12), B(0) | B(6),
	  0 },
	{ "@weekly", B(0), B(0), ALL(1, 31), ALL(1, 12), B(0),
	  CRON_DOM_STAR },
	{ "@monthly", B(0), B(0), B(1), ALL(1, 12), ALL(0, 6),
	  CRON_DOW_STAR },
	{ "@yearly", B(0), B(0), B(1), B(1), ALL(0, 6), CRON_DOW_STAR },
	{ "@hourly", B(0), ALL(0, 23), ALL(1, 31), ALL(1, 12), ALL(0, 6),
	  CRON_HOUR_STAR | CRON_DOM_STAR | CRON_DOW_STAR },
};

static void test_bits(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bits_cases); i++) {
		const struct bits_case *tc = &bits_cases[i];
		struct strbuf err = STRBUF_INIT;
		struct cron c;
		unsigned col;

		if (cron_parse(tc->expr, &c, &col, &err) < 0) {
			ok(0, "bits '%s': %s", tc->expr, err.buf);
		} else {
			ok(c.minute == tc->minute && c.hour == tc->hour &&
			   c.dom == tc->dom && c.month == tc->month &&
			   c.dow == tc->dow, "bitsets of '%s'", tc->expr);
			is_int(c.flags, tc->flags, "star flags of '%s'",
			       tc->expr);
		}
		strbuf_release(&err);
	}
}

static void test_never(void)
{
	static const char *const never[] = {
		"0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *",
		"0 0 30,31 2 */2",
		/* Sundays Mar 25-31 at 02:xx: always Berlin's DST gap. */
		"* 2 25-31 3 */7",
	};
	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		struct strbuf err = STRBUF_INIT;
		struct cron c;
		unsigned col;
		time_t t = 0;
		int64_t ms;
		struct timespec a, b;

		cron_parse(never[i], &c, &col, &err);
		clock_gettime(CLOCK_MONOTONIC, &a);
		is_int(cron_next(&c, "Europe/Berlin", 1767225600, &t, &err),
		       -1, "'%s' never fires", never[i]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 +
		     (b.tv_nsec - a.tv_nsec) / 1000000;
		ok(!strncmp(err.buf, "the schedule never fires", 24),
		   "'%s': %s", never[i], err.buf);
		ok(ms < 1000, "'%s' answered in %" PRId64 " ms", never[i], ms);
		strbuf_release(&err);
	}
}

/* Leap days and yearly schedules are answered quickly, many times over. */
static void test_speed(void)
{
	struct strbuf err = STRBUF_INIT;
	struct cron_tz *tz = NULL;
	struct cron c;
	struct timespec a, b;
	unsigned col;
	time_t t = 1767225600; /* 2026-01-01 */
	int64_t ms;
	int fails = 0;

	cron_parse("0 0 29 2 *", &c, &col, &err);
	cron_tz_load("America/New_York", &tz, &err);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++)
		fails += cron_next_tz(&c, tz, t, &t, &err) < 0;
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	is_int(fails, 0, "1000 leap days in a row");
	ok(ms < 2000, "1000 leap days in %" PRId64 " ms", ms);
	cron_tz_free(tz);
	strbuf_release(&err);
}

struct tz_case {
	const char *name;
	const char *err; /* NULL: loads */
};

static const struct tz_case tz_cases[] = {
	{ "UTC", NULL },
	{ "Europe/Berlin", NULL },
	{ "America/Argentina/Buenos_Aires", NULL },
	{ "Etc/GMT+5", NULL },
	{ "", "invalid time zone name '' (use an IANA name such as "
	  "Europe/Berlin or UTC)" },
	{ "../etc/passwd", "invalid time zone name '../etc/passwd' (use an "
	  "IANA name such as Europe/Berlin or UTC)" },
	{ "Europe/../UTC", "invalid time zone name 'Europe/../UTC' (use an "
	  "IANA name such as Europe/Berlin or UTC)" },
	{ "/etc/localtime", "invalid time zone name '/etc/localtime' (use an "
	  "IANA name such as Europe/Berlin or UTC)" },
	{ "Europe//Berlin", "invalid time zone name 'Europe//Berlin' (use an "
	  "IANA name such as Europe/Berlin or UTC)" },
	{ "Europe/Berlin/", "invalid time zone name 'Europe/Berlin/' (use an "
	  "IANA name such as Europe/Berlin or UTC)" },
	{ "Europe/Berlin x", "invalid time zone name 'Europe/Berlin x' (use "
	  "an IANA name such as Europe/Berlin or UTC)" },
	{ "Mars/Olympus", "unknown time zone 'Mars/Olympus' (no such file "
	  "in /usr/share/zoneinfo; is tzdata installed?)" },
	{ "Europe", "unknown time zone 'Europe' (no such file in "
	  "/usr/share/zoneinfo; is tzdata installed?)" },
	{ "zone.tab", "unknown time zone 'zone.tab' (no such file in "
	  "/usr/share/zoneinfo; is tzdata installed?)" },
	{ "right/Europe/Berlin", "time zone 'right/Europe/Berlin' counts "
	  "leap seconds, which schedules do not support; use the zone "
	  "without 'right/'" },
};

static void test_tz(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(tz_cases); i++) {
		const struct tz_case *tc = &tz_cases[i];
		struct strbuf err = STRBUF_INIT;
		struct cron_tz *tz = NULL;
		int ret = cron_tz_load(tc->name, &tz, &err);

		if (!tc->err) {
			ok(!ret && tz, "time zone '%s' loads%s%s", tc->name,
			   err.len ? ": " : "", err.buf);
		} else {
			ok(ret == -1 && !tz, "time zone '%s' is refused",
			   tc->name);
			is_str(err.buf, tc->err, "message for '%s'", tc->name);
		}
		cron_tz_free(tz);
		strbuf_release(&err);
	}
}

struct fmt_case {
	const char *tz;
	int64_t t;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
	{ "UTC", 0, "1970-01-01T00:00:00+00:00" },
	{ "UTC", -1, "1969-12-31T23:59:59+00:00" },
	{ "UTC", 951782400, "2000-02-29T00:00:00+00:00" },
	{ "UTC", 4107542400, "2100-03-01T00:00:00+00:00" },
	{ "Europe/Berlin", 1774746000, "2026-03-29T03:00:00+02:00" },
	{ "Europe/Berlin", 1774745999, "2026-03-29T01:59:59+01:00" },
	{ "America/New_York", 1793512800, "2026-11-01T01:00:00-05:00" },
	{ "America/New_York", 1793512799, "2026-11-01T01:59:59-04:00" },
	{ "Asia/Kolkata", 1767225600, "2026-01-01T05:30:00+05:30" },
	{ "Pacific/Chatham", 1767225600, "2026-01-01T13:45:00+13:45" },
	{ "America/St_Johns", 1767225600, "2025-12-31T20:30:00-03:30" },
	/* Before 1893 Berlin kept local mean time, +00:53:28. */
	{ "Europe/Berlin", -2524521600, "1890-01-01T00:53:28+00:53:28" },
	/* Samoa skipped 2011-12-30 altogether. */
	{ "Pacific/Apia", 1325239199, "2011-12-29T23:59:59-10:00" },
	{ "Pacific/Apia", 1325239200, "2011-12-31T00:00:00+14:00" },
};

static void test_format(void)
{
	char buf[CRON_TIME_MAX], small[11];

	for (size_t i = 0; i < ARRAY_SIZE(fmt_cases); i++) {
		const struct fmt_case *tc = &fmt_cases[i];
		is_int(cron_format_time((time_t)tc->t, tc->tz, buf,
					sizeof(buf)), 0, "format in %s",
		       tc->tz);
		is_str(buf, tc->want, "%" PRId64 " in %s", tc->t, tc->tz);
	}
	is_int(cron_format_time(0, "Nowhere/Special", buf, sizeof(buf)), -1,
	       "format in an unknown zone fails");
	is_str(buf, "", "... and leaves an empty string");
	cron_format_time(0, "UTC", small, sizeof(small));
	is_str(small, "1970-01-01", "format truncates to the buffer");
}

struct time_case {
	const char *s;
	const char *tz;   /* for times without an offset */
	int64_t want;
	bool bad;
};

static const struct time_case time_cases[] = {
	{ "2026-03-29T01:30:00Z", "UTC", 1774747800, false },
	{ "2026-03-29T01:30:00z", "UTC", 1774747800, false },
	{ "2026-03-29T03:30:00+02:00", "UTC", 1774747800, false },
	{ "2026-03-29T03:30+02:00", "UTC", 1774747800, false },
	{ "2026-03-29T03:30+0200", "UTC", 1774747800, false },
	{ "2026-03-29T03:30+02", "UTC", 1774747800, false },
	{ "2026-03-28T21:30-04:00", "UTC", 1774747800, false },
	{ "2026-03-29 01:30Z", "UTC", 1774747800, false },
	{ "2026-03-29T01:30", "UTC", 1774747800, false },
	{ "2026-03-29", "UTC", 1774742400, false },
	{ "@1774747800", "UTC", 1774747800, false },
	{ "@-1", "UTC", -1, false },
	/* Local times: plain, repeated (first), skipped (gap end). */
	{ "2026-03-29T03:30", "Europe/Berlin", 1774747800, false },
	{ "2026-10-25T02:30", "Europe/Berlin", 1792888200, false },
	{ "2026-03-29T02:30", "Europe/Berlin", 1774746000, false },
	{ "2026-01-01T00:00", "Asia/Kolkata", 1767205800, false },
	{ "", "UTC", 0, true },
	{ "2026-3-29T01:30Z", "UTC", 0, true },
	{ "2026-02-29T01:30Z", "UTC", 0, true },
	{ "2026-13-01T01:30Z", "UTC", 0, true },
	{ "2026-03-29T24:00Z", "UTC", 0, true },
	{ "2026-03-29T01:60Z", "UTC", 0, true },
	{ "2026-03-29T01:30:60Z", "UTC", 0, true },
	{ "2026-03-29T01Z", "UTC", 0, true },
	{ "2026-03-29T01:30+2", "UTC", 0, true },
	{ "2026-03-29T01:30+24:00", "UTC", 0, true },
	{ "2026-03-29T01:30Z ", "UTC", 0, true },
	{ "2026-03-29T01:30ZZ", "UTC", 0, true },
	{ "tomorrow", "UTC", 0, true },
	{ "@", "UTC", 0, true },
	{ "@12x", "UTC", 0, true },
};

static void test_parse_time(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
		const struct time_case *tc = &time_cases[i];
		struct strbuf err = STRBUF_INIT;
		struct cron_tz *tz = NULL;
		time_t t = 0;
		int ret;

		cron_tz_load(tc->tz, &tz, &err);
		ret = cron_parse_time(tc->s, tz, &t, &err);
		if (tc->bad) {
			ok(ret == -1 && strstr(err.buf, "bad time '"),
			   "time '%s' is refused", tc->s);
		} else {
			is_int(ret, 0, "time '%s' parses%s%s", tc->s,
			       err.len ? ": " : "", err.buf);
			is_int((int64_t)t, tc->want, "time '%s' in %s", tc->s,
			       tc->tz);
		}
		cron_tz_free(tz);
		strbuf_release(&err);
	}
}

/*
 * The footer rule must agree with the file's explicit transitions where
 * both exist (Debian's files are "fat": transitions up to 2037).
 */
static void test_footer_rule(void)
{
	static const char *const zones[][2] = {
		{ "Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3" },
		{ "America/New_York", "EST5EDT,M3.2.0,M11.1.0" },
		{ "Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3" },
		{ "Australia/Lord_Howe",
		  "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0" },
		{ "Europe/Dublin", "IST-1GMT0,M10.5.0,M3.5.0/1" },
		{ "America/Nuuk", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0" },
		{ "Asia/Kolkata", "IST-5:30" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
		struct strbuf err = STRBUF_INIT;
		struct cron_tz *file = NULL, *rule = NULL;
		int64_t t, first_bad = 0;
		long diffs = 0;

		if (cron_tz_load(zones[i][0], &file, &err) < 0 ||
		    cron_tz_from_posix(zones[i][1], &rule, &err) < 0) {
			ok(0, "%s: %s", zones[i][0], err.buf);
			goto next;
		}
		/* 2027-01-01 to 2037-01-01, every 15 minutes. */
		for (t = 1798761600; t < 2114380800; t += 900) {
			if (cron_tz_offset(file, t) !=
			    cron_tz_offset(rule, t) && !diffs++)
				first_bad = t;
		}
		is_int(diffs, 0, "%s: rule '%s' matches the file (first "
		       "difference at %" PRId64 ")", zones[i][0], zones[i][1],
		       first_bad);
next:
		cron_tz_free(file);
		cron_tz_free(rule);
		strbuf_release(&err);
	}
}

/* Every prefix of a real TZif file either loads or is refused cleanly. */
static void test_truncated(void)
{
	struct strbuf data = STRBUF_INIT, err = STRBUF_INIT;
	char dir[] = "/tmp/u-cron.XXXXXX";
	char *path = NULL;
	size_t loaded = 0, refused = 0;
	FILE *f;

	if (!mkdtemp(dir) || strbuf_read_file(&data,
			"/usr/share/zoneinfo/Europe/Berlin") < 0) {
		ok(0, "set up a TZDIR");
		goto out;
	}
	path = xstrfmt("%s/Cut", dir);
	setenv("TZDIR", dir, 1);
	for (size_t n = 0; n <= data.len; n++) {
		struct cron_tz *tz = NULL;
		if (!(f = fopen(path, "wb")))
			break;
		fwrite(data.buf, 1, n, f);
		fclose(f);
		strbuf_reset(&err);
		if (cron_tz_load("Cut", &tz, &err) == 0)
			loaded++;
		else if (strstr(err.buf, "'Cut'"))
			refused++;
		cron_tz_free(tz);
	}
	ok(loaded == 1 && loaded + refused == data.len + 1,
	   "%zu prefixes load, %zu are refused", loaded, refused);
	strbuf_reset(&err);
	{
		struct cron_tz *tz = NULL;
		ok(cron_tz_load("UTC", &tz, &err) == 0,
		   "UTC loads without the file");
		cron_tz_free(tz);
		ok(cron_tz_load("Europe/Berlin", &tz, &err) == -1,
		   "other zones come from TZDIR");
	}
	unsetenv("TZDIR");
	unlink(path);
	rmdir(dir);
out:
	free(path);
	strbuf_release(&data);
	strbuf_release(&err);
}

/*
 * Damaged files: random bytes overwritten in a real TZif file. Each must
 * load or be refused, and a loaded one must still answer (under ASan in
 * `make check`, out-of-bounds reads fail the test).
 */
static void test_mutated(void)
{
	struct strbuf data = STRBUF_INIT, err = STRBUF_INIT;
	char dir[] = "/tmp/u-cron.XXXXXX";
	char *path = NULL;
	uint32_t seed = 12345;
	int answered = 0, loaded = 0, refused = 0;
	struct cron c;
	unsigned col;

	if (!ok(!cron_parse("*/7 1-3 * * *", &c, &col, &err),
		"the schedule parses %s", err.buf))
		goto out;
	if (!mkdtemp(dir) || strbuf_read_file(&data,
			"/usr/share/zoneinfo/America/New_York") < 0) {
		ok(0, "set up a TZDIR");
		goto out;
	}
	path = xstrfmt("%s/Mut", dir);
	setenv("TZDIR", dir, 1);
	for (int i = 0; i < 2000; i++) {
		struct strbuf m = STRBUF_INIT;
		struct cron_tz *tz = NULL;
		FILE *f;
		bool wrote;

		strbuf_add(&m, data.buf, data.len);
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245 + 12345;
			/* Mostly the header and counts: damage hurts there. */
			size_t at = (seed >> 8) % (i % 2 ? m.len : 80);
			seed = seed * 1103515245 + 12345;
			m.buf[at] = (char)(seed >> 16);
		}
		f = fopen(path, "wb");
		wrote = f && fwrite(m.buf, 1, m.len, f) == m.len;
		if (f && fclose(f))
			wrote = false;
		if (!wrote) {
			ok(0, "write %s", path);
			strbuf_release(&m);
			break;
		}
		strbuf_reset(&err);
		if (cron_tz_load("Mut", &tz, &err) == 0) {
			time_t t = 1767225600;
			char buf[CRON_TIME_MAX];
			bool answer = true;
			loaded++;
			/* A time, formatted, or an error that says why. */
			for (int n = 0; n < 3; n++) {
				if (cron_next_tz(&c, tz, t, &t, &err) < 0) {
					answer = err.len > 0;
					break;
				}
				buf[0] = '\0';
				cron_tz_format(tz, t, buf, sizeof(buf));
				answer &= buf[0] != '\0';
			}
			answered += answer;
		} else if (err.len) {
			refused++;
		}
		cron_tz_free(tz);
		strbuf_release(&m);
	}
	ok(loaded + refused == 2000 && answered == loaded,
	   "damaged files: %d load, %d are refused", loaded, refused);
	unsetenv("TZDIR");
	unlink(path);
	rmdir(dir);
out:
	free(path);
	strbuf_release(&data);
	strbuf_release(&err);
}

int main(void)
{
	test_parse();
	test_bits();
	test_next();
	test_never();
	test_speed();
	test_tz();
	test_format();
	test_parse_time();
	test_footer_rule();
	test_truncated();
	test_mutated();
	return done_testing();
}
