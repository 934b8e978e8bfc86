#ifndef E2B_TREE_H
#define E2B_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct sandbox;
struct strbuf;
struct ws_manifest;

/*
 * The workspace tree inside an e2b sandbox (E2B_WORKSPACE): listing it
 * and putting a manifest there.
 *
 * A listing is one run of find(1) and sha256sum as root (so that the
 * task's chmods cannot hide anything): every entry's type, size, mode and
 * link target, the SHA-256 of every regular file, and the text of every
 * .gitignore small enough for ws.c to read. It is untrusted: every path
 * must pass ws_path_valid(), appear once, and have its parent listed as
 * a directory, or the whole listing is refused. The listing may hold
 * WS_GITIGNORE_MAX bytes of one .gitignore on top of 128 MiB of entries.
 *
 * The functions run plumbing in sb (e2b-proc.h), so they follow its
 * rules: one thread at a time per sandbox; -1 with a message naming the
 * sandbox on failure.
 */

struct e2b_entry {
	char *path; /* relative, as in a manifest */
	char type;  /* find's %y: f d l p s c b D U */
	uint64_t size;
	unsigned int mode; /* permission bits */
	char *link;	   /* 'l': the target; else NULL */
	bool has_hash;	   /* 'f' whose hash was listed */
	unsigned char sha256[32];
	/* A .gitignore's text in base64 (in the tree's raw), or NULL. */
	const char *gitignore;
};

struct e2b_tree {
	/*
	 * In tree order: paths compared component by component, so a
	 * directory's descendants follow it directly and siblings come in
	 * bytewise order (ws_diff's walk).
	 */
	struct e2b_entry *v;
	size_t nr, alloc;
	struct strbuf raw; /* the listing as the sandbox printed it */
};

#define E2B_TREE_INIT                   \
	{                               \
		NULL, 0, 0, STRBUF_INIT \
	}

/*
 * List the workspace into t (empty, E2B_TREE_INIT): script_prefix (sh,
 * may be "") runs first with args as $1..., then the listing; what names
 * the step in messages. Free t with e2b_tree_release() also on failure.
 */
int e2b_tree_list(struct sandbox *sb, const char *script_prefix,
		  const char *what, const char *const *args,
		  struct e2b_tree *t, struct strbuf *err);

/* The entry at path, or NULL. */
const struct e2b_entry *e2b_tree_find(const struct e2b_tree *t,
				      const char *path);

void e2b_tree_release(struct e2b_tree *t);

/* "regular file", "directory", "fifo", ... for a find %y type. */
const char *e2b_tree_type_name(char type);

/*
 * Put the manifest m (files read from src_root, each checked against it
 * as it is read) into the sandbox's workspace: one tar.gz through a
 * temporary file, uploaded and extracted, the tree given to the task's
 * user, then listed: it must equal m exactly (type, size, content, mode,
 * link target, nothing more), else -1 naming the first differences.
 */
int e2b_tree_put(struct sandbox *sb, const struct ws_manifest *m,
		 const char *src_root, struct strbuf *err);

#endif
