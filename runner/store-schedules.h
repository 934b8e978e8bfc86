#ifndef STORE_SCHEDULES_H
#define STORE_SCHEDULES_H

#include <stdint.h>

struct store;
struct strbuf;

/*
 * The schedules table: per plan name, when its schedule was armed,
 * which fire time it last claimed and when it was last checked (seconds
 * since the epoch). due.c decides with it, inside its own transaction.
 *
 * Errors: -1 with SQLite's message alone in err; nothing is printed.
 */

/* The plan's last fire time into *last_fire: 1, or 0 when no row. */
int store_schedules_get(struct store *st, const char *plan_name,
			int64_t *last_fire, struct strbuf *err);
/* A new row: armed and checked at now, last fire last_fire. */
int store_schedules_add(struct store *st, const char *plan_name, int64_t now,
			int64_t last_fire, struct strbuf *err);
/* The row checked at now, its last fire last_fire. */
int store_schedules_set(struct store *st, const char *plan_name, int64_t now,
			int64_t last_fire, struct strbuf *err);

#endif
