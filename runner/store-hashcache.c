#include "runner.h"
#include "store-hashcache.h"
#include "store-internal.h"

int store_hashcache_read(struct store *st, const char *root,
			 void (*fn)(const struct store_hashcache_row *row,
				    void *data),
			 void *data, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char *lo = xstrfmt("%s/", root);
	char *hi = xstrfmt("%s0", root); /* '0' follows '/' */
	size_t skip = strlen(lo);
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db,
			       "SELECT path, size, mtime_ns, inode, sha256,"
			       " scanned FROM hash_cache WHERE path >= ?1 AND"
			       " path < ?2",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, lo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, hi, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);
		struct store_hashcache_row row;
		if (!p || strlen(p) <= skip ||
		    sqlite3_column_bytes(s, 4) != 32)
			continue;
		row.path = p + skip;
		row.size = (uint64_t)sqlite3_column_int64(s, 1);
		row.mtime_ns = sqlite3_column_int64(s, 2);
		row.inode = (uint64_t)sqlite3_column_int64(s, 3);
		row.sha256 = sqlite3_column_blob(s, 4);
		row.scanned = sqlite3_column_int(s, 5);
		fn(&row, data);
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		strbuf_addstr(err, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	free(lo);
	free(hi);
	return ret;
}

int store_hashcache_write(struct store *st, const char *root,
			  const struct store_hashcache_row *rows, size_t nr,
			  struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO hash_cache (path, size,"
			       " mtime_ns, inode, sha256, scanned) VALUES (?1,"
			       " ?2, ?3, ?4, ?5, ?6)",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		const struct store_hashcache_row *r = &rows[i];
		char *full = xstrfmt("%s/%s", root, r->path);
		int ok;
		sqlite3_bind_text(s, 1, full, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)r->size);
		sqlite3_bind_int64(s, 3, r->mtime_ns);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)r->inode);
		sqlite3_bind_blob(s, 5, r->sha256, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 6, r->scanned);
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
		free(full);
		if (!ok)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		strbuf_addstr(err, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return ret;
}
