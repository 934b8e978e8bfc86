#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (wall clock). */
int64_t time_now_ms(void);
/* Milliseconds from an arbitrary origin; never goes back. */
int64_t time_mono_ms(void);
/* Sleep ms milliseconds (restarting after signals). */
void time_sleep_ms(int64_t ms);

/*
 * Every time and duration the program shows or writes goes through one
 * of these, named by what it is for (there is no other formatter of
 * either in runner/). Times are ms since the epoch, shown in UTC. Each
 * writes into buf (32 bytes are enough), truncated to size.
 *
 *   time_iso8601_utc     "2026-11-22T02:44:00.123Z"  JSON (results, --json
 *                        events), the event lines' clock, messages
 *   time_iso8601_utc_s   "2026-11-22T02:44:00Z"      the HTML report
 *   time_human_utc       "2026-11-22 02:44:00Z"      tables (runs, show)
 *   time_format_elapsed  "250ms" "3.2s" "1m05s" "2h03m", "-" when
 *                        negative: how long something took, for people
 *
 * A duration as a plan writes it ("1h30m", exact, parsed back by
 * parse_duration_ms) is plan.h's format_duration().
 */
void time_iso8601_utc(int64_t ms, char *buf, size_t size);
void time_iso8601_utc_s(int64_t ms, char *buf, size_t size);
void time_human_utc(int64_t ms, char *buf, size_t size);
void time_format_elapsed(int64_t ms, char *buf, size_t size);

#endif
