/*
 * runner apply RUN TASK [--to DIR] [--dry-run]: put a task's pulled-back
 * changes into the workspace (or DIR), all or nothing. With --all
 * instead of TASK, every task of the run that succeeded and changed no
 * file another one changed (review.h), one after the other.
 *
 * Check. Every change is checked against what is on disk before anything
 * is touched: a modified or deleted file must still have the hash the task
 * started from (or already be in the task's end state), an added file must
 * not exist (or already match). A task may also change what a path is: a
 * file replaced by a directory (deleted "a", added "a/b") or a directory
 * tree replaced by a file or a link (deleted "d/...", added "d"). The file
 * in the way must then be one the task deleted, and the directory in the
 * way must hold nothing but files the task deleted, each checked as above:
 * a file the task never saw (ignored, or new since) is a conflict, never
 * lost. Any conflict is named and nothing is touched.
 *
 * Stage. New contents are written to temporary files (.runner-apply-PID-N)
 * in the deepest existing directory of their target, so that renaming them
 * in later never crosses a file system and never fails for want of room.
 *
 * Commit. What is replaced or deleted is first set aside under a name next
 * to it (.runner-apply-PID-bak-N), then new contents are renamed in and
 * missing directories made. Each step is logged; when one fails, the log is
 * undone backwards and the workspace is left as it was. Only when every
 * step is done is what was set aside removed.
 *
 * Paths come from the results folder and are checked like anything else
 * read back from a sandbox. No link in the workspace is ever followed: a
 * path is reached one directory at a time with O_NOFOLLOW, and a link the
 * task replaced by a directory is removed before the directory is made.
 */
#define _GNU_SOURCE /* renameat2 */
#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "gitbranch.h"
#include "hash.h"
#include "cmd-opt.h"
#include "plan.h"
#include "quote.h"
#include "review.h"
#include "runref.h"
#include "store.h"
#include "ws.h"

#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

enum kind { ADDED, MODIFIED, DELETED };

struct change {
	enum kind kind;
	char *path;
	bool link;
	bool has_new, has_base;
	unsigned char new_sha[32], base_sha[32];
	bool noop;     /* the target is already in the task's end state */
	bool over_dir; /* ADDED where a directory of deleted files is */
	bool in_dir;   /* DELETED inside such a directory: goes with it */
	struct strvec subdirs; /* over_dir: that directory's directories */
	char *stage_dir;       /* staged: in this directory of path */
	char *tmp;	       /* under this name */
	bool placed;	       /* renamed into place */
	char *bak;	       /* set aside next to path under this name */
};

struct plan_apply {
	struct change *items; /* sorted by path */
	size_t nr, alloc;
	struct strvec conflicts;
	struct strvec skipped;
};

/* One step of the commit, and how to take it back. */
enum undo_op {
	UNDO_PUT_BACK, /* rename c->bak back to c->path */
	UNDO_UNLINK,   /* remove path (a file we put there) */
	UNDO_RMDIR,    /* remove path (a directory we made) */
};

struct undo {
	enum undo_op op;
	const struct change *c;
	char *path;
};

struct undo_log {
	struct undo *v;
	size_t nr, alloc;
};

static void log_push(struct undo_log *log, enum undo_op op,
		     const struct change *c, char *path)
{
	ALLOC_GROW(log->v, log->nr + 1, log->alloc);
	log->v[log->nr].op = op;
	log->v[log->nr].c = c;
	log->v[log->nr].path = path;
	log->nr++;
}

static bool path_ok(const char *p)
{
	const char *c = p;
	if (!*p || *p == '/')
		return false;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (!len || (len == 1 && *c == '.') ||
		    (len == 2 && !strncmp(c, "..", 2)))
			return false;
		c += len;
		if (*c == '/')
			c++;
	}
	return true;
}

static int hex_to_sum(const char *hex, unsigned char sum[32])
{
	if (!hex || strlen(hex) != 64)
		return -1;
	return sha256_parse_hex(hex, sum);
}

static int change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* The change at the first len bytes of path, or NULL. */
static struct change *find(const struct plan_apply *pa, const char *path,
			   size_t len)
{
	struct change key = { .path = xstrndup(path, len) };
	struct change *hit = pa->nr ? bsearch(&key, pa->items, pa->nr,
					      sizeof(key), change_cmp)
				    : NULL;
	free(key.path);
	return hit;
}

static bool is_under(const char *path, const char *dir)
{
	size_t len = strlen(dir);
	return !strncmp(path, dir, len) && path[len] == '/';
}

/* Does the task put something inside dir (as a directory)? */
static bool adds_under(const struct plan_apply *pa, const char *dir)
{
	for (size_t i = 0; i < pa->nr; i++)
		if (pa->items[i].kind != DELETED &&
		    is_under(pa->items[i].path, dir))
			return true;
	return false;
}

/*
 * Sorted, each path once, and nothing added or modified inside a path
 * that is added or modified: a file cannot also be a directory. (What is
 * deleted inside an added path is a directory replaced by a file.)
 */
static int validate(struct plan_apply *pa, const char *file,
		    struct strbuf *err)
{
	if (pa->nr)
		qsort(pa->items, pa->nr, sizeof(*pa->items), change_cmp);
	for (size_t i = 0; i < pa->nr; i++) {
		const char *p = pa->items[i].path, *slash;
		if (i && !strcmp(pa->items[i - 1].path, p)) {
			strbuf_addf(err, "'%s' lists '%s' twice", file, p);
			return -1;
		}
		if (pa->items[i].kind == DELETED)
			continue;
		for (slash = strchr(p, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			const struct change *up =
				find(pa, p, (size_t)(slash - p));
			if (up && up->kind != DELETED) {
				strbuf_addf(err,
					    "'%s' lists both '%s' and '%s' "
					    "inside it",
					    file, up->path, p);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * The directory that holds path under root_fd, reached one component at
 * a time without following links (ws_open_parent); dir "" is root_fd.
 */
static int open_dir(int root_fd, const char *dir)
{
	char *probe;
	const char *base;
	int fd;

	if (!*dir)
		return dup(root_fd);
	probe = xstrfmt("%s/x", dir);
	fd = ws_open_parent(root_fd, probe, &base, false);
	free(probe);
	return fd;
}

enum state { ST_ERROR = -1, ST_ABSENT, ST_PRESENT, ST_DIR, ST_BLOCKED };

/*
 * What is at path under root_fd, never following a link: nothing, a file
 * or a link (sum: the content's or the target's hash), a directory, or
 * blocked: a parent is not a directory (a file or a link; *blocked is its
 * length in path). ST_ERROR: unreadable, or a fifo, socket or device.
 */
static enum state state_of(int root_fd, const char *path, bool *is_link,
			   unsigned char sum[32], size_t *blocked)
{
	char *copy = xstrdup(path), *comp = copy, *slash;
	int fd = dup(root_fd), in;
	enum state ret = ST_ERROR;
	struct stat st;

	while (fd >= 0 && (slash = strchr(comp, '/'))) {
		int next;
		*slash = '\0';
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = errno == ENOENT ? ST_ABSENT : ST_ERROR;
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			*blocked = (size_t)(slash - copy);
			ret = ST_BLOCKED;
			goto out;
		}
		next = openat(fd, comp,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		comp = slash + 1;
	}
	if (fd < 0)
		goto out;
	if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = errno == ENOENT ? ST_ABSENT : ST_ERROR;
	} else if (S_ISDIR(st.st_mode)) {
		ret = ST_DIR;
	} else if (S_ISLNK(st.st_mode)) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(fd, comp, buf, sizeof(buf));
		if (n >= 0) {
			sha256_buf(buf, (size_t)n, sum);
			*is_link = true;
			ret = ST_PRESENT;
		}
	} else if (S_ISREG(st.st_mode)) {
		in = openat(fd, comp,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (in >= 0 && sha256_fd(in, sum) == 0) {
			*is_link = false;
			ret = ST_PRESENT;
		}
		if (in >= 0)
			close(in);
	}
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

static void conflict(struct plan_apply *pa, const char *path, const char *why)
{
	char *q = quote_path_dup(path);
	strvec_pushf(&pa->conflicts, "%s: %s", q, why);
	free(q);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd, sorted (fd stays open). */
static int read_names(int fd, struct strvec *names)
{
	int dfd = dup(fd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(names, de->d_name);
	closedir(d);
	if (names->nr)
		qsort(names->v, names->nr, sizeof(*names->v), name_cmp);
	return 0;
}

/*
 * The directory dir (open as fd) is in the way of c, which the task put
 * at its place: it may hold only files the task deleted (each checked on
 * its own) and directories of them, noted in c->subdirs. 0, or -1 with
 * the conflict named.
 */
static int check_doomed(struct plan_apply *pa, int fd, const char *dir,
			struct change *c)
{
	struct strvec names = STRVEC_INIT;
	int ret = 0;

	if (read_names(fd, &names) < 0) {
		strvec_pushf(&pa->conflicts, "%s: cannot read '%s': %s",
			     c->path, dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names.nr && !ret; i++) {
		char *p = xstrfmt("%s/%s", dir, names.v[i]);
		struct change *d = find(pa, p, strlen(p));
		struct stat st;
		int sub;

		if (fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			strvec_pushf(&pa->conflicts,
				     "%s: cannot read '%s': %s", c->path, p,
				     strerror(errno));
			ret = -1;
		} else if (S_ISDIR(st.st_mode)) {
			sub = openat(fd, names.v[i],
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			strvec_push(&c->subdirs, p);
			if (sub < 0) {
				strvec_pushf(&pa->conflicts,
					     "%s: cannot read '%s': %s",
					     c->path, p, strerror(errno));
				ret = -1;
			} else {
				ret = check_doomed(pa, sub, p, c);
				close(sub);
			}
		} else if (!d || d->kind != DELETED) {
			strvec_pushf(&pa->conflicts,
				     "%s: is a directory in the workspace "
				     "holding '%s', which the task did not "
				     "delete",
				     c->path, p);
			ret = -1;
		} else {
			d->in_dir = true;
		}
		free(p);
	}
	strvec_clear(&names);
	return ret;
}

static void check(struct plan_apply *pa, int rootfd, struct change *c)
{
	unsigned char sum[32];
	bool is_link = false;
	size_t blocked = 0;
	const struct change *up;
	int fd;

	switch (state_of(rootfd, c->path, &is_link, sum, &blocked)) {
	case ST_ERROR:
		conflict(pa, c->path,
			 "is not a plain file or link, or cannot "
			 "be read");
		return;
	case ST_BLOCKED:
		up = find(pa, c->path, blocked);
		/* A file the task replaced by a directory: it goes first. */
		if (c->kind == ADDED && up && up->kind == DELETED)
			return;
		/* Already replaced by what the task put there. */
		if (c->kind == DELETED && up && up->kind != DELETED) {
			c->noop = true;
			return;
		}
		strvec_pushf(&pa->conflicts,
			     "%s: '%.*s' is not a directory in the workspace",
			     c->path, (int)blocked, c->path);
		return;
	case ST_DIR:
		if (c->kind == ADDED) {
			c->over_dir = true;
			fd = open_dir(rootfd, c->path);
			if (fd < 0)
				conflict(pa, c->path, "cannot be read");
			else
				check_doomed(pa, fd, c->path, c);
			if (fd >= 0)
				close(fd);
		} else if (c->kind == DELETED && adds_under(pa, c->path)) {
			c->noop = true; /* the task's directory is there */
		} else {
			conflict(pa, c->path,
				 "is a directory in the workspace");
		}
		return;
	case ST_ABSENT:
		if (c->kind == ADDED)
			return;
		if (c->kind == DELETED)
			c->noop = true;
		else
			conflict(pa, c->path,
				 "no longer exists in the "
				 "workspace");
		return;
	case ST_PRESENT:
		break;
	}
	if (c->kind == ADDED) {
		if (c->has_new && is_link == c->link &&
		    !memcmp(sum, c->new_sha, 32))
			c->noop = true;
		else
			conflict(pa, c->path,
				 "exists in the workspace and "
				 "differs from what the task "
				 "added");
		return;
	}
	if (c->kind == MODIFIED && c->has_new &&
	    !memcmp(sum, c->new_sha, 32)) {
		c->noop = true;
		return;
	}
	if (!c->has_base || memcmp(sum, c->base_sha, 32))
		conflict(pa, c->path,
			 "changed in the workspace since the task "
			 "started");
}

static int load(const char *dir, struct plan_apply *pa, char **workspace,
		struct strbuf *err)
{
	static const char *const names[] = { "added", "modified", "deleted" };
	char *path = fs_join(dir, "changes.json");
	struct strbuf text, name = STRBUF_INIT;
	cJSON *root = NULL;
	int ret = -1;

	strbuf_init_capped(&text, 512 << 20);
	if (strbuf_read_file(&text, path) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	root = cJSON_Parse(text.buf);
	if (!root) {
		strbuf_addf(err, "'%s' is not valid JSON", path);
		goto out;
	}
	/*
	 * A list cut at WS_MAX_CHANGES lacks what the task did past the cut:
	 * applying the rest would leave the workspace half way to the
	 * task's end state, which "all or nothing" must not.
	 */
	if (cJSON_IsTrue(cJSON_GetObjectItem(root, "truncated"))) {
		strbuf_addf(err,
			    "'%s' is cut at %d entries (the task changed "
			    "more); apply takes all of a task's changes or "
			    "none, so it cannot take these: nothing was "
			    "changed",
			    path, WS_MAX_CHANGES);
		goto out;
	}
	/*
	 * Changes the results had no room for are listed but not there:
	 * unlike a change left out by the plan's rules (pull:, pull_limit,
	 * a secret), their absence is an accident, and the rest is not the
	 * task's result.
	 */
	if (cJSON_IsTrue(cJSON_GetObjectItem(root, "incomplete"))) {
		strbuf_addf(
			err,
			"'%s' lists changes that could not be written into "
			"the results (see their notes); apply takes all of "
			"a task's changes or none, so it cannot take "
			"these: nothing was changed",
			path);
		goto out;
	}
	/* Names are stored exactly (quote.h: "path", or "path_b64"). */
	*workspace = NULL;
	if (!quote_json_get_name(root, "workspace", &name))
		*workspace = strbuf_detach(&name, NULL);
	for (int k = 0; k < 3; k++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, names[k]))
		{
			const cJSON *type = cJSON_GetObjectItem(e, "type");
			const cJSON *pulled = cJSON_GetObjectItem(e, "pulled");
			const cJSON *note = cJSON_GetObjectItem(e, "note");
			struct change *c;

			strbuf_reset(&name);
			if (quote_json_get_name(e, "path", &name) < 0 ||
			    !path_ok(name.buf)) {
				strbuf_addf(err, "'%s' lists an unsafe path",
					    path);
				goto out;
			}
			if (k != DELETED && !cJSON_IsTrue(pulled)) {
				char *q = quote_path_dup(name.buf);
				strvec_pushf(&pa->skipped, "%s (%s)", q,
					     cJSON_IsString(note)
						     ? note->valuestring
						     : "not pulled back");
				free(q);
				continue;
			}
			ALLOC_GROW(pa->items, pa->nr + 1, pa->alloc);
			c = &pa->items[pa->nr++];
			memset(c, 0, sizeof(*c));
			strvec_init(&c->subdirs);
			c->kind = (enum kind)k;
			c->path = xstrdup(name.buf);
			c->link = cJSON_IsString(type) &&
				  !strcmp(type->valuestring, "symlink");
			c->has_new = k != DELETED &&
				     !hex_to_sum(cJSON_GetStringValue(
							 cJSON_GetObjectItem(
								 e, "sha256")),
						 c->new_sha);
			c->has_base = !hex_to_sum(
				cJSON_GetStringValue(
					cJSON_GetObjectItem(e, "base_sha256")),
				c->base_sha);
		}
	}
	ret = validate(pa, path, err);
out:
	cJSON_Delete(root);
	strbuf_release(&text);
	strbuf_release(&name);
	free(path);
	return ret;
}

/*
 * The deepest directory of path (not path itself) that exists, reached
 * without following links; *len is its length in path (0: root_fd).
 */
static int deepest_dir(int root_fd, const char *path, size_t *len)
{
	char *copy = xstrdup(path), *comp = copy, *slash;
	int fd = dup(root_fd);

	*len = 0;
	while (fd >= 0 && (slash = strchr(comp, '/'))) {
		int next;
		*slash = '\0';
		next = openat(fd, comp,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		close(fd);
		fd = next;
		*len = (size_t)(slash - copy);
		comp = slash + 1;
	}
	free(copy);
	return fd;
}

/* Write the task's version of c into a temporary file near its target. */
static int stage(int srcfd, int dstfd, struct change *c, size_t i,
		 struct strbuf *err)
{
	const char *sbase;
	int sp = ws_open_parent(srcfd, c->path, &sbase, false);
	size_t len;
	int dp = deepest_dir(dstfd, c->path, &len);
	int in = -1, out = -1, ret = -1;
	char *tmp = xstrfmt(".runner-apply-%ld-%zu", (long)getpid(), i);

	if (sp < 0 || dp < 0) {
		strbuf_addf(err, "cannot reach '%s': %s", c->path,
			    strerror(errno));
		goto out;
	}
	if (c->link) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(sp, sbase, buf, sizeof(buf) - 1);
		if (n < 0 || (buf[n] = '\0', symlinkat(buf, dp, tmp) < 0)) {
			strbuf_addf(err, "cannot stage link '%s': %s", c->path,
				    strerror(errno));
			goto out;
		}
	} else {
		struct stat st;
		in = openat(sp, sbase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0 || fstat(in, &st) < 0) {
			strbuf_addf(err, "cannot read the task's '%s': %s",
				    c->path, strerror(errno));
			goto out;
		}
		out = openat(dp, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     st.st_mode & 0777);
		if (out < 0) {
			strbuf_addf(err, "cannot write next to '%s': %s",
				    c->path, strerror(errno));
			goto out;
		}
		/* Holes stay holes: a sparse file is applied sparse. */
		if (fs_copy_sparse(in, out) < 0 || fsync(out) < 0) {
			strbuf_addf(err, "cannot copy '%s': %s", c->path,
				    strerror(errno));
			unlinkat(dp, tmp, 0);
			goto out;
		}
		if (close(out) < 0) {
			out = -1;
			strbuf_addf(err, "cannot write '%s': %s", c->path,
				    strerror(errno));
			unlinkat(dp, tmp, 0);
			goto out;
		}
		out = -1;
	}
	c->stage_dir = xstrndup(c->path, len);
	c->tmp = tmp;
	tmp = NULL;
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (sp >= 0)
		close(sp);
	if (dp >= 0)
		close(dp);
	free(tmp);
	return ret;
}

static void unstage(struct plan_apply *pa, int dstfd)
{
	for (size_t i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		int fd;
		if (!c->tmp || c->placed)
			continue;
		fd = open_dir(dstfd, c->stage_dir);
		if (fd >= 0) {
			unlinkat(fd, c->tmp, 0);
			close(fd);
		}
	}
}

static const char *verb(const struct change *c)
{
	return c->kind == DELETED ? "delete"
	       : c->over_dir	  ? "replace the directory"
				  : "replace";
}

/*
 * Rename without replacing: what is at to (put there since the check, or
 * a name of ours left by an apply killed half way) is never overwritten.
 * Without RENAME_NOREPLACE, link(2), which never replaces; without links
 * either (a directory, or such a file system), a look first.
 */
static int rename_new(int from_fd, const char *from, int to_fd, const char *to)
{
	struct stat st;

	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(from_fd, from, to_fd, to, 0) == 0) {
		unlinkat(from_fd, from, 0);
		return 0;
	}
	if (errno == EEXIST)
		return -1;
	if (fstatat(to_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(from_fd, from, to_fd, to);
}

/* Rename c's path aside, next to it, so that it can be put back. */
static int set_aside(int rootfd, struct change *c, size_t i,
		     struct undo_log *log, struct strbuf *err)
{
	const char *base;
	int pfd = ws_open_parent(rootfd, c->path, &base, false);

	c->bak = xstrfmt(".runner-apply-%ld-bak-%zu", (long)getpid(), i);
	if (pfd < 0 || rename_new(pfd, base, pfd, c->bak) < 0) {
		strbuf_addf(err, "cannot %s '%s': %s", verb(c), c->path,
			    strerror(errno));
		if (pfd >= 0)
			close(pfd);
		return -1;
	}
	close(pfd);
	log_push(log, UNDO_PUT_BACK, c, NULL);
	return 0;
}

/*
 * A modified file: the old one is kept as a hard link next to it and the
 * new one renamed over it, so that the path never goes missing (a rename
 * aside where links cannot be made).
 */
static int replace(int rootfd, struct change *c, size_t i,
		   struct undo_log *log, struct strbuf *err)
{
	const char *base;
	int pfd = ws_open_parent(rootfd, c->path, &base, false);
	int sfd = open_dir(rootfd, c->stage_dir);
	char *dir = fs_dirname(c->path);
	int ret = -1;

	c->bak = xstrfmt(".runner-apply-%ld-bak-%zu", (long)getpid(), i);
	if (pfd < 0 || sfd < 0)
		goto fail;
	if (linkat(pfd, base, pfd, c->bak, 0) == 0)
		log_push(log, UNDO_UNLINK, c,
			 strchr(c->path, '/') ? fs_join(dir, c->bak)
					      : xstrdup(c->bak));
	else if (errno != EEXIST && rename_new(pfd, base, pfd, c->bak) == 0)
		log_push(log, UNDO_PUT_BACK, c, NULL);
	else
		goto fail;
	if (renameat(sfd, c->tmp, pfd, base) < 0)
		goto fail;
	c->placed = true;
	if (log->v[log->nr - 1].op == UNDO_UNLINK) {
		free(log->v[log->nr - 1].path);
		log->v[log->nr - 1].path = NULL;
		log->v[log->nr - 1].op = UNDO_PUT_BACK;
	}
	ret = 0;
	goto out;
fail:
	strbuf_addf(err, "cannot replace '%s': %s", c->path, strerror(errno));
out:
	if (pfd >= 0)
		close(pfd);
	if (sfd >= 0)
		close(sfd);
	free(dir);
	return ret;
}

/* An added file: its missing directories made, then renamed in. */
static int add(int rootfd, struct change *c, struct undo_log *log,
	       struct strbuf *err)
{
	size_t len = strlen(c->stage_dir);
	int fd = open_dir(rootfd, c->stage_dir);
	int sfd = open_dir(rootfd, c->stage_dir);
	const char *comp = c->path + (len ? len + 1 : 0), *slash;

	while (fd >= 0 && (slash = strchr(comp, '/'))) {
		char *name = xstrndup(comp, (size_t)(slash - comp));
		bool made = mkdirat(fd, name, 0755) == 0;
		int next = -1;
		if (made)
			log_push(log, UNDO_RMDIR, c,
				 xstrndup(c->path, (size_t)(slash - c->path)));
		if (made || errno == EEXIST)
			next = openat(fd, name,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					      O_CLOEXEC);
		free(name);
		close(fd);
		fd = next;
		comp = slash + 1;
	}
	if (fd < 0 || sfd < 0 || rename_new(sfd, c->tmp, fd, comp) < 0) {
		strbuf_addf(err, "cannot add '%s': %s", c->path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		if (sfd >= 0)
			close(sfd);
		return -1;
	}
	c->placed = true;
	log_push(log, UNDO_UNLINK, c, xstrdup(c->path));
	close(fd);
	close(sfd);
	return 0;
}

/* Take the log back, last step first. */
static int undo(struct undo_log *log, int rootfd, struct strbuf *err)
{
	int ret = 0;

	for (size_t i = log->nr; i-- > 0;) {
		const struct undo *u = &log->v[i];
		const char *path = u->path ? u->path : u->c->path, *base;
		int pfd = ws_open_parent(rootfd, path, &base, false);
		int r = -1;

		if (pfd >= 0) {
			if (u->op == UNDO_PUT_BACK)
				r = renameat(pfd, u->c->bak, pfd, base);
			else
				r = unlinkat(pfd, base,
					     u->op == UNDO_RMDIR ? AT_REMOVEDIR
								 : 0);
			close(pfd);
		}
		if (r < 0 && !(u->op != UNDO_PUT_BACK && errno == ENOENT)) {
			strbuf_addf(err, "%s'%s' could not be put back: %s",
				    ret ? "; " : "", path, strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

/*
 * A directory set aside: the files the task deleted from it removed,
 * then its directories, deepest first. Something else found there (put
 * there since the check) stays, and the directory with it.
 */
static void remove_doomed(const struct plan_apply *pa, int pfd,
			  const struct change *c)
{
	int fd = openat(pfd, c->bak,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t skip = strlen(c->path) + 1;

	for (size_t i = 0; fd >= 0 && i < pa->nr; i++) {
		const struct change *d = &pa->items[i];
		const char *base;
		int dfd;
		if (!d->in_dir || !is_under(d->path, c->path))
			continue;
		dfd = ws_open_parent(fd, d->path + skip, &base, false);
		if (dfd >= 0) {
			unlinkat(dfd, base, 0);
			close(dfd);
		}
	}
	for (size_t i = c->subdirs.nr; fd >= 0 && i-- > 0;) {
		const char *base, *rel = c->subdirs.v[i] + skip;
		int dfd = ws_open_parent(fd, rel, &base, false);
		if (dfd >= 0) {
			unlinkat(dfd, base, AT_REMOVEDIR);
			close(dfd);
		}
	}
	if (fd >= 0)
		close(fd);
	if (unlinkat(pfd, c->bak, AT_REMOVEDIR) < 0)
		warning("'%s' held more than the task deleted; it is kept as "
			"'%s' beside it",
			c->path, c->bak);
}

/* Done: what was set aside goes. */
static void remove_aside(const struct plan_apply *pa, int rootfd)
{
	for (size_t i = 0; i < pa->nr; i++) {
		const struct change *c = &pa->items[i];
		const char *base;
		int pfd;
		if (!c->bak)
			continue;
		pfd = ws_open_parent(rootfd, c->path, &base, false);
		if (pfd < 0)
			continue;
		if (c->over_dir)
			remove_doomed(pa, pfd, c);
		else if (unlinkat(pfd, c->bak, 0) < 0 && errno != ENOENT)
			warning("cannot remove '%s' beside '%s': %s", c->bak,
				c->path, strerror(errno));
		close(pfd);
	}
}

/*
 * Put every staged change in, or none: 0 when every change is in; -1 when
 * one failed and the workspace is as it was; -2 when it could not even be
 * put back (err says what is left).
 */
static int commit(struct plan_apply *pa, int dstfd, struct strbuf *err)
{
	struct undo_log log = { 0 };
	struct strbuf back = STRBUF_INIT;
	sigset_t block, old;
	int ret = -1;
	size_t i;

	/* A ^C waits until the commit is done or undone. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	/* What is in the way goes aside: directories, deleted files. */
	for (i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		if (c->noop ||
		    !(c->over_dir || (c->kind == DELETED && !c->in_dir)))
			continue;
		if (set_aside(dstfd, c, i, &log, err) < 0)
			goto undo;
	}
	for (i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		if (c->noop || c->kind != MODIFIED)
			continue;
		if (replace(dstfd, c, i, &log, err) < 0)
			goto undo;
	}
	for (i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		if (c->noop || c->kind != ADDED)
			continue;
		if (add(dstfd, c, &log, err) < 0)
			goto undo;
	}
	remove_aside(pa, dstfd);
	ret = 0;
	goto out;
undo:
	if (undo(&log, dstfd, &back) < 0) {
		strbuf_addf(err,
			    "; the workspace could not be put back as it "
			    "was: %s",
			    back.buf);
		ret = -2;
	}
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < log.nr; i++)
		free(log.v[i].path);
	free(log.v);
	strbuf_release(&back);
	return ret;
}

/* Stage every change, then commit them: commit()'s return values. */
static int apply_all(struct plan_apply *pa, int srcfd, int dstfd,
		     struct strbuf *err)
{
	int ret = 0;

	/* A failure while staging leaves the workspace alone. */
	for (size_t i = 0; i < pa->nr && !ret; i++) {
		struct change *c = &pa->items[i];
		if (c->kind != DELETED && !c->noop &&
		    stage(srcfd, dstfd, c, i, err) < 0)
			ret = -1;
	}
	if (!ret)
		ret = commit(pa, dstfd, err);
	unstage(pa, dstfd);
	return ret;
}

/* A name from a sandbox is printed quoted (quote.h), as git prints paths. */
static void print_change(char mark, const char *path)
{
	char *q = quote_path_dup(path);
	printf("%c %s\n", mark, q);
	free(q);
}

/*
 * --branch: the task's changes as one commit on a new branch of the
 * workspace's repository (gitbranch.h), the workspace itself untouched.
 */

/* pattern with {run} and {task} put in; NULL with err for other braces. */
static char *branch_name(const char *pattern, const char *run,
			 const char *task, struct strbuf *err)
{
	struct strbuf sb = STRBUF_INIT;

	for (const char *p = pattern; *p; p++) {
		if (!strncmp(p, "{run}", 5)) {
			strbuf_addstr(&sb, run);
			p += 4;
		} else if (!strncmp(p, "{task}", 6)) {
			strbuf_addstr(&sb, task);
			p += 5;
		} else if (*p == '{' || *p == '}') {
			strbuf_addf(err,
				    "'%s': only {run} and {task} can be "
				    "put in a branch name",
				    pattern);
			strbuf_release(&sb);
			return NULL;
		} else {
			strbuf_addch(&sb, *p);
		}
	}
	return strbuf_detach(&sb, NULL);
}

/* A JSON file of the results folder, or NULL (err says why). */
static cJSON *read_json(const char *path, struct strbuf *err)
{
	struct strbuf text;
	cJSON *root = NULL;

	strbuf_init_capped(&text, 64 << 20);
	if (strbuf_read_file(&text, path) < 0)
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
	else if (!(root = cJSON_Parse(text.buf)))
		strbuf_addf(err, "'%s' is not valid JSON", path);
	strbuf_release(&text);
	return root;
}

/*
 * The commit message: the task's id and the agent's final text (its
 * result.json "agent": "final_text", masked when recorded) when there is
 * one, and where it came from.
 */
static char *branch_message(const char *dir, const char *run, const char *task)
{
	struct strbuf sb = STRBUF_INIT, ignored = STRBUF_INIT;
	char *path = fs_join(dir, "result.json");
	cJSON *root = read_json(path, &ignored);
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(root, "agent"), "final_text"));
	size_t first;

	while (text && (*text == '\n' || *text == ' '))
		text++;
	first = text ? strcspn(text, "\n") : 0;
	if (first) {
		strbuf_addf(&sb, "%s: %.*s%s\n\n%s\n\n", task,
			    (int)(first > 72 ? 69 : first), text,
			    first > 72 ? "..." : "", text);
	} else {
		strbuf_addf(&sb, "%s: changes from runner run %s\n\n", task,
			    run);
	}
	strbuf_addf(&sb, "Runner-Run: %s\nRunner-Task: %s\n", run, task);
	cJSON_Delete(root);
	strbuf_release(&ignored);
	free(path);
	return strbuf_detach(&sb, NULL);
}

struct branch_ctx {
	const char *run;
	const char *state_dir;
	const char *to;
	const char *pattern;
	bool dry_run;
};

/*
 * 0 made (or would be), 1 refused, 2 nothing to commit, -1 failed; each
 * said as it goes.
 */
static int branch_one(const struct branch_ctx *b, const char *task)
{
	static const char marks[] = { 'A', 'M', 'D' };
	struct plan_apply pa = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct gitbranch_change *gc = NULL;
	struct strvec conflicts = STRVEC_INIT;
	char *dir = xstrfmt("%s/runs/%s/tasks/%s", b->state_dir, b->run, task);
	char *cpath = fs_join(dir, "changes.json"), *changes = NULL;
	char *workspace = NULL, *name = NULL, *msg = NULL, *author = NULL;
	char *email = NULL, *commit = NULL, *shown = NULL;
	const char *base, *where;
	cJSON *root = NULL, *git;
	int ret = -1, srcfd = -1;
	struct gitbranch_opts o = { .changes_fd = -1 };

	strvec_init(&pa.conflicts);
	strvec_init(&pa.skipped);
	if (!(name = branch_name(b->pattern, b->run, task, &err)) ||
	    load(dir, &pa, &workspace, &err) < 0 ||
	    !(root = read_json(cpath, &err))) {
		error("%s", err.buf);
		goto out;
	}
	where = b->to ? b->to : workspace;
	if (!where) {
		error("the results do not say where the workspace is; use "
		      "--to DIR");
		goto out;
	}
	git = cJSON_GetObjectItem(root, "git");
	base = cJSON_GetStringValue(cJSON_GetObjectItem(git, "commit"));
	if (!base) {
		error("%s: the snapshot recorded no git commit (its workspace "
		      "was not in a git repository with a commit)",
		      task);
		ret = 1;
		goto out;
	}
	if (gitbranch_name_check(where, name, &err) < 0) {
		error("%s", err.buf);
		ret = 1;
		goto out;
	}
	changes = fs_join(dir, "changes");
	srcfd = open(changes, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srcfd < 0 && errno != ENOENT) {
		error("cannot open '%s': %s", changes, strerror(errno));
		goto out;
	}
	/* An empty commit would only be one more branch to look at. */
	if (!pa.nr) {
		printf("held back: %s (no changes)\n", task);
		ret = 2;
		goto out;
	}
	gc = xcalloc(pa.nr, sizeof(*gc));
	for (size_t i = 0; i < pa.nr; i++) {
		const struct change *c = &pa.items[i];
		gc[i].path = c->path;
		gc[i].kind = marks[c->kind];
		gc[i].link = c->link;
		gc[i].has_base = c->has_base;
		memcpy(gc[i].base_sha256, c->base_sha, 32);
	}
	msg = branch_message(dir, b->run, task);
	author = xstrfmt("runner task %s", task);
	email = xstrfmt("%s@runner.invalid", task);
	o.workspace = where;
	o.base = base;
	o.branch = name;
	o.changes_fd = srcfd;
	o.changes = gc;
	o.nr = pa.nr;
	o.author_name = author;
	o.author_email = email;
	o.message = msg;
	o.dry_run = b->dry_run;
	for (size_t i = 0; i < pa.skipped.nr; i++)
		printf("skipped: %s: %s\n", task, pa.skipped.v[i]);
	shown = quote_text_dup(name);
	ret = gitbranch_commit(&o, &conflicts, &commit, &err);
	if (ret == 1) {
		for (size_t i = 0; i < conflicts.nr; i++)
			printf("conflict: %s: %s\n", task, conflicts.v[i]);
		error("%s: %s; no branch was made", task, err.buf);
	} else if (ret < 0) {
		error("%s: %s", task, err.buf);
	} else if (b->dry_run) {
		printf("dry run: branch %s would get %zu change%s of %s on "
		       "%.12s\n",
		       shown, pa.nr, pa.nr == 1 ? "" : "s", task, base);
	} else {
		printf("branch %s: %.12s, %zu change%s of %s on %.12s\n",
		       shown, commit, pa.nr, pa.nr == 1 ? "" : "s", task,
		       base);
	}
	if (ret == 0 && cJSON_IsTrue(cJSON_GetObjectItem(git, "dirty")))
		printf("note: %s: the workspace was not clean when the run "
		       "started; the branch holds the task's changes only\n",
		       task);
out:
	for (size_t i = 0; i < pa.nr; i++) {
		free(pa.items[i].path);
		strvec_clear(&pa.items[i].subdirs);
	}
	free(pa.items);
	strvec_clear(&pa.conflicts);
	strvec_clear(&pa.skipped);
	strvec_clear(&conflicts);
	if (srcfd >= 0)
		close(srcfd);
	cJSON_Delete(root);
	free(gc);
	free(dir);
	free(cpath);
	free(changes);
	free(workspace);
	free(name);
	free(msg);
	free(author);
	free(email);
	free(commit);
	free(shown);
	strbuf_release(&err);
	return ret;
}

/*
 * --all --branch PATTERN: a branch for every task that succeeded and
 * changed something, in plan order, each on the snapshot's commit on its
 * own; what is held back (failed, no changes) is said.
 */
static int branch_all(const struct branch_ctx *b)
{
	struct strbuf err = STRBUF_INIT;
	char *path = xstrfmt("%s/runs/%s/run.json", b->state_dir, b->run);
	cJSON *root = read_json(path, &err), *t;
	size_t made = 0, refused = 0, failed = 0;
	int ret = RUNNER_EXIT_RUNTIME;

	if (!root) {
		error("%s", err.buf);
		goto out;
	}
	if (!strstr(b->pattern, "{task}")) {
		error("--all needs {task} in the branch name, one branch per "
		      "task");
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(root, "tasks"))
	{
		const char *id =
			cJSON_GetStringValue(cJSON_GetObjectItem(t, "id"));
		const char *status =
			cJSON_GetStringValue(cJSON_GetObjectItem(t, "status"));
		char *cpath;
		bool has;
		int rc;

		if (!id || !plan_id_valid(id))
			continue;
		if (!status || strcmp(status, "succeeded")) {
			printf("held back: %s (%s)\n", id,
			       status ? status : "no status");
			continue;
		}
		cpath = xstrfmt("%s/runs/%s/tasks/%s/changes.json",
				b->state_dir, b->run, id);
		has = access(cpath, F_OK) == 0;
		free(cpath);
		if (!has) {
			printf("held back: %s (no changes recorded)\n", id);
			continue;
		}
		rc = branch_one(b, id);
		if (rc == 0)
			made++;
		else if (rc == 1)
			refused++;
		else if (rc < 0)
			failed++;
	}
	printf("%s%zu branch%s made, %zu refused\n",
	       b->dry_run ? "dry run: " : "", made, made == 1 ? "" : "es",
	       refused + failed);
	ret = failed	? RUNNER_EXIT_RUNTIME
	      : refused ? RUNNER_EXIT_TASK_FAILED
			: RUNNER_EXIT_OK;
out:
	cJSON_Delete(root);
	free(path);
	strbuf_release(&err);
	return ret;
}

/*
 * Apply task (of run id, in st's results) to to (NULL: its workspace),
 * all or nothing, printing what it does: an exit code (0 applied, 1
 * conflicts in the workspace, 4 a failure).
 */
static int apply_one(struct store *st, const char *id, const char *task,
		     const char *to, bool dry_run)
{
	static const char marks[] = { 'A', 'M', 'D' };
	struct plan_apply pa = { 0 };
	struct strbuf err = STRBUF_INIT;
	char *dir = NULL, *workspace = NULL, *changes = NULL;
	char *shown = NULL; /* to, as printed */
	int ret = RUNNER_EXIT_RUNTIME, srcfd = -1, dstfd = -1;
	size_t todo = 0;

	strvec_init(&pa.conflicts);
	strvec_init(&pa.skipped);
	dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st), id, task);
	if (load(dir, &pa, &workspace, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (!to)
		to = workspace;
	if (!to) {
		error("the results do not say where the workspace is; use "
		      "--to DIR");
		goto out;
	}
	shown = quote_text_dup(to);
	changes = fs_join(dir, "changes");
	srcfd = open(changes, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dstfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dstfd < 0 || (srcfd < 0 && errno != ENOENT)) {
		error("cannot open '%s': %s", dstfd < 0 ? to : changes,
		      strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < pa.nr; i++)
		check(&pa, dstfd, &pa.items[i]);
	for (size_t i = 0; i < pa.skipped.nr; i++)
		printf("skipped: %s\n", pa.skipped.v[i]);
	if (pa.conflicts.nr) {
		for (size_t i = 0; i < pa.conflicts.nr; i++)
			printf("conflict: %s\n", pa.conflicts.v[i]);
		fprintf(stderr,
			"runner: %zu conflict%s; nothing was changed in '%s'\n",
			pa.conflicts.nr, pa.conflicts.nr == 1 ? "" : "s",
			shown);
		ret = RUNNER_EXIT_TASK_FAILED;
		goto out;
	}
	for (size_t i = 0; i < pa.nr; i++) {
		const struct change *x = &pa.items[i];
		if (x->noop)
			continue;
		todo++;
		if (dry_run)
			print_change(marks[x->kind], x->path);
	}
	if (dry_run) {
		printf("dry run: %zu change%s would be applied to '%s'\n",
		       todo, todo == 1 ? "" : "s", shown);
		ret = RUNNER_EXIT_OK;
		goto out;
	}
	if (todo && srcfd < 0 && todo != 0) {
		for (size_t i = 0; i < pa.nr; i++)
			if (!pa.items[i].noop && pa.items[i].kind != DELETED) {
				error("the task's changes/ folder is missing");
				goto out;
			}
	}
	switch (apply_all(&pa, srcfd, dstfd, &err)) {
	case 0:
		break;
	case -1:
		error("%s; nothing was changed in '%s'", err.buf, to);
		goto out;
	default:
		error("%s", err.buf);
		goto out;
	}
	for (size_t i = 0; i < pa.nr; i++)
		if (!pa.items[i].noop)
			print_change(marks[pa.items[i].kind],
				     pa.items[i].path);
	printf("applied %zu change%s to '%s'\n", todo, todo == 1 ? "" : "s",
	       shown);
	ret = RUNNER_EXIT_OK;
out:
	for (size_t i = 0; i < pa.nr; i++) {
		free(pa.items[i].path);
		strvec_clear(&pa.items[i].subdirs);
		free(pa.items[i].stage_dir);
		free(pa.items[i].tmp);
		free(pa.items[i].bak);
	}
	free(pa.items);
	strvec_clear(&pa.conflicts);
	strvec_clear(&pa.skipped);
	if (srcfd >= 0)
		close(srcfd);
	if (dstfd >= 0)
		close(dstfd);
	free(dir);
	free(changes);
	free(workspace);
	free(shown);
	strbuf_release(&err);
	return ret;
}

/*
 * Why task i of r is held back from --all, into why, or nothing: it did
 * not succeed, or it changed a file that another candidate (a task that
 * succeeded with changes) changed too, other than in the same way. Such
 * a pair is held back whole: which of the two should win is the
 * reviewer's call, and the second could not apply anyway (the file is
 * no longer the one it started from).
 */
static void held_back(const struct review *r, size_t i, struct strbuf *why)
{
	const struct review_task *t = &r->tasks[i];
	size_t shown = 0;

	if (!t->status || strcmp(t->status, "succeeded")) {
		strbuf_addstr(why, "it did not succeed (");
		quote_text(why, t->status ? t->status : "?",
			   strlen(t->status ? t->status : "?"), 0);
		strbuf_addch(why, ')');
		return;
	}
	for (size_t k = 0; k < r->nr_conflicts; k++) {
		const struct review_conflict *c = &r->conflicts[k];
		size_t other = c->a == i ? c->b : c->a;
		const struct review_task *o = &r->tasks[other];
		char *q;
		if ((c->a != i && c->b != i) || c->same || !o->status ||
		    strcmp(o->status, "succeeded"))
			continue;
		if (shown++ >= 3) {
			strbuf_addstr(why, "; ...");
			break;
		}
		q = quote_path_dup(c->path);
		strbuf_addf(why, "%s%s is changed by ", shown > 1 ? "; " : "",
			    q);
		quote_text(why, o->id, strlen(o->id), 0);
		strbuf_addf(why, " too (%s)", c->why);
		free(q);
	}
}

/*
 * --all: every task of run id that is not held back, in plan order,
 * each all or nothing (apply_one); then what was held back and why.
 * 0 when every task with changes was applied, else 1 (4 on a failure).
 */
static int apply_every(struct store *st, const char *id, const char *to,
		       bool dry_run)
{
	struct review r;
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
	struct strvec back = STRVEC_INIT;
	size_t applied = 0;
	int ret = RUNNER_EXIT_RUNTIME;

	if (review_load(st, id, &r, &err) < 0) {
		error("cannot read run %s: %s", id, err.buf);
		goto out;
	}
	for (size_t i = 0; i < r.nr_tasks; i++) {
		const struct review_task *t = &r.tasks[i];
		int rc;

		char *q;

		if (!t->nr_files)
			continue;
		q = quote_text_dup(t->id);
		strbuf_reset(&why);
		held_back(&r, i, &why);
		if (why.len) {
			strvec_pushf(&back, "%s: %s", q, why.buf);
			free(q);
			continue;
		}
		printf("== %s\n", q);
		rc = apply_one(st, id, t->id, to, dry_run);
		if (rc == RUNNER_EXIT_OK)
			applied++;
		else if (rc == RUNNER_EXIT_TASK_FAILED)
			strvec_pushf(&back,
				     "%s: conflicts in the workspace "
				     "(listed above); nothing of it "
				     "was applied",
				     q);
		else
			strvec_pushf(&back,
				     "%s: could not be applied (see "
				     "above); nothing of it was applied",
				     q);
		free(q);
	}
	for (size_t i = 0; i < back.nr; i++)
		printf("held back: %s\n", back.v[i]);
	printf("%s %zu task%s, held back %zu\n",
	       dry_run ? "dry run: would apply" : "applied", applied,
	       applied == 1 ? "" : "s", back.nr);
	ret = back.nr ? RUNNER_EXIT_TASK_FAILED : RUNNER_EXIT_OK;
out:
	review_release(&r);
	strvec_clear(&back);
	strbuf_release(&why);
	strbuf_release(&err);
	return ret;
}

int cmd_apply(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	const char *state = NULL, *to = NULL;
	const char *branch = NULL;
	char *id = NULL;
	bool dry_run = false, all = false;
	int ret;
	const char *usage = cmd->usage;
	const struct opt options[] = {
		OPT_STRING(0, "to", "DIR", &to,
			   "apply to DIR instead of the task's workspace"),
		OPT_BOOL('n', "dry-run", &dry_run,
			 "check and list the changes; write nothing"),
		OPT_BOOL(0, "all", &all,
			 "every task that succeeded and conflicts with no "
			 "other, in plan order"),
		OPT_STRING(0, "branch", "NAME", &branch,
			   "commit the changes to a new git branch NAME "
			   "instead ({run} and {task} are put in)"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (all && argc - optind != 1)
		return usage_error(usage, "apply --all takes RUN alone");
	if (!all && argc - optind != 2)
		return usage_error(usage, "apply takes RUN and TASK");
	if (branch) {
		char *probe = branch_name(branch, "r", "t", &err);
		free(probe);
		if (!probe) {
			ret = usage_error(usage, "%s", err.buf);
			strbuf_release(&err);
			return ret;
		}
	}
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (branch) {
		struct branch_ctx b = { .run = id,
					.state_dir = store_dir(st),
					.to = to,
					.pattern = branch,
					.dry_run = dry_run };
		if (all) {
			ret = branch_all(&b);
		} else if (!plan_id_valid(argv[optind + 1])) {
			error("'%s' is not a task id", argv[optind + 1]);
		} else {
			int rc = branch_one(&b, argv[optind + 1]);
			ret = rc == 0 || rc == 2 ? RUNNER_EXIT_OK
			      : rc == 1		 ? RUNNER_EXIT_TASK_FAILED
						 : RUNNER_EXIT_RUNTIME;
		}
		goto out;
	}
	if (all) {
		ret = apply_every(st, id, to, dry_run);
		goto out;
	}
	if (!plan_id_valid(argv[optind + 1])) {
		error("'%s' is not a task id", argv[optind + 1]);
		goto out;
	}
	ret = apply_one(st, id, argv[optind + 1], to, dry_run);
out:
	free(id);
	strbuf_release(&err);
	if (st)
		store_close(st);
	return ret;
}
