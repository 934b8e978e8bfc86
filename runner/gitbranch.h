#ifndef GITBRANCH_H
#define GITBRANCH_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct strvec;

/*
 * A task's changes as a commit on a new branch of the workspace's git
 * repository (runner apply --branch), made with git's plumbing through
 * the git command (argv, never a shell) and a temporary index: the
 * repository's working tree, index and HEAD are never touched, only the
 * object store and the one new ref.
 */

/*
 * The commit the workspace's repository is at, recorded with the
 * snapshot: *head (hex, the caller frees) and whether the workspace
 * differs from it (modified, deleted or untracked files under it). Reads
 * only: no lock is taken and the index is not refreshed. 0; 1 when dir
 * is not in a git repository with a commit (or there is no git); -1 with
 * err when git failed otherwise.
 */
int gitbranch_probe(const char *dir, char **head, bool *dirty,
		    struct strbuf *err);

/* One of a task's changes, as changes.json lists it. */
struct gitbranch_change {
	const char *path; /* relative to the workspace */
	char kind;	  /* 'A', 'M' or 'D' */
	bool link;	  /* the task's version is a symbolic link */
	bool has_base;
	unsigned char base_sha256[32]; /* what the snapshot held (M, D) */
};

struct gitbranch_opts {
	const char *workspace; /* a directory in the repository */
	const char *base;      /* the snapshot's commit (hex) */
	const char *branch;    /* the new branch's name */
	int changes_fd;	       /* the task's changes/ folder; -1: none */
	const struct gitbranch_change *changes;
	size_t nr;
	const char *author_name, *author_email;
	const char *message;
	bool dry_run; /* check only: no object, no commit, no branch */
};

/*
 * Whether name can be a new branch: a valid ref name under refs/heads/
 * (git check-ref-format), not "HEAD", not starting with '-'. 0, or -1
 * with err saying why.
 */
int gitbranch_name_check(const char *workspace, const char *name,
			 struct strbuf *err);

/*
 * Make the commit (parent: base; tree: base's with the changes) and the
 * branch pointing at it. The commit holds the task's changes and nothing
 * else, so a change is refused when base does not hold what the snapshot
 * held at that path (a file the task modified or deleted differs from
 * base's, or a path the task added is taken in base): the snapshot was
 * taken from a tree that was not clean there, or the branch would undo
 * what is not the task's. Each such path goes into conflicts.
 *
 * Returns 0 with *commit (hex, the caller frees); 1 when refused (err
 * says why, conflicts lists paths, nothing was written but maybe
 * unreferenced objects); -1 with err when git failed.
 */
int gitbranch_commit(const struct gitbranch_opts *o, struct strvec *conflicts,
		     char **commit, struct strbuf *err);

#endif
