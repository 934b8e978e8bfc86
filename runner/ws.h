#ifndef WS_H
#define WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strvec.h"

struct strbuf;
struct ignore;
struct mask;
struct mask_scan;
struct sha256_ctx;

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
	char *path; /* relative, '/'-separated, no leading "./" */
	enum ws_type type;
	mode_t mode; /* permission bits only */
	uint64_t size;
	int64_t mtime_ns;
	char *link;		  /* WS_LINK: the target, as stored */
	unsigned char sha256[32]; /* WS_FILE only */
};

struct ws_manifest {
	struct ws_entry *entries; /* sorted by path (bytewise) */
	size_t nr, alloc;
	uint64_t total_bytes;
};

struct hashcache;
struct secret_findings;

struct ws_snapshot_opts {
	const struct strvec *exclude; /* gitignore patterns, may be NULL */
	bool include_git;
	/* Reuse and record file hashes; NULL: hash everything. */
	struct hashcache *cache;
	/*
	 * Scan file contents for credentials into this list; NULL: do not
	 * scan. Files whose hash came from the cache and that were scanned
	 * clean before are not read again.
	 */
	struct secret_findings *findings;
};

/* Counters of one snapshot, for logs and benchmarks. */
struct ws_snapshot_stats {
	uint64_t files, bytes;
	uint64_t hashed_files, hashed_bytes; /* read this time */
	uint64_t scanned_files;
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
/* The same, reporting what it did into stats (which may be NULL). */
int ws_snapshot_stats(const char *root, const struct ws_snapshot_opts *opts,
		      struct ws_manifest *m, struct ws_snapshot_stats *stats,
		      struct strbuf *err);

/* Create every entry of m under dst (an existing, empty directory). */
int ws_copy_tree(const struct ws_manifest *m, const char *src_root,
		 const char *dst_root, struct strbuf *err);

/*
 * What each copied entry looked like right after the copy: inode and
 * ctime. A task cannot set ctime back, so an entry whose inode, ctime and
 * size are unchanged after the task was not touched and need not be
 * hashed again (ws_diff's fast path).
 */
struct ws_stamps {
	uint64_t *ino; /* per manifest entry; 0: no stamp */
	int64_t *ctime_ns;
	size_t nr;
};

struct ws_copy_opts {
	bool chown; /* give every copied entry to uid:gid */
	uid_t uid;
	gid_t gid;
};

/*
 * ws_copy_tree with options (NULL: none) and stamps (NULL: not wanted;
 * else filled, release with ws_stamps_release).
 */
int ws_copy_tree_ex(const struct ws_manifest *m, const char *src_root,
		    const char *dst_root, const struct ws_copy_opts *opts,
		    struct ws_stamps *stamps, struct strbuf *err);
void ws_stamps_release(struct ws_stamps *s);

struct ws_change {
	char *path;
	char kind; /* 'A' added, 'M' modified, 'D' deleted */
	enum ws_type type;
	uint64_t size;
	unsigned char sha256[32];
	bool pulled;   /* copied into changes/ */
	bool has_base; /* M and D: base_sha256 is the snapshot's */
	unsigned char base_sha256[32];
	char *note;  /* why not pulled, or NULL */
	bool secret; /* refused: it holds a secret's value (note names it) */
};

/*
 * A hostile task may create millions of files: past this many changes the
 * list stops growing (truncated), so memory stays bounded.
 */
#define WS_MAX_CHANGES 100000

struct ws_changes {
	struct ws_change *items; /* sorted by path */
	size_t nr, alloc;
	uint64_t bytes_pulled;
	size_t nr_refused; /* specials, escapes, over the limit, secrets */
	bool truncated;	   /* more than WS_MAX_CHANGES: the rest dropped */
	/* listed, but not written into the results (a full disk) */
	size_t nr_unwritten;
};

/*
 * ch could not be written into the results (a full disk, most often): a
 * pull goes on, so the list still says everything the task changed, and
 * ch says it was not pulled and why (results.c marks such a list
 * "incomplete", which apply refuses). The first failure is the error;
 * ws_changes_unwritten_done() adds how many there were.
 */
void ws_change_unwritten(struct ws_changes *out, struct ws_change *ch,
			 int errnum, struct strbuf *err);
void ws_changes_unwritten_done(const struct ws_changes *out,
			       struct strbuf *err);

struct ws_pull_opts {
	const struct strvec *pull; /* gitignore patterns; NULL = all */
	uint64_t pull_limit;	   /* bytes; 0 = none */
	const char *dest;	   /* changes/ directory to create and fill */
	const struct ws_stamps *stamps; /* from ws_copy_tree_ex, or NULL */
	/* The plan's exclude: what never went in never comes back either. */
	const struct strvec *exclude;
	/*
	 * The run's secrets (mask_new_named, read only): a file, name or link
	 * target that holds one never comes back. NULL: none.
	 */
	const struct mask *secrets;
};

void ws_changes_release(struct ws_changes *c);

/*
 * Building a ws_changes elsewhere (a remote backend compares in its
 * sandbox and pulls back itself) with ws_diff's exact rules.
 */
/* Append a change (path copied); the caller fills size, sha256, notes. */
struct ws_change *ws_changes_add(struct ws_changes *c, const char *path,
				 char kind, enum ws_type type);
/* M and D: record the snapshot entry's hash as the change's base. */
void ws_change_set_base(struct ws_change *ch, const struct ws_entry *e);
/* Sort by path, as ws_diff leaves them. */
void ws_changes_sort(struct ws_changes *c);
/*
 * Is path what struct ws_entry holds: relative, '/'-separated, with no
 * empty, "." or ".." component and no leading or trailing '/'? The
 * check for every path read from a sandbox before it names a file.
 */
bool ws_path_valid(const char *path);
/*
 * Would a link at path (relative) with this target resolve inside the
 * workspace? Judged lexically; the link is never followed.
 */
bool ws_link_stays_inside(const char *path, const char *target);
/*
 * A new matcher (ws-ignore.h; the caller frees it) of the files that carry
 * credentials by convention (.env*, *.pem, id_rsa*, .ssh/, ...): they never
 * go into a sandbox and never come back from one, in every backend.
 */
struct ignore *ws_credentials_new(void);

/* The largest .gitignore read, in bytes (git's own limit); bigger: none. */
#define WS_GITIGNORE_MAX ((size_t)100 << 20)

/*
 * What comes back from a sandbox, in every backend: ws_diff() walks a
 * local tree with this filter, a remote backend walks its listing with
 * it. An entry the manifest has is always compared; a new one is left out
 * when ws_pull_filter_drops() says so (a directory named .git, whatever
 * include_git says; a file that carries credentials; what the plan's
 * exclude patterns (opts->exclude) and the .gitignore files of the
 * sandbox's tree, fed in as the walk reaches them, ignore). A changed
 * file or link is copied back when ws_pull_filter_wants() it
 * (opts->pull: the last entry that matches the path or a directory above
 * it decides, so ["**", "!.claude/"] wants all but .claude/). A change
 * whose name or link target holds a secret's value is refused
 * (ws_pull_filter_refuse_name), before anything else is decided about it.
 * One filter serves one walk in one thread; free it with
 * ws_pull_filter_free().
 */
struct ws_pull_filter;
struct ws_pull_filter *ws_pull_filter_new(const struct ws_pull_opts *opts);
void ws_pull_filter_free(struct ws_pull_filter *f);
/*
 * Add the .gitignore of directory dir ("" for the top) with its text
 * (borrowed); one over WS_GITIGNORE_MAX is skipped, as ws_diff() skips
 * such a file. Call it before the walk looks at dir's entries.
 */
void ws_pull_filter_add_gitignore(struct ws_pull_filter *f, const char *dir,
				  const char *text, size_t len);
/* Leave out the new entry at path (name: its last component)? */
bool ws_pull_filter_drops(const struct ws_pull_filter *f, const char *path,
			  const char *name, bool is_dir);
/* Copy back the changed file or link at path? */
bool ws_pull_filter_wants(const struct ws_pull_filter *f, const char *path);
/*
 * Refuse ch (just added, A or M) when its path, or link (its target, or
 * NULL), holds a secret's value: the path in ch is masked ("***" where
 * the value was), the note names the secret, out counts it. True when
 * refused: the caller then records nothing more about it.
 */
bool ws_pull_filter_refuse_name(const struct ws_pull_filter *f,
				struct ws_change *ch, const char *link,
				struct ws_changes *out);
/*
 * Open the directory that holds path under root_fd, one component at a
 * time, never following a link, creating missing ones when create is
 * set. Returns a directory fd and points *base at the last component, or
 * -1 with errno (ENOENT for a missing parent, ELOOP or ENOTDIR for one
 * that is not a plain directory).
 */
int ws_open_parent(int root_fd, const char *path, const char **base,
		   bool create);
/*
 * One file being written into a results folder from a sandbox's output,
 * which is hostile: created new (O_EXCL, no link followed, its parents
 * opened by ws_open_parent()), hashed as it is written, removed if
 * the caller refuses it half way. Every backend's pull writes through it;
 * each reads its own source and applies its own limits. The data is
 * scanned for the secrets given to ws_pulled_open() before it is written:
 * a write that would put one into the results fails instead, with
 * secret set (ws_pulled_refuse_secret()). Functions return -1 with errno
 * on failure.
 */
struct ws_pulled {
	int pfd, fd;
	const char *base; /* in the path given to ws_pulled_open() */
	struct sha256_ctx *sha;
	uint64_t size; /* bytes written */
	struct mask_scan *scan;
	const char *secret; /* the name of the secret found, or NULL */
};
#define WS_PULLED_INIT                            \
	{                                         \
		-1, -1, NULL, NULL, 0, NULL, NULL \
	}

/* secrets: the run's (ws_pull_opts), or NULL. */
int ws_pulled_open(struct ws_pulled *f, int dest_fd, const char *path,
		   const struct mask *secrets);
int ws_pulled_write(struct ws_pulled *f, const void *buf, size_t len);
/*
 * After a failed ws_pulled_write(): when it failed because the data holds
 * a secret, discard the file, note it on ch (naming the secret, never its
 * value), count it in out and return true.
 */
bool ws_pulled_refuse_secret(struct ws_pulled *f, struct ws_change *ch,
			     struct ws_changes *out);
/* A hole of len bytes: hashed as zeros, left unwritten (sparse). */
int ws_pulled_skip(struct ws_pulled *f, uint64_t len);
/* Refused: close and remove what was written. */
void ws_pulled_discard(struct ws_pulled *f);
/* Done: mode 0755 or 0644, its size and SHA-256 into sha256, closed. */
int ws_pulled_finish(struct ws_pulled *f, bool executable,
		     unsigned char sha256[32]);
/* Close whatever is still open (after a failure, or always: harmless). */
void ws_pulled_release(struct ws_pulled *f);

/*
 * Put a pulled-back link into dest_fd's tree, or refuse it (with a note,
 * counted in out) when it would point outside the workspace. -1 with err
 * only when the results cannot be written.
 */
int ws_put_link(int dest_fd, const char *target, struct ws_change *ch,
		struct ws_changes *out, struct strbuf *err);

/*
 * Compare tree (the task's workspace after it ran) against base, copy
 * added and modified regular files and symlinks matching opts->pull into
 * opts->dest, and record every change in out. Never follows a link in
 * tree, never writes outside dest; fifos, sockets and devices are refused
 * and recorded with a note. Returns -1 only for failures of our own side:
 * the tree cannot be read, or dest cannot be written (a full disk). In
 * the latter case the walk still goes to the end, so out lists every
 * change; what could not be written has pulled false and a note saying
 * why, nothing of it is left in dest, and err names the first failure.
 */
int ws_diff(const struct ws_manifest *base, const char *tree,
	    const struct ws_pull_opts *opts, struct ws_changes *out,
	    struct strbuf *err);

#endif
