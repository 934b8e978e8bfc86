/*
 * A task's changes as one commit on a new branch, through git's plumbing:
 *
 *   GIT_INDEX_FILE=TMP git read-tree BASE          the base, in our index
 *   git hash-object -w --no-filters --stdin        each new file or link
 *   GIT_INDEX_FILE=TMP git update-index --add -z --index-info
 *   GIT_INDEX_FILE=TMP git write-tree
 *   git commit-tree TREE -p BASE < MESSAGE
 *   git update-ref refs/heads/NAME COMMIT ""       only if it is new
 *
 * git runs from the repository's top with a small environment of its own
 * (no GIT_DIR or GIT_INDEX_FILE of the caller's), never through a shell:
 * names come from a sandbox and may hold anything but NUL, so they travel
 * NUL-terminated (-z) or in a file, never on a line. What git reads
 * (a message, a link's target, a file of the task's) reaches its stdin
 * through /proc/self/fd of a descriptor we opened without following links.
 */
#define _GNU_SOURCE /* memfd_create */
#include "runner.h"
#include "gitbranch.h"
#include "fs.h"
#include "hash.h"
#include "proc.h"
#include "quote.h"
#include "ws.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define GIT_OUT_MAX (64u << 20)
#define GIT_TIMEOUT_MS (10 * 60 * 1000)

struct git {
	const char *dir;
	const char *index; /* GIT_INDEX_FILE, or NULL */
	const char *author_name, *author_email;
	bool committer_is_author;
};

struct batch;
static int on_batch(void *ctx, const char *buf, size_t len);

struct git_io {
	int in_fd;	     /* stdin; -1: /dev/null */
	struct strbuf *out;  /* stdout; NULL: discarded */
	struct batch *batch; /* or stdout read as cat-file --batch's */
	bool too_much;
};

static int on_git_output(void *ctx, const char *buf, size_t len)
{
	struct git_io *io = ctx;

	if (io->batch) {
		return on_batch(io->batch, buf, len);
	} else if (io->out && strbuf_add(io->out, buf, len) < 0) {
		io->too_much = true;
		return 1;
	}
	return 0;
}

/* The caller's variables git may need: where its config is, who we are. */
static const char *const passed_env[] = {
	"HOME",
	"XDG_CONFIG_HOME",
	"GIT_CONFIG_GLOBAL",
	"GIT_CONFIG_NOSYSTEM",
	"GIT_CEILING_DIRECTORIES",
	"EMAIL",
	"GIT_COMMITTER_NAME",
	"GIT_COMMITTER_EMAIL",
	"GIT_COMMITTER_DATE",
	"GIT_AUTHOR_DATE",
};

static void git_env(const struct git *g, struct strvec *env)
{
	const char *path = getenv("PATH");

	strvec_pushf(env, "PATH=%s",
		     path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (size_t i = 0; i < ARRAY_SIZE(passed_env); i++) {
		const char *v = getenv(passed_env[i]);
		if (v)
			strvec_pushf(env, "%s=%s", passed_env[i], v);
	}
	strvec_push(env, "LC_ALL=C");
	/* Reads take no lock and never refresh the repository's index. */
	strvec_push(env, "GIT_OPTIONAL_LOCKS=0");
	strvec_push(env, "GIT_TERMINAL_PROMPT=0");
	/* A path is a path: "*" or ":(top)" in a name is no pattern. */
	strvec_push(env, "GIT_LITERAL_PATHSPECS=1");
	if (g->index)
		strvec_pushf(env, "GIT_INDEX_FILE=%s", g->index);
	if (g->author_name) {
		strvec_pushf(env, "GIT_AUTHOR_NAME=%s", g->author_name);
		strvec_pushf(env, "GIT_AUTHOR_EMAIL=%s", g->author_email);
	}
	if (g->committer_is_author) {
		strvec_pushf(env, "GIT_COMMITTER_NAME=%s", g->author_name);
		strvec_pushf(env, "GIT_COMMITTER_EMAIL=%s", g->author_email);
	}
}

/* A descriptor holding text, for a child's stdin. */
static int text_fd(const char *text, size_t len)
{
	int fd = memfd_create("runner-git", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return fd;
}

/*
 * Run git with args (NULL-terminated). Returns git's exit status (and,
 * when it is not 0, err says what git said), or -1 with err when git
 * could not be run.
 */
static int git_run(const struct git *g, struct git_io *io, struct strbuf *err,
		   const char *const *args)
{
	struct proc p;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct git_io none = { .in_fd = -1 };
	char *in_path = NULL;
	int efd = memfd_create("runner-git-err", MFD_CLOEXEC), ret = -1;

	if (!io)
		io = &none;
	if (efd < 0) {
		strbuf_addf(err, "cannot run git: %s", strerror(errno));
		return -1;
	}
	proc_init(&p);
	strvec_push(&p.args, "git");
	for (size_t i = 0; args[i]; i++)
		strvec_push(&p.args, args[i]);
	git_env(g, &p.env);
	p.dir = g->dir;
	p.stderr_fd = efd;
	if (io->in_fd >= 0) {
		in_path = xstrfmt("/proc/self/fd/%d", io->in_fd);
		p.stdin_path = in_path;
	}
	o.timeout_ms = GIT_TIMEOUT_MS;
	o.on_output = on_git_output;
	o.ctx = io;
	if (proc_start(&p, err) < 0 || proc_run(&p, &o, &r, err) < 0)
		goto out;
	if (io->too_much) {
		strbuf_addf(err, "git %s: more output than %u MiB", args[0],
			    GIT_OUT_MAX >> 20);
		goto out;
	}
	if (r.timed_out || r.exit_code < 0) {
		strbuf_addf(err, "git %s: %s", args[0],
			    r.timed_out ? "timed out" : "killed by a signal");
		goto out;
	}
	ret = r.exit_code;
	if (ret) {
		struct strbuf said = STRBUF_INIT;
		strbuf_init_capped(&said, 2048);
		lseek(efd, 0, SEEK_SET);
		strbuf_read_fd(&said, efd);
		strbuf_rtrim(&said);
		strbuf_addf(err, "git %s failed (status %d)", args[0], ret);
		if (said.len) {
			char *q = quote_text_dup(said.buf);
			strbuf_addf(err, ": %s", q);
			free(q);
		}
		strbuf_release(&said);
	}
out:
	proc_release(&p);
	close(efd);
	free(in_path);
	return ret;
}

/* git's one line of output, without its newline, into *out. */
static int git_line(const struct git *g, char **out, struct strbuf *err,
		    const char *const *args)
{
	struct strbuf sb = STRBUF_INIT;
	struct git_io io = { .in_fd = -1, .out = &sb };
	int rc;

	strbuf_init_capped(&sb, 1 << 16);
	rc = git_run(g, &io, err, args);
	if (rc == 0) {
		if (sb.len && sb.buf[sb.len - 1] == '\n')
			strbuf_setlen(&sb, sb.len - 1);
		*out = strbuf_detach(&sb, NULL);
	}
	strbuf_release(&sb);
	return rc;
}

static bool is_oid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return !s[n] && (n == 40 || n == 64);
}

int gitbranch_probe(const char *dir, char **head, bool *dirty,
		    struct strbuf *err)
{
	static const char *const rev[] = { "rev-parse", "--verify", "-q",
					   "HEAD^{commit}", NULL };
	static const char *const status[] = {
		"status", "--porcelain", "-z", "--untracked-files=normal",
		"--",	  ".",		 NULL
	};
	struct git g = { .dir = dir };
	struct strbuf out = STRBUF_INIT, why = STRBUF_INIT;
	struct git_io io = { .in_fd = -1, .out = &out };
	char *path = proc_find_in_path("git", getenv("PATH"));
	int rc;

	*head = NULL;
	*dirty = false;
	free(path);
	if (!path)
		return 1;
	/* Not a repository, no commit yet, not ours to read: nothing. */
	if (git_line(&g, head, &why, rev) != 0 || !is_oid(*head)) {
		free(*head);
		*head = NULL;
		strbuf_release(&why);
		return 1;
	}
	strbuf_init_capped(&out, 1 << 20);
	rc = git_run(&g, &io, err, status);
	/* Cut at the cap: what is there already says it is dirty. */
	if (rc != 0 && !(io.too_much && out.len)) {
		free(*head);
		*head = NULL;
		strbuf_release(&out);
		return -1;
	}
	strbuf_reset(err);
	*dirty = out.len > 0;
	strbuf_release(&out);
	strbuf_release(&why);
	return 0;
}

int gitbranch_name_check(const char *workspace, const char *name,
			 struct strbuf *err)
{
	struct git g = { .dir = workspace };
	struct strbuf why = STRBUF_INIT;
	char *ref = xstrfmt("refs/heads/%s", name);
	const char *const args[] = { "check-ref-format", ref, NULL };
	int ret = 0;

	if (!*name || *name == '-' || !strcmp(name, "HEAD") ||
	    git_run(&g, NULL, &why, args) != 0) {
		char *q = quote_text_dup(name);
		strbuf_addf(err, "'%s' is not a valid branch name", q);
		free(q);
		ret = -1;
	}
	strbuf_release(&why);
	free(ref);
	return ret;
}

/* An entry of the base commit's tree (git ls-tree -r). */
struct entry {
	char *mode, *type, *oid, *path;
};

struct tree {
	struct entry *v;
	size_t nr, alloc;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
		      ((const struct entry *)b)->path);
}

static void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		free(t->v[i].mode);
		free(t->v[i].type);
		free(t->v[i].oid);
		free(t->v[i].path);
	}
	free(t->v);
}

/* "MODE SP TYPE SP OID TAB PATH NUL"... into t, sorted by path. */
static int parse_tree(const struct strbuf *sb, struct tree *t,
		      struct strbuf *err)
{
	const char *p = sb->buf, *end = sb->buf + sb->len;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *sp1, *sp2, *tab;
		struct entry *e;

		if (!nul || !(sp1 = strchr(p, ' ')) || sp1 > nul ||
		    !(sp2 = strchr(sp1 + 1, ' ')) || sp2 > nul ||
		    !(tab = strchr(sp2 + 1, '\t')) || tab > nul) {
			strbuf_addstr(err,
				      "git ls-tree: output not understood");
			return -1;
		}
		ALLOC_GROW(t->v, t->nr + 1, t->alloc);
		e = &t->v[t->nr++];
		e->mode = xstrndup(p, (size_t)(sp1 - p));
		e->type = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
		e->oid = xstrndup(sp2 + 1, (size_t)(tab - sp2 - 1));
		e->path = xstrdup(tab + 1);
		p = nul + 1;
	}
	if (t->nr)
		qsort(t->v, t->nr, sizeof(*t->v), entry_cmp);
	return 0;
}

static struct entry *tree_find(const struct tree *t, const char *path,
			       size_t len)
{
	struct entry key = { .path = xstrndup(path, len) };
	struct entry *e =
		t->nr ? bsearch(&key, t->v, t->nr, sizeof(key), entry_cmp)
		      : NULL;
	free(key.path);
	return e;
}

/* The first entry at or after path in t's order. */
static size_t tree_lower(const struct tree *t, const char *path)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A change whose base must hold what the snapshot held. */
struct verify {
	const struct gitbranch_change *c;
	char *oid; /* borrowed from the base's tree */
};

struct job {
	const struct gitbranch_opts *o;
	struct verify *verify;
	size_t nr_verify, alloc_verify;
	struct git g;	   /* at the repository's top */
	char *prefix;	   /* of the workspace in the repository: "" or "d/" */
	char *changes_dir; /* the changes/ folder's path (of its fd) */
	struct tree base;
	char **deleted; /* full paths the task deleted, sorted */
	size_t nr_deleted;
	struct strvec *conflicts;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool deleted(const struct job *j, const char *full)
{
	return j->nr_deleted && bsearch(&full, j->deleted, j->nr_deleted,
					sizeof(*j->deleted), str_cmp);
}

static void conflict(struct job *j, const char *path, const char *why)
{
	char *q = quote_path_dup(path);
	strvec_pushf(j->conflicts, "%s: %s", q, why);
	free(q);
}

static bool is_blob(const struct entry *e)
{
	return !strcmp(e->type, "blob");
}

/*
 * git cat-file --batch's output: "OID blob SIZE\n", SIZE bytes, "\n",
 * for each blob asked for, in order; each blob's content is hashed as it
 * streams by, so memory stays small whatever the sizes.
 */
struct batch {
	unsigned char (*sums)[32];
	size_t nr, want;
	struct strbuf head;
	struct sha256_ctx *sum; /* the blob being read */
	uint64_t left;		/* of its content */
	int state;		/* 0: header, 1: content, 2: its newline */
	bool bad;
};

static int on_batch(void *ctx, const char *buf, size_t len)
{
	struct batch *b = ctx;

	while (len) {
		if (b->state == 0) {
			const char *nl = memchr(buf, '\n', len);
			size_t n = nl ? (size_t)(nl - buf) + 1 : len;
			const char *sp;
			char *end;
			if (strbuf_add(&b->head, buf, n) < 0)
				goto bad;
			buf += n;
			len -= n;
			if (!nl)
				continue;
			sp = strrchr(b->head.buf, ' ');
			if (!strstr(b->head.buf, " blob ") || !sp ||
			    b->nr >= b->want)
				goto bad;
			errno = 0;
			b->left = strtoull(sp + 1, &end, 10);
			if (errno || *end != '\n')
				goto bad;
			strbuf_reset(&b->head);
			b->sum = sha256_new();
			b->state = 1;
		} else if (b->state == 1) {
			size_t n = len < b->left ? len : (size_t)b->left;
			sha256_update(b->sum, buf, n);
			buf += n;
			len -= n;
			b->left -= n;
		} else {
			if (*buf != '\n')
				goto bad;
			buf++;
			len--;
			b->state = 0;
		}
		if (b->state == 1 && !b->left) {
			sha256_final(b->sum, b->sums[b->nr++]);
			b->sum = NULL;
			b->state = 2;
		}
	}
	return 0;
bad:
	b->bad = true;
	return 1;
}

/* The SHA-256 of each blob of oids, one git process for them all. */
static int hash_blobs(struct job *j, char *const *oids, size_t nr,
		      unsigned char (*sums)[32], struct strbuf *err)
{
	static const char *const args[] = { "cat-file", "--batch", NULL };
	struct batch b = { .sums = sums, .want = nr };
	struct strbuf list = STRBUF_INIT;
	struct git_io io = { .in_fd = -1, .batch = &b };
	int rc = -1;

	strbuf_init_capped(&b.head, 512);
	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&list, "%s\n", oids[i]);
	io.in_fd = text_fd(list.buf, list.len);
	if (io.in_fd < 0)
		strbuf_addf(err, "cannot hand git the list: %s",
			    strerror(errno));
	else
		rc = git_run(&j->g, &io, err, args);
	if (!rc && (b.bad || b.nr != nr)) {
		strbuf_addstr(err, "git cat-file --batch: output not "
				   "understood");
		rc = -1;
	}
	if (b.sum) {
		unsigned char ignored[32];
		sha256_final(b.sum, ignored);
	}
	if (io.in_fd >= 0)
		close(io.in_fd);
	strbuf_release(&list);
	strbuf_release(&b.head);
	return rc ? -1 : 0;
}

/*
 * Refusals, each into j->conflicts (see gitbranch_commit()); what the
 * base's blobs hold is compared later, all at once (verify_base).
 */
static void check(struct job *j, const struct gitbranch_change *c,
		  const char *full)
{
	struct entry *e = tree_find(&j->base, full, strlen(full));
	size_t len = strlen(full), i;

	/* git keeps no such path (include_git: true brought it back). */
	for (const char *p = c->path; p; p = strchr(p, '/')) {
		p += *p == '/';
		if (!strncasecmp(p, ".git", 4) && (p[4] == '/' || !p[4])) {
			conflict(j, c->path, "is inside .git");
			return;
		}
	}
	if (c->kind != 'A') {
		if (!e || !is_blob(e)) {
			conflict(j, c->path,
				 e ? "is not a file in the base commit"
				   : "is not in the base commit (the "
				     "snapshot held a file git does not)");
			return;
		}
		if (!c->has_base) {
			conflict(j, c->path,
				 "the results do not say what the snapshot "
				 "held");
			return;
		}
		/* Compared once every blob is hashed (verify_base). */
		ALLOC_GROW(j->verify, j->nr_verify + 1, j->alloc_verify);
		j->verify[j->nr_verify].c = c;
		j->verify[j->nr_verify].oid = e->oid;
		j->nr_verify++;
		return;
	}
	if (e) {
		conflict(j, c->path,
			 "is in the base commit but was not in the snapshot");
		return;
	}
	for (const char *s = strchr(full + strlen(j->prefix), '/'); s;
	     s = strchr(s + 1, '/')) {
		struct entry *up =
			tree_find(&j->base, full, (size_t)(s - full));
		if (up && !deleted(j, up->path)) {
			conflict(j, c->path,
				 "a directory of it is a file in the base "
				 "commit");
			return;
		}
	}
	{
		char *under = xstrfmt("%s/", full);
		for (i = tree_lower(&j->base, under);
		     i < j->base.nr &&
		     !strncmp(j->base.v[i].path, full, len) &&
		     j->base.v[i].path[len] == '/';
		     i++) {
			if (!deleted(j, j->base.v[i].path)) {
				conflict(j, c->path,
					 "is a directory in the base commit "
					 "holding files the task did not "
					 "delete");
				break;
			}
		}
		free(under);
	}
}

static int verify_base(struct job *j, struct strbuf *err)
{
	char **oids = xcalloc(j->nr_verify + 1, sizeof(*oids));
	unsigned char(*sums)[32] = xcalloc(j->nr_verify + 1, sizeof(*sums));
	int ret;

	for (size_t i = 0; i < j->nr_verify; i++)
		oids[i] = j->verify[i].oid;
	ret = j->nr_verify ? hash_blobs(j, oids, j->nr_verify, sums, err) : 0;
	for (size_t i = 0; !ret && i < j->nr_verify; i++)
		if (memcmp(sums[i], j->verify[i].c->base_sha256, 32))
			conflict(j, j->verify[i].c->path,
				 "differs between the base commit and the "
				 "snapshot (not committed when the run "
				 "started)");
	free(oids);
	free(sums);
	return ret;
}

/* Files per git hash-object: its command line stays well under ARG_MAX. */
#define FILES_PER_GIT 256

/*
 * The task's version of c: a link's blob written now, "MODE OID\t" into
 * *line; a regular file is only looked at (a plain file at a path of no
 * links, under changes/), its mode into *mode, for put_files() to write.
 */
static int put_blob(struct job *j, const struct gitbranch_change *c,
		    char **line, const char **mode, struct strbuf *err)
{
	static const char *const args[] = { "hash-object", "-w",
					    "--no-filters", "--stdin", NULL };
	struct strbuf oid = STRBUF_INIT;
	struct git_io io = { .in_fd = -1, .out = &oid };
	const char *base;
	int pfd = j->o->changes_fd < 0 ? -1
				       : ws_open_parent(j->o->changes_fd,
							c->path, &base, false);
	struct stat st;
	int ret = -1;

	strbuf_init_capped(&oid, 256);
	if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		strbuf_addf(err, "cannot read the task's '%s': %s", c->path,
			    pfd < 0 && j->o->changes_fd < 0
				    ? "the changes/ folder is missing"
				    : strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && !c->link) {
		*mode = st.st_mode & S_IXUSR ? "100755" : "100644";
		ret = 0;
		goto out;
	}
	if (!S_ISLNK(st.st_mode) || !c->link) {
		strbuf_addf(err,
			    "the task's '%s' is not what changes.json says",
			    c->path);
		goto out;
	}
	{
		char buf[PATH_MAX];
		ssize_t n = readlinkat(pfd, base, buf, sizeof(buf));
		if (n >= 0)
			io.in_fd = text_fd(buf, (size_t)n);
	}
	if (io.in_fd < 0) {
		strbuf_addf(err, "cannot read the task's '%s': %s", c->path,
			    strerror(errno));
		goto out;
	}
	if (git_run(&j->g, &io, err, args))
		goto out;
	strbuf_rtrim(&oid);
	if (!is_oid(oid.buf)) {
		strbuf_addstr(err, "git hash-object: output not understood");
		goto out;
	}
	*line = xstrfmt("120000 %s\t", oid.buf);
	ret = 0;
out:
	if (io.in_fd >= 0)
		close(io.in_fd);
	if (pfd >= 0)
		close(pfd);
	strbuf_release(&oid);
	return ret;
}

/*
 * The blobs of the task's regular files o->changes[idx[k]], each of mode
 * modes[k], written FILES_PER_GIT at a time; "MODE OID\t" into
 * lines[idx[k]]. The names travel in argv (any byte but NUL), under the
 * changes/ folder's own path, checked by put_blob() to hold no link.
 */
static int put_files(struct job *j, const size_t *idx,
		     const char *const *modes, size_t n, char **lines,
		     struct strbuf *err)
{
	for (size_t at = 0; at < n; at += FILES_PER_GIT) {
		size_t end = n - at > FILES_PER_GIT ? at + FILES_PER_GIT : n;
		struct strvec args = STRVEC_INIT;
		struct strbuf out = STRBUF_INIT;
		struct git_io io = { .in_fd = -1, .out = &out };
		const char *p;
		int rc;

		strbuf_init_capped(&out, 100 * FILES_PER_GIT);
		strvec_push(&args, "hash-object");
		strvec_push(&args, "-w");
		strvec_push(&args, "--no-filters");
		strvec_push(&args, "--");
		for (size_t k = at; k < end; k++)
			strvec_pushf(&args, "%s/%s", j->changes_dir,
				     j->o->changes[idx[k]].path);
		rc = git_run(&j->g, &io, err, args.v);
		p = out.buf;
		for (size_t k = at; !rc && k < end; k++) {
			const char *nl = strchr(p, '\n');
			char *oid = nl ? xstrndup(p, (size_t)(nl - p)) : NULL;
			if (!oid || !is_oid(oid)) {
				strbuf_addstr(err, "git hash-object: output "
						   "not understood");
				rc = -1;
			} else {
				lines[idx[k]] =
					xstrfmt("%s %s\t", modes[k], oid);
				p = nl + 1;
			}
			free(oid);
		}
		strvec_clear(&args);
		strbuf_release(&out);
		if (rc)
			return -1;
	}
	return 0;
}

/* Remove the temporary index and its directory. */
static void drop_tmp(char *tmpdir)
{
	struct strbuf ignored = STRBUF_INIT;

	if (tmpdir)
		fs_rm_rf(tmpdir, &ignored);
	strbuf_release(&ignored);
	free(tmpdir);
}

/* The commit message as git gets it: no control character but \n, \t. */
static char *clean_message(const char *msg)
{
	struct strbuf sb = STRBUF_INIT;

	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p >= 0x20 || *p == '\n' || *p == '\t')
			if (*p != 0x7f)
				strbuf_addch(&sb, *p);
	strbuf_rtrim(&sb);
	strbuf_addch(&sb, '\n');
	return strbuf_detach(&sb, NULL);
}

static int make_commit(struct job *j, char **commit, struct strbuf *err)
{
	const struct gitbranch_opts *o = j->o;
	struct strbuf info = STRBUF_INIT;
	char **lines = xcalloc(o->nr + 1, sizeof(*lines));
	size_t *idx = xcalloc(o->nr + 1, sizeof(*idx)), nr_files = 0;
	const char **modes = xcalloc(o->nr + 1, sizeof(*modes));
	char *tmpdir = NULL, *index = NULL, *tree = NULL, *id = NULL;
	char *ref = xstrfmt("refs/heads/%s", o->branch), *msg = NULL;
	const char *tmp = getenv("TMPDIR");
	size_t zeros = strlen(o->base);
	struct git_io io = { .in_fd = -1 };
	int ret = -1;

	tmpdir =
		xstrfmt("%s/runner-branch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir)) {
		strbuf_addf(err, "cannot make a temporary directory: %s",
			    strerror(errno));
		free(tmpdir);
		tmpdir = NULL;
		goto out;
	}
	index = fs_join(tmpdir, "index");
	j->g.index = index;
	{
		const char *const args[] = { "read-tree", o->base, NULL };
		if (git_run(&j->g, NULL, err, args))
			goto out;
	}
	for (size_t i = 0; i < o->nr; i++) {
		const char *mode = NULL;
		if (o->changes[i].kind == 'D')
			continue;
		if (put_blob(j, &o->changes[i], &lines[i], &mode, err) < 0)
			goto out;
		if (mode) {
			idx[nr_files] = i;
			modes[nr_files++] = mode;
		}
	}
	if (put_files(j, idx, modes, nr_files, lines, err) < 0)
		goto out;
	/* Deletions first: a file may become a directory, or the reverse. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < o->nr; i++) {
			const struct gitbranch_change *c = &o->changes[i];
			if ((c->kind == 'D') != (pass == 0))
				continue;
			if (c->kind == 'D') {
				strbuf_addstr(&info, "0 ");
				for (size_t z = 0; z < zeros; z++)
					strbuf_addch(&info, '0');
				strbuf_addch(&info, '\t');
			} else {
				strbuf_addstr(&info, lines[i]);
			}
			strbuf_addf(&info, "%s%s", j->prefix, c->path);
			strbuf_addch(&info, '\0');
		}
	}
	io.in_fd = text_fd(info.buf, info.len);
	if (io.in_fd < 0) {
		strbuf_addf(err, "cannot hand git the changes: %s",
			    strerror(errno));
		goto out;
	}
	{
		const char *const args[] = { "update-index", "--add", "-z",
					     "--index-info", NULL };
		if (git_run(&j->g, &io, err, args))
			goto out;
	}
	{
		const char *const args[] = { "write-tree", NULL };
		if (git_line(&j->g, &tree, err, args))
			goto out;
	}
	j->g.index = NULL;
	/* Without an identity of the user's, the commit is all the task's. */
	{
		const char *const args[] = { "var", "GIT_COMMITTER_IDENT",
					     NULL };
		struct strbuf ignored = STRBUF_INIT;
		j->g.committer_is_author =
			git_run(&j->g, NULL, &ignored, args) != 0;
		strbuf_release(&ignored);
	}
	close(io.in_fd);
	msg = clean_message(o->message);
	io.in_fd = text_fd(msg, strlen(msg));
	if (io.in_fd < 0) {
		strbuf_addf(err, "cannot hand git the message: %s",
			    strerror(errno));
		goto out;
	}
	{
		const char *const args[] = { "commit-tree", tree, "-p",
					     o->base, NULL };
		struct strbuf out = STRBUF_INIT;
		struct git_io cio = { .in_fd = io.in_fd, .out = &out };
		int rc;
		strbuf_init_capped(&out, 256);
		rc = git_run(&j->g, &cio, err, args);
		strbuf_rtrim(&out);
		if (!rc && !is_oid(out.buf)) {
			strbuf_addstr(
				err, "git commit-tree: output not understood");
			rc = -1;
		}
		if (!rc)
			id = strbuf_detach(&out, NULL);
		strbuf_release(&out);
		if (rc)
			goto out;
	}
	{
		/* "": the branch must not exist, checked under git's lock. */
		const char *const args[] = {
			"update-ref", "-m", "runner apply --branch", ref, id,
			"",	      NULL
		};
		if (git_run(&j->g, NULL, err, args))
			goto out;
	}
	*commit = id;
	id = NULL;
	ret = 0;
out:
	if (io.in_fd >= 0)
		close(io.in_fd);
	j->g.index = NULL;
	drop_tmp(tmpdir);
	free(index);
	free(tree);
	free(id);
	free(ref);
	free(msg);
	strbuf_release(&info);
	for (size_t i = 0; i < o->nr; i++)
		free(lines[i]);
	free(lines);
	free(idx);
	free(modes);
	return ret;
}

int gitbranch_commit(const struct gitbranch_opts *o, struct strvec *conflicts,
		     char **commit, struct strbuf *err)
{
	struct job j = { .o = o, .conflicts = conflicts };
	struct git here = { .dir = o->workspace };
	struct strbuf listing = STRBUF_INIT;
	char *top = NULL, *ref = NULL, *probe = NULL;
	size_t alloc = 0;
	int ret = -1, rc;

	*commit = NULL;
	if (!is_oid(o->base)) {
		strbuf_addstr(err,
			      "the recorded base commit is not a commit id");
		return -1;
	}
	{
		const char *const args[] = { "rev-parse", "--show-toplevel",
					     NULL };
		const char *const pfx[] = { "rev-parse", "--show-prefix",
					    NULL };
		if (git_line(&here, &top, err, args) ||
		    git_line(&here, &j.prefix, err, pfx))
			goto out;
	}
	j.g.dir = top;
	if (o->changes_fd >= 0) {
		char *fdp = xstrfmt("/proc/self/fd/%d", o->changes_fd);
		j.changes_dir = fs_realpath(fdp, err);
		free(fdp);
		if (!j.changes_dir)
			goto out;
	}
	j.g.author_name = o->author_name;
	j.g.author_email = o->author_email;
	probe = xstrfmt("%s^{commit}", o->base);
	{
		const char *const args[] = { "cat-file", "-e", probe, NULL };
		struct strbuf why = STRBUF_INIT;
		rc = git_run(&j.g, NULL, &why, args);
		strbuf_release(&why);
		if (rc) {
			strbuf_addf(err,
				    "the commit the snapshot was taken from "
				    "(%s) is not in the repository",
				    o->base);
			ret = rc < 0 ? -1 : 1;
			goto out;
		}
	}
	ref = xstrfmt("refs/heads/%s", o->branch);
	{
		const char *const args[] = { "rev-parse", "--verify", "-q",
					     ref, NULL };
		struct strbuf why = STRBUF_INIT;
		rc = git_run(&j.g, NULL, &why, args);
		strbuf_release(&why);
		if (rc == 0) {
			strbuf_addf(err, "branch '%s' exists already",
				    o->branch);
			ret = 1;
			goto out;
		}
	}
	{
		const char *const args[] = { "ls-tree", "-r", "-z",
					     o->base,	"--", j.prefix,
					     NULL };
		struct git_io io = { .in_fd = -1, .out = &listing };
		/* At the top, "" is no pathspec: the whole tree. */
		const char *const all[] = { "ls-tree", "-r", "-z", o->base,
					    NULL };
		strbuf_init_capped(&listing, GIT_OUT_MAX);
		if (git_run(&j.g, &io, err, *j.prefix ? args : all) ||
		    parse_tree(&listing, &j.base, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < o->nr; i++)
		if (o->changes[i].kind == 'D') {
			ALLOC_GROW(j.deleted, j.nr_deleted + 1, alloc);
			j.deleted[j.nr_deleted++] =
				xstrfmt("%s%s", j.prefix, o->changes[i].path);
		}
	if (j.nr_deleted)
		qsort(j.deleted, j.nr_deleted, sizeof(*j.deleted), str_cmp);
	for (size_t i = 0; i < o->nr; i++) {
		char *full = xstrfmt("%s%s", j.prefix, o->changes[i].path);
		check(&j, &o->changes[i], full);
		free(full);
	}
	if (verify_base(&j, err) < 0)
		goto out;
	if (conflicts->nr) {
		if (conflicts->nr > 1)
			qsort(conflicts->v, conflicts->nr,
			      sizeof(*conflicts->v), str_cmp);
		strbuf_addf(err,
			    "%zu change%s cannot go onto the commit the "
			    "snapshot was taken from",
			    conflicts->nr, conflicts->nr == 1 ? "" : "s");
		ret = 1;
		goto out;
	}
	ret = o->dry_run ? 0 : make_commit(&j, commit, err);
out:
	free(top);
	free(ref);
	free(probe);
	free(j.prefix);
	for (size_t i = 0; i < j.nr_deleted; i++)
		free(j.deleted[i]);
	free(j.deleted);
	free(j.verify);
	free(j.changes_dir);
	tree_release(&j.base);
	strbuf_release(&listing);
	return ret;
}
