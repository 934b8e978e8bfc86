#ifndef STORE_CAPS_H
#define STORE_CAPS_H

#include <stdint.h>

struct store;
struct strbuf;

/*
 * The starts ledger in the state database: one row per task start
 * (cap_key, at), shared by every runner on the state. caps.c decides
 * with it, inside its own transaction; gc trims it.
 *
 * Errors: -1 with SQLite's message alone in err, for the caller to say
 * what it was doing; nothing is printed.
 */

/*
 * The time of the (n+1)-th newest start of key after since_ms into *at:
 * 1, or 0 when there are not that many.
 */
int store_caps_nth_start(struct store *st, const char *key, int64_t since_ms,
			 int n, int64_t *at, struct strbuf *err);
/* Record a start of key at at_ms for run/task. */
int store_caps_add_start(struct store *st, const char *key, int64_t at_ms,
			 const char *run_id, const char *task_id,
			 struct strbuf *err);
/* The number of starts of key after since_ms. */
int store_caps_count_since(struct store *st, const char *key, int64_t since_ms,
			   int *out, struct strbuf *err);
/* Forget the starts before before_ms (of every key). */
int store_caps_trim(struct store *st, int64_t before_ms, struct strbuf *err);

#endif
