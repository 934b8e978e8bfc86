#ifndef WS_H
#define WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strvec.h"

struct strbuf;

/*
 * Workspace snapshots and change detection.
 *
 * ws_snapshot() walks a workspace once and records what goes into a
 * sandbox (the manifest). ws_copy_tree() materialises a manifest into a
 * directory. ws_diff() compares a directory (the sandbox's workspace after
 * the task) with the manifest and copies added and modified files that
 * match the pull patterns into a results folder, treating every byte of
 * the scanned tree as hostile.
 */

enum ws_type { WS_FILE, WS_DIR, WS_LINK };

struct ws_entry {
	char *path;            /* relative, '/'-separated, no leading "./" */
	enum ws_type type;
	mode_t mode;           /* permission bits only */
	uint64_t size;
	int64_t mtime_ns;
	char *link;            /* WS_LINK: the target, as stored */
	unsigned char sha256[32]; /* WS_FILE only */
};

struct ws_manifest {
	struct ws_entry *entries; /* sorted by path (bytewise) */
	size_t nr, alloc;
	uint64_t total_bytes;
};

struct ws_snapshot_opts {
	const struct strvec *exclude; /* gitignore patterns, may be NULL */
	bool include_git;
};

void ws_manifest_release(struct ws_manifest *m);
const struct ws_entry *ws_manifest_find(const struct ws_manifest *m,
					const char *path);

/*
 * Walk root and fill m (which must be empty). Returns 0, or -1 with a
 * message naming the path that could not be read.
 */
int ws_snapshot(const char *root, const struct ws_snapshot_opts *opts,
		struct ws_manifest *m, struct strbuf *err);

/* Create every entry of m under dst (an existing, empty directory). */
int ws_copy_tree(const struct ws_manifest *m, const char *src_root,
		 const char *dst_root, struct strbuf *err);

struct ws_change {
	char *path;
	char kind;           /* 'A' added, 'M' modified, 'D' deleted */
	enum ws_type type;
	uint64_t size;
	unsigned char sha256[32];
	bool pulled;         /* copied into changes/ */
	char *note;          /* why not pulled, or NULL */
};

struct ws_changes {
	struct ws_change *items; /* sorted by path */
	size_t nr, alloc;
	uint64_t bytes_pulled;
	size_t nr_refused;   /* specials, escapes, over the limit */
};

struct ws_pull_opts {
	const struct strvec *pull; /* gitignore patterns; NULL = all */
	uint64_t pull_limit;       /* bytes; 0 = none */
	const char *dest;          /* changes/ directory to create and fill */
};

void ws_changes_release(struct ws_changes *c);

/*
 * Compare tree (the task's workspace after it ran) against base, copy
 * added and modified regular files and symlinks matching opts->pull into
 * opts->dest, and record every change in out. Never follows a link in
 * tree, never writes outside dest; fifos, sockets and devices are refused
 * and recorded with a note. Returns -1 only for failures of our own side
 * (cannot write dest).
 */
int ws_diff(const struct ws_manifest *base, const char *tree,
	    const struct ws_pull_opts *opts, struct ws_changes *out,
	    struct strbuf *err);

#endif
