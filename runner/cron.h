#ifndef CRON_H
#define CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct strbuf;

/*
 * Cron schedules: the 5-field Vixie/cronie syntax parsed to one bitset per
 * field, and the next fire time in an IANA time zone.
 *
 * Syntax: "minute hour day-of-month month day-of-week", each field a list
 * of "*", "N", "A-B", each optionally followed by "/STEP" ("A/STEP" means
 * A-max/STEP). Months take JAN-DEC and weekdays SUN-SAT (any case);
 * weekday 7 is Sunday too. The macros @yearly @annually @monthly @weekly
 * @daily @midnight @hourly stand for their usual 5-field forms.
 *
 * Day rule (cronie): when day-of-month or day-of-week starts with "*"
 * (including "*\/2"), a day must match both fields; when both are
 * restricted, a day matches if either does ("0 0 13 * FRI" fires on every
 * 13th and on every Friday).
 *
 * Time zones and DST (cronie's rule, in terms of fire times):
 * - "Fixed-time" schedules, whose minute and hour fields do not start with
 *   "*" ("30 2 * * *", @daily), fire once for each matching wall time: one
 *   skipped by a spring-forward gap fires once, at the first valid
 *   minute after the gap (03:00 CEST for 02:30 on 2026-03-29 in
 *   Europe/Berlin; all the times in one gap fire there together, once);
 *   a wall time repeated by fall-back fires only at its first occurrence.
 * - "Wildcard" schedules, whose minute or hour field starts with "*"
 *   ("*\/15 * * * *", @hourly, "0 * * * *"), follow real time: they fire
 *   at every instant whose local wall time matches, so a repeated hour
 *   fires twice and a skipped hour does not fire at all (no catch-up
 *   burst at the end of the gap).
 *
 * Time zones are read from the TZif files under /usr/share/zoneinfo (or
 * $TZDIR) by this module itself, including the POSIX TZ rule in the
 * footer for times past the file's last transition: no setenv("TZ"), no
 * tzset(), no global state, so every function here is thread-safe.
 * "UTC" is built in and works without tzdata.
 */

/* cron.flags: which fields start with "*" (cronie's *_STAR flags). */
#define CRON_MIN_STAR (1u << 0)
#define CRON_HOUR_STAR (1u << 1)
#define CRON_DOM_STAR (1u << 2)
#define CRON_DOW_STAR (1u << 3)

struct cron {
	uint64_t minute; /* bit m: minute m, 0-59 */
	uint32_t hour;	 /* bit h: hour h, 0-23 */
	uint32_t dom;	 /* bit d: day of month d, 1-31 */
	uint16_t month;	 /* bit m: month m, 1-12 */
	uint8_t dow;	 /* bit d: weekday d, 0 = Sunday; 7 folded into 0 */
	unsigned flags;	 /* CRON_*_STAR */
};

/*
 * Parse a schedule into *out. Returns 0, or -1 with *col set to the
 * 1-based column (in bytes, within expr) of the offending token and a
 * message appended to err, e.g. "minute: 60 is out of range 0-59".
 * Leading and trailing white space is allowed; fields are separated by
 * spaces or tabs. out is left zeroed on error.
 */
int cron_parse(const char *expr, struct cron *out, unsigned *col,
	       struct strbuf *err);

/*
 * A loaded time zone. cron_tz_load() accepts IANA names such as
 * "Europe/Berlin" (relative, no "." or ".." components), reads
 * $TZDIR/NAME (default /usr/share/zoneinfo) and returns 0 with *out owned
 * by the caller (free with cron_tz_free), or -1 with a message such as
 * "unknown time zone 'Mars/Olympus'". "UTC" never touches the disk.
 * Leap-second ("right/") zones are refused.
 */
struct cron_tz;
int cron_tz_load(const char *name, struct cron_tz **out, struct strbuf *err);
/*
 * A zone from a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3"
 * (what a TZif footer holds); for tests and for comparing with files.
 */
int cron_tz_from_posix(const char *spec, struct cron_tz **out,
		       struct strbuf *err);
void cron_tz_free(struct cron_tz *tz);
/* The name it was loaded as (the spec for cron_tz_from_posix). */
const char *cron_tz_name(const struct cron_tz *tz);
/* The zone's offset from UTC at instant t, in seconds east (+7200 CEST). */
long cron_tz_offset(const struct cron_tz *tz, time_t t);

/*
 * The first fire time of c strictly after `after`, in zone tz, into *out.
 * Returns 0, or -1 with "the schedule never fires ..." appended to err
 * when no time matches (Feb 30; or nothing within 400 years, one whole
 * Gregorian cycle). Impossible dates are answered at once, others in well
 * under a millisecond: whole months, days and hours are skipped.
 * cron_next() is the same with the zone given by name (loaded and freed on
 * each call; errors as cron_tz_load).
 */
int cron_next_tz(const struct cron *c, const struct cron_tz *tz, time_t after,
		 time_t *out, struct strbuf *err);
int cron_next(const struct cron *c, const char *tz, time_t after, time_t *out,
	      struct strbuf *err);

/*
 * ISO 8601 local time with the UTC offset, "2026-03-29T03:00:00+02:00"
 * ("+00:00" for UTC). buf should hold CRON_TIME_MAX bytes; the output is
 * truncated to n otherwise. cron_format_time() returns -1 (buf set to "")
 * when the zone cannot be loaded.
 */
#define CRON_TIME_MAX 40
void cron_tz_format(const struct cron_tz *tz, time_t t, char *buf, size_t n);
int cron_format_time(time_t t, const char *tz, char *buf, size_t n);

/*
 * Parse a point in time: "2026-03-29T01:30:00Z", "...+02:00" (also
 * "+0200", "+02"), seconds optional ("2026-03-29T01:30Z"), a space instead
 * of "T", a date alone (midnight), or "@SECONDS" since the epoch. Without
 * an offset the time is local to tz (UTC when tz is NULL): a wall time
 * repeated by fall-back means its first occurrence, one skipped by
 * spring-forward the end of the gap. Returns 0, or -1 with a message.
 */
int cron_parse_time(const char *s, const struct cron_tz *tz, time_t *out,
		    struct strbuf *err);

#endif
