#include "runner.h"
#include "hashcache.h"
#include "store.h"
#include "store-hashcache.h"

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

static void load_row(const struct store_hashcache_row *row, void *data)
{
	struct hc_entry *e = hc_add(data, row->path);

	e->size = row->size;
	e->mtime_ns = row->mtime_ns;
	e->inode = row->inode;
	memcpy(e->sha256, row->sha256, 32);
	e->scanned = row->scanned;
}

int hashcache_load(struct store *st, const char *root, struct hashcache **out,
		   struct strbuf *err)
{
	struct hashcache *hc = hc_new(root);
	struct strbuf msg = STRBUF_INIT;

	*out = NULL;
	if (store_hashcache_read(st, root, load_row, hc, &msg) < 0) {
		strbuf_addf(err, "cannot read the hash cache: %s", msg.buf);
		strbuf_release(&msg);
		hashcache_free(hc);
		return -1;
	}
	*out = hc;
	return 0;
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
	struct store_hashcache_row *rows = NULL;
	size_t nr = 0, alloc = 0;
	struct strbuf msg = STRBUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < hc->nr_buckets; i++) {
		struct hc_entry *e = hc->buckets[i];
		for (; e; e = e->next) {
			struct store_hashcache_row *r;
			if (!e->dirty)
				continue;
			ALLOC_GROW(rows, nr + 1, alloc);
			r = &rows[nr++];
			r->path = e->path;
			r->size = e->size;
			r->mtime_ns = e->mtime_ns;
			r->inode = e->inode;
			r->sha256 = e->sha256;
			r->scanned = e->scanned;
		}
	}
	if (store_begin(st, err) < 0)
		goto out;
	if (store_hashcache_write(st, hc->root, rows, nr, &msg) < 0) {
		strbuf_addf(err, "cannot write the hash cache: %s", msg.buf);
		store_rollback(st);
		goto out;
	}
	/* Written: clean until the next put. */
	for (size_t i = 0; i < hc->nr_buckets; i++)
		for (struct hc_entry *e = hc->buckets[i]; e; e = e->next)
			e->dirty = false;
	ret = store_commit(st, err);
out:
	strbuf_release(&msg);
	free(rows);
	return ret;
}

void hashcache_stats(const struct hashcache *hc, uint64_t *hits,
		     uint64_t *misses)
{
	*hits = hc->hits;
	*misses = hc->misses;
}
