#include "runner.h"
#include "cron.h"

/*
 * cron.c from the shell, for tests/t/t8000-cron.sh:
 *   cron-tool next EXPR TZ FROM N   the next N fire times after FROM
 *   cron-tool parse EXPR            "OK", or "COL: message" (exit 1)
 *   cron-tool dump EXPR             the bitsets as lists, and the flags
 *   cron-tool format TZ TIME        TIME as ISO 8601 in TZ
 * FROM and TIME take what `runner next --from` takes, local to TZ when
 * they have no offset. Other errors go to stderr, exit 1; usage exit 2.
 */

static int usage(void)
{
	fprintf(stderr, "usage: cron-tool next EXPR TZ FROM N\n"
		"       cron-tool parse EXPR\n"
		"       cron-tool dump EXPR\n"
		"       cron-tool format TZ TIME\n");
	return 2;
}

static int do_parse(const char *expr)
{
	struct strbuf err = STRBUF_INIT;
	struct cron c;
	unsigned col;
	int ret = 0;

	if (cron_parse(expr, &c, &col, &err) < 0) {
		printf("%u: %s\n", col, err.buf);
		ret = 1;
	} else {
		printf("OK\n");
	}
	strbuf_release(&err);
	return ret;
}

static void dump_bits(const char *name, uint64_t bits, int min, int max)
{
	const char *sep = "";
	printf("%s:", name);
	for (int i = min; i <= max; i++) {
		if (bits & (UINT64_C(1) << i)) {
			printf("%s%d", *sep ? sep : " ", i);
			sep = ",";
		}
	}
	printf("\n");
}

static int do_dump(const char *expr)
{
	struct strbuf err = STRBUF_INIT;
	struct cron c;
	unsigned col;
	int ret = 0;

	if (cron_parse(expr, &c, &col, &err) < 0) {
		printf("%u: %s\n", col, err.buf);
		ret = 1;
		goto out;
	}
	dump_bits("minute", c.minute, 0, 59);
	dump_bits("hour", c.hour, 0, 23);
	dump_bits("dom", c.dom, 1, 31);
	dump_bits("month", c.month, 1, 12);
	dump_bits("dow", c.dow, 0, 6);
	printf("flags:%s%s%s%s\n",
	       c.flags & CRON_MIN_STAR ? " MIN_STAR" : "",
	       c.flags & CRON_HOUR_STAR ? " HOUR_STAR" : "",
	       c.flags & CRON_DOM_STAR ? " DOM_STAR" : "",
	       c.flags & CRON_DOW_STAR ? " DOW_STAR" : "");
out:
	strbuf_release(&err);
	return ret;
}

static int do_next(const char *expr, const char *tzname, const char *from,
		   const char *count)
{
	struct strbuf err = STRBUF_INIT;
	struct cron_tz *tz = NULL;
	struct cron c;
	char buf[CRON_TIME_MAX], *end;
	unsigned col;
	time_t t;
	long n;
	int ret = 1;

	n = strtol(count, &end, 10);
	if (*end || n < 0 || n > 100000) {
		ret = usage();
		goto out;
	}
	if (cron_parse(expr, &c, &col, &err) < 0) {
		fprintf(stderr, "error: %u: %s\n", col, err.buf);
		goto out;
	}
	if (cron_tz_load(tzname, &tz, &err) < 0 ||
	    cron_parse_time(from, tz, &t, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.buf);
		goto out;
	}
	for (long i = 0; i < n; i++) {
		if (cron_next_tz(&c, tz, t, &t, &err) < 0) {
			fprintf(stderr, "error: %s\n", err.buf);
			goto out;
		}
		cron_tz_format(tz, t, buf, sizeof(buf));
		printf("%s\n", buf);
	}
	ret = 0;
out:
	cron_tz_free(tz);
	strbuf_release(&err);
	return ret;
}

static int do_format(const char *tzname, const char *time)
{
	struct strbuf err = STRBUF_INIT;
	struct cron_tz *tz = NULL;
	char buf[CRON_TIME_MAX];
	time_t t;
	int ret = 1;

	if (cron_tz_load(tzname, &tz, &err) < 0 ||
	    cron_parse_time(time, tz, &t, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.buf);
		goto out;
	}
	cron_tz_format(tz, t, buf, sizeof(buf));
	printf("%s\n", buf);
	ret = 0;
out:
	cron_tz_free(tz);
	strbuf_release(&err);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "next"))
		return do_next(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 3 && !strcmp(argv[1], "parse"))
		return do_parse(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return do_dump(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "format"))
		return do_format(argv[2], argv[3]);
	return usage();
}
