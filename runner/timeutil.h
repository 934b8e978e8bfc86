#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (wall clock). */
int64_t time_now_ms(void);
/* Milliseconds from an arbitrary origin; never goes back. */
int64_t time_mono_ms(void);
/*
 * Format ms-since-epoch as UTC ISO 8601 with milliseconds
 * ("2026-11-22T02:44:00.123Z") into buf (at least 32 bytes).
 */
void time_iso8601_utc(int64_t ms, char *buf, size_t size);
/* Sleep ms milliseconds (restarting after signals). */
void time_sleep_ms(int64_t ms);

#endif
