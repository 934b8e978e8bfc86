#ifndef HASHCACHE_H
#define HASHCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * The SHA-256 cache of workspace files, kept in the state database
 * (table hash_cache) and keyed by absolute path plus (size, mtime, inode):
 * a file whose key is unchanged is not read again. A cache is loaded for
 * one workspace root on the main thread, consulted and extended by a
 * snapshot (one thread at a time), and saved back on the main thread.
 */
struct hashcache;

/* Load the entries under root (absolute). -1 with err. */
int hashcache_load(struct store *st, const char *root, struct hashcache **out,
		   struct strbuf *err);
/* A cache that starts empty and is never saved (no state at hand). */
struct hashcache *hashcache_new_empty(const char *root);
void hashcache_free(struct hashcache *hc);

/*
 * 1 and the hash when (relpath, size, mtime, inode) matches; else 0.
 * *scanned is the secret-scan rules version the content was found clean
 * with (0: never scanned clean).
 */
int hashcache_lookup(const struct hashcache *hc, const char *relpath,
		     uint64_t size, int64_t mtime_ns, uint64_t inode,
		     unsigned char sha256[32], int *scanned);
/* Record a freshly computed hash (replaces an old entry). */
void hashcache_put(struct hashcache *hc, const char *relpath, uint64_t size,
		   int64_t mtime_ns, uint64_t inode,
		   const unsigned char sha256[32], int scanned);
/* Write new and changed entries back; -1 with err. */
int hashcache_save(struct store *st, struct hashcache *hc, struct strbuf *err);

/* How many lookups hit and missed (for tests and benchmarks). */
void hashcache_stats(const struct hashcache *hc, uint64_t *hits,
		     uint64_t *misses);

#endif
