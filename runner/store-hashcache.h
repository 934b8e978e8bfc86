#ifndef STORE_HASHCACHE_H
#define STORE_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * The hash_cache table: what hashcache.c remembers of the files under a
 * root (stat fields and SHA-256), keyed by the file's full path.
 *
 * Errors: -1 with SQLite's message alone in err; nothing is printed.
 */
struct store_hashcache_row {
	const char *path; /* relative to the root */
	uint64_t size;
	int64_t mtime_ns;
	uint64_t inode;
	const unsigned char *sha256; /* 32 bytes */
	int scanned;
};

/*
 * Each row under root ("ROOT/..."), its path relative to root; rows
 * whose digest is not 32 bytes are skipped. The row is valid for the
 * call only.
 */
int store_hashcache_read(struct store *st, const char *root,
			 void (*fn)(const struct store_hashcache_row *row,
				    void *data),
			 void *data, struct strbuf *err);
/*
 * Insert or replace rows[0..nr) under root, inside the caller's
 * transaction (store_begin()).
 */
int store_hashcache_write(struct store *st, const char *root,
			  const struct store_hashcache_row *rows, size_t nr,
			  struct strbuf *err);

#endif
