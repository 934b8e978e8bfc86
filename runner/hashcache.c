#include "runner.h"
#include "hashcache.h"
#include "store.h"

struct hc_entry {
	char *path; /* relative to root */
	uint64_t size;
	int64_t mtime_ns;
	uint64_t inode;
	unsigned char sha256[32];
	int scanned;
	bool dirty;
	struct hc_entry *next; /* hash chain */
};

struct hashcache {
	char *root;
	struct hc_entry **buckets;
	size_t nr_buckets, nr;
	uint64_t hits, misses;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct hashcache *hc_new(const char *root)
{
	struct hashcache *hc = xcalloc(1, sizeof(*hc));
	hc->root = xstrdup(root);
	hc->nr_buckets = 1024;
	hc->buckets = xcalloc(hc->nr_buckets, sizeof(*hc->buckets));
	return hc;
}

struct hashcache *hashcache_new_empty(const char *root)
{
	return hc_new(root);
}

static void hc_rehash(struct hashcache *hc)
{
	size_t n = hc->nr_buckets * 4;
	struct hc_entry **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < hc->nr_buckets; i++) {
		struct hc_entry *e = hc->buckets[i], *next;
		for (; e; e = next) {
			size_t k = fnv1a(e->path) & (n - 1);
			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(hc->buckets);
	hc->buckets = b;
	hc->nr_buckets = n;
}

static struct hc_entry *hc_find(const struct hashcache *hc, const char *path)
{
	struct hc_entry *e = hc->buckets[fnv1a(path) & (hc->nr_buckets - 1)];
	for (; e; e = e->next)
		if (!strcmp(e->path, path))
			return e;
	return NULL;
}

static struct hc_entry *hc_add(struct hashcache *hc, const char *path)
{
	struct hc_entry *e = hc_find(hc, path);
	size_t k;
	if (e)
		return e;
	if (hc->nr >= hc->nr_buckets)
		hc_rehash(hc);
	e = xcalloc(1, sizeof(*e));
	e->path = xstrdup(path);
	k = fnv1a(path) & (hc->nr_buckets - 1);
	e->next = hc->buckets[k];
	hc->buckets[k] = e;
	hc->nr++;
	return e;
}

int hashcache_load(struct store *st, const char *root, struct hashcache **out,
		   struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	struct hashcache *hc = hc_new(root);
	char *lo = xstrfmt("%s/", root);
	char *hi = xstrfmt("%s0", root); /* '0' follows '/' */
	size_t skip = strlen(lo);
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT path, size, mtime_ns, inode, sha256,"
			       " scanned FROM hash_cache WHERE path >= ?1 AND"
			       " path < ?2",
			       -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, lo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, hi, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);
		struct hc_entry *e;
		if (!p || strlen(p) <= skip ||
		    sqlite3_column_bytes(s, 4) != 32)
			continue;
		e = hc_add(hc, p + skip);
		e->size = (uint64_t)sqlite3_column_int64(s, 1);
		e->mtime_ns = sqlite3_column_int64(s, 2);
		e->inode = (uint64_t)sqlite3_column_int64(s, 3);
		memcpy(e->sha256, sqlite3_column_blob(s, 4), 32);
		e->scanned = sqlite3_column_int(s, 5);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	free(lo);
	free(hi);
	*out = hc;
	return 0;
fail:
	strbuf_addf(err, "cannot read the hash cache: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	free(lo);
	free(hi);
	hashcache_free(hc);
	return -1;
}

void hashcache_free(struct hashcache *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; i < hc->nr_buckets; i++) {
		struct hc_entry *e = hc->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e->path);
			free(e);
		}
	}
	free(hc->buckets);
	free(hc->root);
	free(hc);
}

int hashcache_lookup(const struct hashcache *hc, const char *relpath,
		     uint64_t size, int64_t mtime_ns, uint64_t inode,
		     unsigned char sha256[32], int *scanned)
{
	/* Counters are statistics only; the cache is used by one thread. */
	struct hashcache *mut = (struct hashcache *)hc;
	const struct hc_entry *e = hc_find(hc, relpath);
	if (e && e->size == size && e->mtime_ns == mtime_ns &&
	    e->inode == inode) {
		memcpy(sha256, e->sha256, 32);
		*scanned = e->scanned;
		mut->hits++;
		return 1;
	}
	mut->misses++;
	return 0;
}

void hashcache_put(struct hashcache *hc, const char *relpath, uint64_t size,
		   int64_t mtime_ns, uint64_t inode,
		   const unsigned char sha256[32], int scanned)
{
	struct hc_entry *e = hc_add(hc, relpath);
	e->scanned = scanned;
	e->size = size;
	e->mtime_ns = mtime_ns;
	e->inode = inode;
	memcpy(e->sha256, sha256, 32);
	e->dirty = true;
}

int hashcache_save(struct store *st, struct hashcache *hc, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;

	if (store_begin(st, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO hash_cache (path, size,"
			       " mtime_ns, inode, sha256, scanned) VALUES (?1,"
			       " ?2, ?3, ?4, ?5, ?6)",
			       -1, &s, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < hc->nr_buckets; i++) {
		struct hc_entry *e = hc->buckets[i];
		for (; e; e = e->next) {
			char *full;
			int ok;
			if (!e->dirty)
				continue;
			full = xstrfmt("%s/%s", hc->root, e->path);
			sqlite3_bind_text(s, 1, full, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 2, (sqlite3_int64)e->size);
			sqlite3_bind_int64(s, 3, e->mtime_ns);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)e->inode);
			sqlite3_bind_blob(s, 5, e->sha256, 32,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 6, e->scanned);
			ok = sqlite3_step(s) == SQLITE_DONE;
			sqlite3_reset(s);
			free(full);
			if (!ok)
				goto fail;
			e->dirty = false;
		}
	}
	sqlite3_finalize(s);
	return store_commit(st, err);
fail:
	strbuf_addf(err, "cannot write the hash cache: %s",
		    sqlite3_errmsg(db));
	sqlite3_finalize(s);
	store_rollback(st);
	return -1;
}

void hashcache_stats(const struct hashcache *hc, uint64_t *hits,
		     uint64_t *misses)
{
	*hits = hc->hits;
	*misses = hc->misses;
}
