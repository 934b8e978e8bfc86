/*
 * runner apply RUN TASK [--to DIR] [--dry-run]: put a task's pulled-back
 * changes into the workspace (or DIR), all or nothing.
 *
 * First every change is checked against what is on disk: a modified or
 * deleted file must still have the hash the task started from (or already
 * be in the task's end state), an added file must not exist (or already
 * match). Any conflict is named and nothing is touched. Only then are new
 * contents written to temporary files next to their targets and renamed
 * into place, and deletions done. Paths come from the results folder and
 * are checked like anything else read back from a sandbox.
 */
#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "hash.h"
#include "opt.h"
#include "plan.h"
#include "quote.h"
#include "runref.h"
#include "store.h"
#include "ws.h"

#include <cJSON.h>
#include <fcntl.h>
#include <sys/stat.h>

enum kind { ADDED, MODIFIED, DELETED };

struct change {
	enum kind kind;
	char *path;
	bool link;
	bool has_new, has_base;
	unsigned char new_sha[32], base_sha[32];
	bool noop; /* the target is already in the task's end state */
};

struct plan_apply {
	struct change *items;
	size_t nr, alloc;
	struct strvec conflicts;
	struct strvec skipped;
};

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

/*
 * State of path under rootfd: 0 absent, 1 present (sum filled: content
 * of a file, or target of a link), -1 unreadable or not a file or link.
 */
static int current(int rootfd, const char *path, bool *is_link,
		   unsigned char sum[32])
{
	const char *base;
	int pfd = ws_open_parent(rootfd, path, &base, false), fd, ret = -1;
	struct stat st;

	if (pfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = errno == ENOENT ? 0 : -1;
	} else if (S_ISLNK(st.st_mode)) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(pfd, base, buf, sizeof(buf));
		if (n >= 0) {
			sha256_buf(buf, (size_t)n, sum);
			*is_link = true;
			ret = 1;
		}
	} else if (S_ISREG(st.st_mode)) {
		fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && sha256_fd(fd, sum) == 0) {
			*is_link = false;
			ret = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	close(pfd);
	return ret;
}

static void conflict(struct plan_apply *pa, const char *path, const char *why)
{
	char *q = quote_path_dup(path);
	strvec_pushf(&pa->conflicts, "%s: %s", q, why);
	free(q);
}

static void check(struct plan_apply *pa, int rootfd, struct change *c)
{
	unsigned char sum[32];
	bool is_link = false;
	int have = current(rootfd, c->path, &is_link, sum);

	if (have < 0) {
		conflict(pa, c->path,
			 "is not a plain file or link, or cannot "
			 "be read");
		return;
	}
	if (c->kind == ADDED) {
		if (!have)
			return;
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
	if (!have) {
		if (c->kind == DELETED)
			c->noop = true;
		else
			conflict(pa, c->path,
				 "no longer exists in the "
				 "workspace");
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
	ret = 0;
out:
	cJSON_Delete(root);
	strbuf_release(&text);
	strbuf_release(&name);
	free(path);
	return ret;
}

/* Write the task's version of c next to its target; returns the temp name. */
static char *stage(int srcfd, int dstfd, const struct change *c,
		   struct strbuf *err)
{
	const char *sbase, *dbase;
	int sp = ws_open_parent(srcfd, c->path, &sbase, false);
	int dp = ws_open_parent(dstfd, c->path, &dbase, true);
	char *tmp = NULL;
	int in = -1, out = -1;

	if (sp < 0 || dp < 0) {
		strbuf_addf(err, "cannot reach '%s': %s", c->path,
			    strerror(errno));
		goto fail;
	}
	tmp = xstrfmt("%s/.%s.runner-apply-%ld", c->path, dbase,
		      (long)getpid());
	/* tmp is relative to the parent: keep only its last component. */
	{
		char *last = xstrdup(strrchr(tmp, '/') + 1);
		free(tmp);
		tmp = last;
	}
	if (c->link) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(sp, sbase, buf, sizeof(buf) - 1);
		if (n < 0 || (buf[n] = '\0', symlinkat(buf, dp, tmp) < 0)) {
			strbuf_addf(err, "cannot stage link '%s': %s", c->path,
				    strerror(errno));
			goto fail;
		}
	} else {
		struct stat st;
		in = openat(sp, sbase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0 || fstat(in, &st) < 0) {
			strbuf_addf(err, "cannot read the task's '%s': %s",
				    c->path, strerror(errno));
			goto fail;
		}
		out = openat(dp, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     st.st_mode & 0777);
		if (out < 0) {
			strbuf_addf(err, "cannot write next to '%s': %s",
				    c->path, strerror(errno));
			goto fail;
		}
		for (;;) {
			char buf[65536];
			ssize_t n = read(in, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 ||
			    (n > 0 && fs_write_all(out, buf, (size_t)n) < 0)) {
				strbuf_addf(err, "cannot copy '%s': %s",
					    c->path, strerror(errno));
				unlinkat(dp, tmp, 0);
				goto fail;
			}
			if (!n)
				break;
		}
		if (fsync(out) < 0 || close(out) < 0) {
			out = -1;
			strbuf_addf(err, "cannot write '%s': %s", c->path,
				    strerror(errno));
			unlinkat(dp, tmp, 0);
			goto fail;
		}
		out = -1;
	}
	close(in);
	close(sp);
	close(dp);
	return tmp;
fail:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (sp >= 0)
		close(sp);
	if (dp >= 0)
		close(dp);
	free(tmp);
	return NULL;
}

static int apply_all(struct plan_apply *pa, int srcfd, int dstfd,
		     struct strbuf *err)
{
	char **tmps = xcalloc(pa->nr ? pa->nr : 1, sizeof(*tmps));
	int ret = -1;
	size_t i;

	/* Stage everything first: a failure here leaves the workspace alone.
	 */
	for (i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		if (c->kind == DELETED || c->noop)
			continue;
		if (!(tmps[i] = stage(srcfd, dstfd, c, err)))
			goto unstage;
	}
	for (i = 0; i < pa->nr; i++) {
		struct change *c = &pa->items[i];
		const char *base;
		int dp;
		if (c->noop)
			continue;
		dp = ws_open_parent(dstfd, c->path, &base, false);
		if (dp < 0 || (c->kind == DELETED ? unlinkat(dp, base, 0)
						  : renameat(dp, tmps[i], dp,
							     base)) < 0) {
			strbuf_addf(err,
				    "cannot %s '%s': %s; the workspace is "
				    "partly updated",
				    c->kind == DELETED ? "delete" : "replace",
				    c->path, strerror(errno));
			if (dp >= 0)
				close(dp);
			goto out;
		}
		free(tmps[i]);
		tmps[i] = NULL;
		close(dp);
	}
	ret = 0;
	goto out;
unstage:
	for (i = 0; i < pa->nr; i++) {
		const char *base;
		int dp;
		if (!tmps[i])
			continue;
		dp = ws_open_parent(dstfd, pa->items[i].path, &base, false);
		if (dp >= 0) {
			unlinkat(dp, tmps[i], 0);
			close(dp);
		}
	}
out:
	for (i = 0; i < pa->nr; i++)
		free(tmps[i]);
	free(tmps);
	return ret;
}

/* A name from a sandbox is printed quoted (quote.h), as git prints paths. */
static void print_change(char mark, const char *path)
{
	char *q = quote_path_dup(path);
	printf("%c %s\n", mark, q);
	free(q);
}

int cmd_apply(int argc, char **argv, const struct cmd_entry *cmd)
{
	static const char marks[] = { 'A', 'M', 'D' };
	struct plan_apply pa = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	const char *state = NULL, *to = NULL;
	char *id = NULL, *dir = NULL, *workspace = NULL, *changes = NULL;
	char *shown = NULL; /* to, as printed */
	bool dry_run = false;
	int ret, srcfd = -1, dstfd = -1;
	size_t todo = 0;
	const char *usage = cmd->usage;
	const struct opt options[] = {
		OPT_STRING(0, "to", "DIR", &to,
			   "apply to DIR instead of the task's workspace"),
		OPT_BOOL('n', "dry-run", &dry_run,
			 "check and list the changes; write nothing"),
		OPT_STATE(&state),
		OPT_END(),
	};

	strvec_init(&pa.conflicts);
	strvec_init(&pa.skipped);
	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind != 2)
		return usage_error(usage, "apply takes RUN and TASK");
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (!plan_id_valid(argv[optind + 1])) {
		error("'%s' is not a task id", argv[optind + 1]);
		goto out;
	}
	dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st), id,
		      argv[optind + 1]);
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
	if (apply_all(&pa, srcfd, dstfd, &err) < 0) {
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
	for (size_t i = 0; i < pa.nr; i++)
		free(pa.items[i].path);
	free(pa.items);
	strvec_clear(&pa.conflicts);
	strvec_clear(&pa.skipped);
	if (srcfd >= 0)
		close(srcfd);
	if (dstfd >= 0)
		close(dstfd);
	free(id);
	free(dir);
	free(changes);
	free(workspace);
	free(shown);
	strbuf_release(&err);
	if (st)
		store_close(st);
	return ret;
}
