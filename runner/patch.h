#ifndef PATCH_H
#define PATCH_H

struct strbuf;
struct ws_changes;

/*
 * changes.patch: a unified diff of every text file a task added,
 * modified (diff -u, run without a shell) or deleted, against the workspace
 * file it started from. A workspace file that has changed since the
 * snapshot is not diffed (a comment line says so); binary files get
 * diff's one-line notice. The patch is capped at PATCH_MAX bytes.
 */
#define PATCH_MAX (64u << 20)
/* Modified files diffed with diff(1) at most (one process each). */
#define PATCH_MAX_DIFFS 1000

int patch_write(const struct ws_changes *c, const char *workspace,
		const char *changes_dir, const char *patch_path,
		struct strbuf *err);

#endif
