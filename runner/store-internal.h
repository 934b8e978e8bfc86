#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * The SQLite side of the store, for store*.c only (and the unit tests
 * that build fixtures): the rest of runner/ reads and writes through the
 * typed functions of store-*.h and never sees SQL (t0200-layering).
 */

/* The connection, owned by the store (do not close it). */
sqlite3 *store_db(struct store *st);

/* Run SQL without results. -1 with the SQLite message in err. */
int store_exec(struct store *st, const char *sql, struct strbuf *err);
/*
 * sqlite3_prepare_v2() of one statement; the caller finalizes *out with
 * sqlite3_finalize(). On error *out is NULL.
 */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **out,
		  struct strbuf *err);

/* Column i of the current row as a new string, NULL for NULL. */
char *store_col_dup(sqlite3_stmt *s, int i);
/* Column i as ms since the epoch, 0 for NULL (what run.h keeps). */
int64_t store_col_ms(sqlite3_stmt *s, int i);
/* Bind v, or NULL when v is NULL. */
void store_bind_text(sqlite3_stmt *s, int i, const char *v);

#endif
