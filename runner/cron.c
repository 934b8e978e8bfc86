#include "runner.h"
#include "cron.h"

/*
 * Three parts: the parser (expression -> bitsets), the time zone reader
 * (TZif file + POSIX TZ footer rule -> "spans" of constant UTC offset),
 * and the search, which walks spans and, inside each, local wall-clock
 * minutes with plain calendar arithmetic. All calendar arithmetic is on
 * int64 "local seconds" (days since 1970-01-01 * 86400 + seconds of the
 * day), proleptic Gregorian, so nothing here calls the C library's time
 * zone code or touches TZ.
 */

#define SECS_PER_DAY INT64_C(86400)
/* 400 Gregorian years repeat exactly, and so do calendar-based DST rules. */
#define SEARCH_YEARS 401
#define SEARCH_SECS (SEARCH_YEARS * 366 * SECS_PER_DAY)

/* ---------------------------------------------------------------- dates */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
	return (int)(((days % 7) + 7 + 4) % 7);
}

/* -------------------------------------------------------------- parser */

struct field_spec {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is value min_name + i */
	int min_name;
	unsigned star_flag;
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
					   "jun", "jul", "aug", "sep", "oct",
					   "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed",
					 "thu", "fri", "sat", NULL };

static const struct field_spec fields[5] = {
	{ "minute", 0, 59, NULL, 0, CRON_MIN_STAR },
	{ "hour", 0, 23, NULL, 0, CRON_HOUR_STAR },
	{ "day-of-month", 1, 31, NULL, 0, CRON_DOM_STAR },
	{ "month", 1, 12, month_names, 1, 0 },
	{ "day-of-week", 0, 7, dow_names, 0, CRON_DOW_STAR },
};

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

struct parse_ctx {
	const char *expr;
	unsigned *col;
	struct strbuf *err;
};

static int parse_fail(struct parse_ctx *ctx, const char *at, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

static int parse_fail(struct parse_ctx *ctx, const char *at, const char *fmt,
		      ...)
{
	va_list ap;

	*ctx->col = (unsigned)(at - ctx->expr) + 1;
	va_start(ap, fmt);
	strbuf_vaddf(ctx->err, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* A token for an error message: the run of characters that are not ",-/". */
static int token_len(const char *s, const char *end)
{
	const char *p = s;
	while (p < end && *p != ',' && *p != '-' && *p != '/')
		p++;
	if (p == s && p < end)
		p++;
	return (int)(p - s);
}

/*
 * One value of a field: a number or (month, weekday) a 3-letter name.
 * Range checks are the caller's, so that "60" says "out of range".
 */
static int parse_value(struct parse_ctx *ctx, const struct field_spec *f,
		       const char **sp, const char *end, int *out)
{
	const char *s = *sp;

	if (s < end && is_digit(*s)) {
		long v = 0;
		while (s < end && is_digit(*s)) {
			if (v < 100000)
				v = v * 10 + (*s - '0');
			s++;
		}
		if (s < end && is_alpha(*s))
			return parse_fail(ctx, *sp, "%s: bad number '%.*s'",
					  f->name, token_len(*sp, end), *sp);
		*out = (int)v;
		*sp = s;
		return 0;
	}
	if (s < end && is_alpha(*s)) {
		const char *e = s;
		while (e < end && (is_alpha(*e) || is_digit(*e)))
			e++;
		if (!f->names)
			return parse_fail(ctx, s, "%s: bad number '%.*s'",
					  f->name, (int)(e - s), s);
		for (int i = 0; e - s == 3 && f->names[i]; i++) {
			const char *n = f->names[i];
			if (lower(s[0]) == n[0] && lower(s[1]) == n[1] &&
			    lower(s[2]) == n[2]) {
				*out = f->min_name + i;
				*sp = e;
				return 0;
			}
		}
		return parse_fail(ctx, s, "%s: unknown name '%.*s' (use %s)",
				  f->name, (int)(e - s), s,
				  f->names == month_names ? "JAN-DEC or 1-12"
							  : "SUN-SAT or 0-7");
	}
	if (s == end || *s == ',')
		return parse_fail(ctx, s, "%s: missing value", f->name);
	return parse_fail(ctx, s, "%s: bad number '%.*s'", f->name,
			  token_len(s, end), s);
}

/* The value parsed from [at, end); a too long number shows as written. */
static int check_range(struct parse_ctx *ctx, const struct field_spec *f,
		       const char *at, const char *end, int v)
{
	if (v >= f->min && v <= f->max)
		return 0;
	return parse_fail(ctx, at, "%s: %.*s is out of range %d-%d", f->name,
			  (int)(end - at), at, f->min, f->max);
}

/* One list element "*", "N", "A-B", each with an optional "/STEP". */
static int parse_element(struct parse_ctx *ctx, const struct field_spec *f,
			 const char *s, const char *end, uint64_t *bits)
{
	const char *start = s, *at_lo = s, *at_hi = NULL;
	int lo, hi, step = 1;
	bool single = false;

	if (*s == '*') {
		lo = f->min;
		hi = f->max;
		s++;
	} else {
		if (parse_value(ctx, f, &s, end, &lo) < 0)
			return -1;
		if (check_range(ctx, f, at_lo, s, lo) < 0)
			return -1;
		hi = lo;
		single = true;
		if (s < end && *s == '-') {
			at_hi = ++s;
			if (parse_value(ctx, f, &s, end, &hi) < 0)
				return -1;
			if (check_range(ctx, f, at_hi, s, hi) < 0)
				return -1;
			single = false;
			if (lo > hi)
				return parse_fail(ctx, start,
						  "%s: range "
						  "%.*s is reversed (write it "
						  "from low to high)",
						  f->name, (int)(s - start),
						  start);
		}
	}
	if (s < end && *s == '/') {
		const char *at_step = ++s;
		long v = 0;
		if (s == end || !is_digit(*s))
			return parse_fail(ctx, at_step,
					  "%s: missing step after '/'",
					  f->name);
		while (s < end && is_digit(*s)) {
			if (v < 100000)
				v = v * 10 + (*s - '0');
			s++;
		}
		if (v == 0)
			return parse_fail(ctx, at_step,
					  "%s: step 0 (a step is at least 1)",
					  f->name);
		if (v > f->max - f->min + 1)
			return parse_fail(ctx, at_step,
					  "%s: step %ld is larger than the "
					  "range %d-%d",
					  f->name, v, f->min, f->max);
		step = (int)v;
		/* cronie: "A/N" is "A-max/N". */
		if (single)
			hi = f->max;
	}
	if (s < end)
		return parse_fail(ctx, s, "%s: unexpected '%.*s'", f->name,
				  token_len(s, end), s);
	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int parse_field(struct parse_ctx *ctx, int idx, const char *s,
		       const char *end, uint64_t *bits, unsigned *flags)
{
	const struct field_spec *f = &fields[idx];

	*bits = 0;
	if (*s == '*')
		*flags |= f->star_flag;
	for (;;) {
		const char *e = s;
		while (e < end && *e != ',')
			e++;
		if (e == s)
			return parse_fail(ctx, s, "%s: empty list element",
					  f->name);
		if (parse_element(ctx, f, s, e, bits) < 0)
			return -1;
		if (e == end)
			break;
		s = e + 1;
	}
	return 0;
}

static int parse_macro(struct parse_ctx *ctx, const char *s, struct cron *out)
{
	const char *e = s, *rest;
	unsigned dummy;

	while (*e && !is_blank(*e))
		e++;
	for (rest = e; is_blank(*rest); rest++)
		;
	for (size_t i = 0; i < ARRAY_SIZE(macros); i++) {
		const char *n = macros[i].name;
		size_t len = strlen(n);
		bool same = (size_t)(e - s) == len;
		for (size_t k = 0; same && k < len; k++)
			same = lower(s[k]) == n[k];
		if (!same)
			continue;
		if (*rest)
			return parse_fail(ctx, rest,
					  "unexpected '%s' after %s", rest, n);
		/* The expansions are known good. */
		return cron_parse(macros[i].expr, out, &dummy, ctx->err);
	}
	if (e - s == 7 && !strncmp(s, "@reboot", 7))
		return parse_fail(ctx, s,
				  "@reboot has no fire times; use a "
				  "5-field schedule or a macro such as "
				  "@daily");
	return parse_fail(ctx, s,
			  "unknown macro '%.*s' (use @yearly, "
			  "@monthly, @weekly, @daily or @hourly)",
			  (int)(e - s), s);
}

int cron_parse(const char *expr, struct cron *out, unsigned *col,
	       struct strbuf *err)
{
	struct parse_ctx ctx = { expr, col, err };
	struct cron c = { 0 };
	const char *s = expr;
	uint64_t bits[5];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	*col = 0;
	while (is_blank(*s))
		s++;
	if (!*s) {
		parse_fail(&ctx, s,
			   "empty schedule (expected 5 fields: "
			   "minute hour day-of-month month day-of-week)");
		goto out;
	}
	if (*s == '@') {
		ret = parse_macro(&ctx, s, out);
		goto out;
	}
	for (int i = 0; i < 5; i++) {
		const char *e = s;
		if (!*s) {
			parse_fail(&ctx, s,
				   "missing %s field (expected 5 "
				   "fields: minute hour day-of-month month "
				   "day-of-week)",
				   fields[i].name);
			goto out;
		}
		while (*e && !is_blank(*e))
			e++;
		if (parse_field(&ctx, i, s, e, &bits[i], &c.flags) < 0)
			goto out;
		for (s = e; is_blank(*s); s++)
			;
	}
	if (*s) {
		parse_fail(&ctx, s,
			   "too many fields: a schedule has 5 "
			   "(minute hour day-of-month month day-of-week), "
			   "no seconds and no command");
		goto out;
	}
	c.minute = bits[0];
	c.hour = (uint32_t)bits[1];
	c.dom = (uint32_t)bits[2];
	c.month = (uint16_t)bits[3];
	/* Weekday 7 is Sunday. */
	c.dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
	*out = c;
	ret = 0;
out:
	return ret;
}

/* ----------------------------------------------------------- time zones */

/* A POSIX TZ rule date: Jn (1-365, no Feb 29), n (0-365), Mm.w.d. */
struct tz_rule {
	char kind; /* 'J', 'D' or 'M' */
	int a, b, c;
	int32_t time; /* seconds after local midnight; may be <0 or >24h */
};

struct cron_tz {
	char *name;
	int64_t *trans;	    /* strictly ascending UTC instants */
	int32_t *off_after; /* offset in effect from trans[i] */
	size_t nr;
	int32_t off0;  /* before trans[0]; always when nr == 0 */
	bool has_rule; /* a POSIX footer applies after trans[nr - 1] */
	bool has_dst;
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

/* A stretch of UTC time with one offset: [start, end). */
struct tz_span {
	int64_t start; /* INT64_MIN: since forever */
	int64_t end;   /* INT64_MAX: for ever */
	int32_t off;
};

static const char *posix_name(const char *s)
{
	if (*s == '<') {
		const char *e = strchr(s, '>');
		return e && e - s > 1 ? e + 1 : NULL;
	}
	while (is_alpha(*s))
		s++;
	return s;
}

/* [+-]hh[:mm[:ss]]; hours up to 167 (RFC 8536 rule times). */
static const char *posix_hms(const char *s, int32_t *out)
{
	int sign = 1, part[3] = { 0, 0, 0 };

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		int n = 0;
		if (i && *s != ':')
			break;
		if (i)
			s++;
		if (!is_digit(*s))
			return NULL;
		while (is_digit(*s) && n < 1000)
			n = n * 10 + (*s++ - '0');
		part[i] = n;
	}
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *posix_num(const char *s, int *out, int min, int max)
{
	int n = 0;
	if (!is_digit(*s))
		return NULL;
	while (is_digit(*s) && n <= max)
		n = n * 10 + (*s++ - '0');
	if (n < min || n > max)
		return NULL;
	*out = n;
	return s;
}

static const char *posix_rule(const char *s, struct tz_rule *r)
{
	r->time = 7200;
	if (*s == 'J') {
		r->kind = 'J';
		s = posix_num(s + 1, &r->a, 1, 365);
	} else if (*s == 'M') {
		r->kind = 'M';
		s = posix_num(s + 1, &r->a, 1, 12);
		if (s && *s == '.')
			s = posix_num(s + 1, &r->b, 1, 5);
		else
			s = NULL;
		if (s && *s == '.')
			s = posix_num(s + 1, &r->c, 0, 6);
		else
			s = NULL;
	} else {
		r->kind = 'D';
		s = posix_num(s, &r->a, 0, 365);
	}
	if (s && *s == '/')
		s = posix_hms(s + 1, &r->time);
	return s;
}

/* RFC 8536: offsets lie strictly between -25 and +26 hours. */
static bool off_sane(int32_t off)
{
	return off > -90000 && off < 93600;
}

/* Fill tz's rule fields from a POSIX TZ string; -1 if unsupported. */
static int posix_parse(struct cron_tz *tz, const char *s)
{
	int32_t v;

	if (!(s = posix_name(s)) || !(s = posix_hms(s, &v)))
		return -1;
	tz->std_off = -v;
	tz->dst_off = tz->std_off;
	tz->has_rule = true;
	tz->has_dst = false;
	if (!*s)
		return off_sane(tz->std_off) ? 0 : -1;
	if (!(s = posix_name(s)))
		return -1;
	tz->dst_off = tz->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = posix_hms(s, &v)))
			return -1;
		tz->dst_off = -v;
	}
	if (!off_sane(tz->std_off) || !off_sane(tz->dst_off))
		return -1;
	/* No transition dates: implementation-defined; TZif never does it. */
	if (*s != ',' || !(s = posix_rule(s + 1, &tz->start)) || *s != ',' ||
	    !(s = posix_rule(s + 1, &tz->end)) || *s)
		return -1;
	tz->has_dst = true;
	return 0;
}

static int64_t rule_days(int64_t y, const struct tz_rule *r)
{
	int64_t jan1 = days_from_civil(y, 1, 1), first;
	int day;

	switch (r->kind) {
	case 'J':
		return jan1 + r->a - 1 + (is_leap(y) && r->a >= 60);
	case 'D':
		return jan1 + r->a;
	default:
		first = days_from_civil(y, r->a, 1);
		day = 1 + (r->c - weekday(first) + 7) % 7 + (r->b - 1) * 7;
		while (day > days_in_month(y, r->a))
			day -= 7;
		return first + day - 1;
	}
}

struct rule_trans {
	int64_t at;
	int32_t off;
	int seq;
};

static int rule_trans_cmp(const void *a, const void *b)
{
	const struct rule_trans *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq - y->seq;
}

/*
 * The span around t under the footer rule: the transitions of the years
 * around t, sorted; on a tie the later year's wins (permanent-DST rules
 * such as "0/0,J365/25" end and restart at the same instant).
 */
static void rule_span(const struct cron_tz *tz, int64_t t, struct tz_span *sp)
{
	struct rule_trans tr[10];
	int64_t y, days = floor_div(t + tz->std_off, SECS_PER_DAY);
	int m, d, n = 0;

	civil_from_days(days, &y, &m, &d);
	for (int64_t yy = y - 2; yy <= y + 2; yy++) {
		tr[n].at = rule_days(yy, &tz->start) * SECS_PER_DAY +
			   tz->start.time - tz->std_off;
		tr[n].off = tz->dst_off;
		tr[n].seq = n;
		n++;
		tr[n].at = rule_days(yy, &tz->end) * SECS_PER_DAY +
			   tz->end.time - tz->dst_off;
		tr[n].off = tz->std_off;
		tr[n].seq = n;
		n++;
	}
	qsort(tr, (size_t)n, sizeof(tr[0]), rule_trans_cmp);
	sp->start = INT64_MIN;
	sp->end = INT64_MAX;
	sp->off = tz->std_off;
	for (int i = 0; i < n; i++) {
		if (tr[i].at <= t) {
			sp->start = tr[i].at;
			sp->off = tr[i].off;
		} else {
			sp->end = tr[i].at;
			break;
		}
	}
}

static void tz_span_at(const struct cron_tz *tz, int64_t t, struct tz_span *sp)
{
	struct tz_span r;
	size_t lo, hi;

	if (tz->nr && t < tz->trans[tz->nr - 1]) {
		if (t < tz->trans[0]) {
			sp->start = INT64_MIN;
			sp->end = tz->trans[0];
			sp->off = tz->off0;
			return;
		}
		/* The last i with trans[i] <= t; i < nr - 1. */
		lo = 0;
		hi = tz->nr - 1;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (tz->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		sp->start = tz->trans[lo];
		sp->end = tz->trans[lo + 1];
		sp->off = tz->off_after[lo];
		return;
	}
	sp->start = tz->nr ? tz->trans[tz->nr - 1] : INT64_MIN;
	sp->end = INT64_MAX;
	sp->off = tz->nr ? tz->off_after[tz->nr - 1] : tz->off0;
	if (!tz->has_rule)
		return;
	if (!tz->has_dst) {
		sp->off = tz->std_off;
		return;
	}
	rule_span(tz, t, &r);
	if (r.start >= sp->start || sp->start == INT64_MIN) {
		sp->start = r.start;
		sp->off = r.off;
	}
	sp->end = r.end;
}

static int32_t tz_off_at(const struct cron_tz *tz, int64_t t)
{
	struct tz_span sp;
	tz_span_at(tz, t, &sp);
	return sp.off;
}

long cron_tz_offset(const struct cron_tz *tz, time_t t)
{
	return tz_off_at(tz, (int64_t)t);
}

const char *cron_tz_name(const struct cron_tz *tz)
{
	return tz->name;
}

void cron_tz_free(struct cron_tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->off_after);
	free(tz);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/*
 * RFC 8536. Uses the 64-bit (v2+) data block when there is one, and its
 * footer TZ string for times after the last transition.
 */
static int tzif_parse(struct cron_tz *tz, const unsigned char *p, size_t len,
		      struct strbuf *err)
{
	size_t pos = 0, tsize = 4, isut, isstd, leap, timecnt, typecnt, chars;
	size_t block, types_at;
	int ret = -1;

	for (int pass = 0;; pass++) {
		if (len - pos < 44 || memcmp(p + pos, "TZif", 4))
			goto corrupt;
		isut = be32(p + pos + 20);
		isstd = be32(p + pos + 24);
		leap = be32(p + pos + 28);
		timecnt = be32(p + pos + 32);
		typecnt = be32(p + pos + 36);
		chars = be32(p + pos + 40);
		if (timecnt > 100000 || typecnt > 256 || typecnt == 0 ||
		    chars > 100000 || leap > 100000 || isut > 256 ||
		    isstd > 256)
			goto corrupt;
		block = timecnt * (tsize + 1) + typecnt * 6 + chars +
			leap * (tsize + 4) + isstd + isut;
		if (len - pos - 44 < block)
			goto corrupt;
		if (pass == 0 && p[pos + 4] >= '2') {
			pos += 44 + block;
			tsize = 8;
			continue;
		}
		break;
	}
	if (leap) {
		strbuf_addf(err,
			    "time zone '%s' counts leap seconds, which "
			    "schedules do not support; use the zone without "
			    "'right/'",
			    tz->name);
		goto out;
	}
	pos += 44;
	types_at = pos + timecnt * (tsize + 1);
	tz->nr = timecnt;
	tz->trans = xcalloc(timecnt ? timecnt : 1, sizeof(*tz->trans));
	tz->off_after = xcalloc(timecnt ? timecnt : 1, sizeof(*tz->off_after));
	for (size_t i = 0; i < timecnt; i++) {
		const unsigned char *q = p + pos + i * tsize;
		unsigned type = p[pos + timecnt * tsize + i];
		tz->trans[i] = tsize == 8 ? be64(q) : (int32_t)be32(q);
		if (type >= typecnt || (i && tz->trans[i] <= tz->trans[i - 1]))
			goto corrupt;
		tz->off_after[i] = (int32_t)be32(p + types_at + type * 6);
		if (!off_sane(tz->off_after[i]))
			goto corrupt;
	}
	tz->off0 = (int32_t)be32(p + types_at);
	if (!off_sane(tz->off0))
		goto corrupt;
	/* v2+: "\n" TZ-string "\n" follows; an empty string means no rule. */
	if (tsize == 8) {
		const unsigned char *f = p + pos + block, *fe;
		char *spec;
		if (f >= p + len || *f != '\n' ||
		    !(fe = memchr(f + 1, '\n', (size_t)(p + len - f - 1))))
			goto corrupt;
		if (fe > f + 1) {
			spec = xstrfmt("%.*s", (int)(fe - f - 1),
				       (const char *)f + 1);
			if (posix_parse(tz, spec) < 0) {
				strbuf_addf(err,
					    "time zone '%s' has a rule "
					    "this runner cannot read: '%s'",
					    tz->name, spec);
				free(spec);
				goto out;
			}
			free(spec);
		}
	}
	ret = 0;
	goto out;
corrupt:
	strbuf_addf(err, "time zone file for '%s' is corrupt", tz->name);
out:
	return ret;
}

static bool tz_name_valid(const char *name)
{
	const char *s = name;

	if (!*name || *name == '/' || strlen(name) > 255)
		return false;
	for (; *s; s++)
		if (!is_alpha(*s) && !is_digit(*s) && !strchr("/_+-.", *s))
			return false;
	/* No empty, "." or ".." component. */
	for (s = name; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (!n || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			break;
		s = e + 1;
		if (!*s)
			return false;
	}
	return true;
}

int cron_tz_load(const char *name, struct cron_tz **out, struct strbuf *err)
{
	struct strbuf data = STRBUF_INIT;
	struct cron_tz *tz = NULL;
	const char *dir = getenv("TZDIR");
	char *path = NULL;
	int ret = -1;

	*out = NULL;
	if (!tz_name_valid(name)) {
		strbuf_addf(err,
			    "invalid time zone name '%s' (use an IANA "
			    "name such as Europe/Berlin or UTC)",
			    name);
		goto out;
	}
	tz = xcalloc(1, sizeof(*tz));
	tz->name = xstrdup(name);
	if (!strcmp(name, "UTC")) {
		tz->has_rule = true;
		ret = 0;
		goto out;
	}
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	path = xstrfmt("%s/%s", dir, name);
	strbuf_init_capped(&data, 1 << 20);
	if (strbuf_read_file(&data, path) < 0 || data.len < 4 ||
	    memcmp(data.buf, "TZif", 4)) {
		strbuf_addf(err,
			    "unknown time zone '%s' (no such file in "
			    "%s; is tzdata installed?)",
			    name, dir);
		goto out;
	}
	if (tzif_parse(tz, (const unsigned char *)data.buf, data.len, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		cron_tz_free(tz);
	else
		*out = tz;
	strbuf_release(&data);
	free(path);
	return ret;
}

int cron_tz_from_posix(const char *spec, struct cron_tz **out,
		       struct strbuf *err)
{
	struct cron_tz *tz = xcalloc(1, sizeof(*tz));

	tz->name = xstrdup(spec);
	if (posix_parse(tz, spec) < 0) {
		strbuf_addf(err, "unsupported TZ string '%s'", spec);
		cron_tz_free(tz);
		*out = NULL;
		return -1;
	}
	tz->off0 = tz->std_off;
	*out = tz;
	return 0;
}

/* --------------------------------------------------------------- search */

static bool day_matches(const struct cron *c, int64_t days, int dom)
{
	bool dom_ok = c->dom & (UINT32_C(1) << dom);
	bool dow_ok = c->dow & (1u << weekday(days));

	if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

static int64_t ceil_minute(int64_t t)
{
	return floor_div(t + 59, 60) * 60;
}

/*
 * The first local wall time w in [lo, hi) on a whole minute that matches
 * c; 0, or -1 when there is none. Skips whole months, days and hours.
 */
static int wall_next(const struct cron *c, int64_t lo, int64_t hi,
		     int64_t *out)
{
	int64_t t = ceil_minute(lo);

	while (t < hi) {
		int64_t days = floor_div(t, SECS_PER_DAY), y;
		int sod = (int)(t - days * SECS_PER_DAY), m, d, h, mi;

		civil_from_days(days, &y, &m, &d);
		if (!(c->month & (1u << m))) {
			t = (m == 12 ? days_from_civil(y + 1, 1, 1)
				     : days_from_civil(y, m + 1, 1)) *
			    SECS_PER_DAY;
			continue;
		}
		if (!day_matches(c, days, d)) {
			t = (days + 1) * SECS_PER_DAY;
			continue;
		}
		h = sod / 3600;
		mi = sod % 3600 / 60;
		for (int hh = h; hh < 24; hh++) {
			if (!(c->hour & (UINT32_C(1) << hh)))
				continue;
			for (int mm = hh == h ? mi : 0; mm < 60; mm++) {
				int64_t w;
				if (!(c->minute & (UINT64_C(1) << mm)))
					continue;
				w = days * SECS_PER_DAY + hh * 3600 + mm * 60;
				if (w >= hi)
					return -1;
				*out = w;
				return 0;
			}
		}
		t = (days + 1) * SECS_PER_DAY;
	}
	return -1;
}

/* Can the date fields ever match? Only the AND rule can rule them out. */
static bool dates_possible(const struct cron *c)
{
	if (!(c->flags & (CRON_DOM_STAR | CRON_DOW_STAR)))
		return true;
	for (int m = 1; m <= 12; m++) {
		if (!(c->month & (1u << m)))
			continue;
		/* 2000 is a leap year: Feb 29 counts. */
		for (int d = 1; d <= days_in_month(2000, m); d++)
			if (c->dom & (UINT32_C(1) << d))
				return true;
	}
	return false;
}

int cron_next_tz(const struct cron *c, const struct cron_tz *tz, time_t after,
		 time_t *out, struct strbuf *err)
{
	bool wild = c->flags & (CRON_MIN_STAR | CRON_HOUR_STAR);
	int64_t u, limit, w;
	struct tz_span sp;
	int ret = -1;

	if (!c->minute || !c->hour || !c->dom || !c->month || !c->dow)
		BUG("cron_next on an unparsed schedule");
	if (!dates_possible(c)) {
		strbuf_addstr(err, "the schedule never fires: its days of "
				   "the month do not occur in its months");
		goto out;
	}
	/* Keep every sum below in range; year 10^11 is far enough. */
	if ((int64_t)after > INT64_C(1) << 62 ||
	    (int64_t)after < -(INT64_C(1) << 62)) {
		strbuf_addstr(err, "time out of range");
		goto out;
	}
	u = (int64_t)after + 1;
	limit = u + SEARCH_SECS;
	while (u < limit) {
		int32_t poff;
		int64_t lo, hi;

		tz_span_at(tz, u, &sp);
		poff = sp.start == INT64_MIN ? sp.off
					     : tz_off_at(tz, sp.start - 1);
		/*
		 * A fixed-time schedule due inside a spring-forward gap
		 * fires once, when the gap ends (rounded up to a minute).
		 */
		if (!wild && u == sp.start && sp.off > poff &&
		    !wall_next(c, sp.start + poff, sp.start + sp.off, &w)) {
			*out = (time_t)(sp.start +
					(ceil_minute(sp.start + sp.off) -
					 (sp.start + sp.off)));
			ret = 0;
			goto out;
		}
		lo = u + sp.off;
		/*
		 * After a fall-back the wall times [start+off, start+poff)
		 * come round again; fixed-time schedules already fired.
		 */
		if (!wild && sp.start != INT64_MIN && sp.off < poff &&
		    lo < sp.start + poff)
			lo = sp.start + poff;
		hi = (sp.end < limit ? sp.end : limit) + sp.off;
		if (!wall_next(c, lo, hi, &w)) {
			*out = (time_t)(w - sp.off);
			ret = 0;
			goto out;
		}
		if (sp.end >= limit)
			break;
		u = sp.end;
	}
	strbuf_addf(err,
		    "the schedule never fires (nothing matches in the "
		    "%d years searched)",
		    SEARCH_YEARS - 1);
out:
	return ret;
}

int cron_next(const struct cron *c, const char *tzname, time_t after,
	      time_t *out, struct strbuf *err)
{
	struct cron_tz *tz = NULL;
	int ret;

	if (cron_tz_load(tzname, &tz, err) < 0)
		return -1;
	ret = cron_next_tz(c, tz, after, out, err);
	cron_tz_free(tz);
	return ret;
}

/* ------------------------------------------------------------ formatting */

void cron_tz_format(const struct cron_tz *tz, time_t t, char *buf, size_t n)
{
	int32_t off = tz_off_at(tz, (int64_t)t);
	int64_t w = (int64_t)t + off, days = floor_div(w, SECS_PER_DAY), y;
	int sod = (int)(w - days * SECS_PER_DAY), m, d, k;
	int32_t a = off < 0 ? -off : off;

	civil_from_days(days, &y, &m, &d);
	k = snprintf(buf, n,
		     "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m,
		     d, sod / 3600, sod % 3600 / 60, sod % 60,
		     off < 0 ? '-' : '+', (int)(a / 3600),
		     (int)(a % 3600 / 60));
	/* Local mean times before 1900 had seconds in their offsets. */
	if (a % 60 && k > 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, ":%02d", (int)(a % 60));
}

int cron_format_time(time_t t, const char *tzname, char *buf, size_t n)
{
	struct strbuf err = STRBUF_INIT;
	struct cron_tz *tz = NULL;
	int ret = -1;

	if (n)
		buf[0] = '\0';
	if (cron_tz_load(tzname, &tz, &err) < 0)
		goto out;
	cron_tz_format(tz, t, buf, n);
	ret = 0;
out:
	cron_tz_free(tz);
	strbuf_release(&err);
	return ret;
}

/* The first instant whose wall time in tz is w (see cron_parse_time). */
static int64_t wall_to_utc(const struct cron_tz *tz, int64_t w)
{
	/* No offset exceeds 26 hours, so this starts before any answer. */
	int64_t u = w - 30 * 3600;
	struct tz_span sp;

	for (;;) {
		int64_t cand, from;
		tz_span_at(tz, u, &sp);
		cand = w - sp.off;
		from = sp.start > u ? sp.start : u;
		if (cand < from)
			return from; /* w fell into the gap before this span */
		if (cand < sp.end)
			return cand;
		u = sp.end;
	}
}

static const char *time_num(const char *s, int digits, int *out)
{
	int v = 0;
	for (int i = 0; i < digits; i++, s++) {
		if (!is_digit(*s))
			return NULL;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return s;
}

int cron_parse_time(const char *s, const struct cron_tz *tz, time_t *out,
		    struct strbuf *err)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om = 0;
	bool has_off = false;
	int32_t off = 0;
	int64_t w;

	if (*p == '@') {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(p + 1, &end, 10);
		if (end == p + 1 || *end || errno || v > INT64_C(1) << 40 ||
		    v < -(INT64_C(1) << 40))
			goto bad;
		*out = (time_t)v;
		return 0;
	}
	if (!(p = time_num(p, 4, &y)) || *p++ != '-' ||
	    !(p = time_num(p, 2, &mo)) || *p++ != '-' ||
	    !(p = time_num(p, 2, &d)))
		goto bad;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		goto bad;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!(p = time_num(p, 2, &h)) || *p++ != ':' ||
		    !(p = time_num(p, 2, &mi)))
			goto bad;
		if (*p == ':' && !(p = time_num(p + 1, 2, &sec)))
			goto bad;
		if (h > 23 || mi > 59 || sec > 59)
			goto bad;
		if (*p == 'Z' || *p == 'z') {
			has_off = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			if (!(p = time_num(p, 2, &oh)))
				goto bad;
			if (*p == ':' && !(p = time_num(p + 1, 2, &om)))
				goto bad;
			else if (is_digit(*p) && !(p = time_num(p, 2, &om)))
				goto bad;
			if (oh > 23 || om > 59)
				goto bad;
			off = sign * (oh * 3600 + om * 60);
			has_off = true;
		}
	}
	if (*p)
		goto bad;
	w = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 +
	    sec;
	if (has_off || !tz)
		*out = (time_t)(w - off);
	else
		*out = (time_t)wall_to_utc(tz, w);
	return 0;
bad:
	strbuf_addf(err,
		    "bad time '%s' (use ISO 8601 such as "
		    "2026-03-29T01:30:00Z, 2026-03-29T03:30+02:00 or "
		    "2026-03-29T01:30 in the schedule's time zone)",
		    s);
	return -1;
}
