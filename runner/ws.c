#include "runner.h"
#include "ws.h"
#include "ws-ignore.h"
#include "fs.h"
#include "hash.h"
#include "hashcache.h"
#include "mask.h"
#include "ws-secrets.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

/*
 * Files that carry credentials by convention. They never go into a
 * sandbox and never come back from one, whatever .gitignore says.
 */
static const char *const always_excluded[] = {
	".env",
	".env.*",
	".envrc",
	"*.pem",
	"*.key",
	"*.p12",
	"*.pfx",
	"id_rsa*",
	"id_dsa*",
	"id_ecdsa*",
	"id_ed25519*",
	".aws/",
	".ssh/",
	".gnupg/",
	".netrc",
	".npmrc",
	".pypirc",
	".git-credentials",
	".docker/config.json",
	".kube/config",
};

struct ignore *ws_credentials_new(void)
{
	struct ignore *ig = ignore_new();

	for (size_t i = 0; i < ARRAY_SIZE(always_excluded); i++)
		ignore_add_pattern(ig, always_excluded[i]);
	return ig;
}

/*
 * Files found clean are recorded with the rules' version, so that new
 * rules scan cached files again.
 */
#define SCAN_RULES_VERSION SECRETS_RULES_VERSION

/* What one walk does besides filtering: caching, scanning, counting. */
struct walk_ctx {
	struct hashcache *cache;
	struct secret_findings *findings;
	struct ws_snapshot_stats *stats;
};

void ws_manifest_release(struct ws_manifest *m)
{
	for (size_t i = 0; i < m->nr; i++) {
		free(m->entries[i].path);
		free(m->entries[i].link);
	}
	free(m->entries);
	memset(m, 0, sizeof(*m));
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ws_entry *x = a, *y = b;
	return strcmp(x->path, y->path);
}

const struct ws_entry *ws_manifest_find(const struct ws_manifest *m,
					const char *path)
{
	struct ws_entry key = { .path = (char *)path };
	if (!m->nr)
		return NULL;
	return bsearch(&key, m->entries, m->nr, sizeof(*m->entries),
		       entry_cmp);
}

/* What the walker excludes: secrets, exclude patterns, .gitignore. */
struct walk_filter {
	struct ignore *secrets;
	struct ignore *exclude; /* NULL when there are none */
	struct ignore *gitignore;
	bool include_git;
};

static void filter_init(struct walk_filter *f, const struct strvec *exclude,
			bool include_git)
{
	f->secrets = ws_credentials_new();
	f->exclude = NULL;
	if (exclude && exclude->nr) {
		f->exclude = ignore_new();
		for (size_t i = 0; i < exclude->nr; i++)
			ignore_add_pattern(f->exclude, exclude->v[i]);
	}
	f->gitignore = ignore_new();
	f->include_git = include_git;
}

static void filter_release(struct walk_filter *f)
{
	ignore_free(f->secrets);
	ignore_free(f->exclude);
	ignore_free(f->gitignore);
}

static bool filter_drops(const struct walk_filter *f, const char *path,
			 const char *name, bool is_dir)
{
	if (is_dir && !f->include_git && !strcmp(name, ".git"))
		return true;
	if (ignore_match(f->secrets, path, is_dir))
		return true;
	if (f->exclude && ignore_match(f->exclude, path, is_dir))
		return true;
	return ignore_match(f->gitignore, path, is_dir) == 1;
}

/* Read dirfd/.gitignore (if a regular file) into the filter. */
static void filter_load_gitignore(struct walk_filter *f, int dirfd,
				  const char *base)
{
	struct strbuf sb;
	struct stat st;
	int fd = openat(dirfd, ".gitignore",
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		strbuf_init_capped(&sb, WS_GITIGNORE_MAX);
		if (strbuf_read_fd(&sb, fd) == 0)
			ignore_add_text(f->gitignore, base, sb.buf, sb.len);
		strbuf_release(&sb);
	}
	close(fd);
}

/*
 * One pull entry: a matcher of the pattern without its '!', and whether
 * it had one. Each is its own matcher because the entries decide in
 * order, the last one that matches a path or a directory above it
 * winning (gitignore's rule, where a file inside a matched directory
 * cannot be taken back, would make "!.claude/" after "**" a no-op).
 */
struct pull_rule {
	struct ignore *ig;
	bool negated;
};

/*
 * The pull-back filter: the walk filter with the plan's exclude patterns
 * and with .git always dropped, plus the pull rules and the secrets.
 */
struct ws_pull_filter {
	struct walk_filter walk;
	struct pull_rule *pull; /* NULL: everything */
	size_t nr_pull;
	const struct mask *secrets;
};

struct ws_pull_filter *ws_pull_filter_new(const struct ws_pull_opts *opts)
{
	struct ws_pull_filter *f = xcalloc(1, sizeof(*f));

	filter_init(&f->walk, opts ? opts->exclude : NULL, false);
	f->secrets = opts ? opts->secrets : NULL;
	if (opts && opts->pull && opts->pull->nr) {
		f->nr_pull = opts->pull->nr;
		f->pull = xcalloc(f->nr_pull, sizeof(*f->pull));
		for (size_t i = 0; i < f->nr_pull; i++) {
			const char *p = opts->pull->v[i];
			struct pull_rule *r = &f->pull[i];
			r->ig = ignore_new();
			r->negated = *p == '!';
			if (!r->negated) {
				ignore_add_pattern(r->ig, p);
			} else if (p[1] == '#') {
				/* "!#x" is x's negation, not a comment. */
				char *esc = xstrfmt("\\%s", p + 1);
				ignore_add_pattern(r->ig, esc);
				free(esc);
			} else {
				ignore_add_pattern(r->ig, p + 1);
			}
		}
	}
	return f;
}

void ws_pull_filter_free(struct ws_pull_filter *f)
{
	if (!f)
		return;
	filter_release(&f->walk);
	for (size_t i = 0; i < f->nr_pull; i++)
		ignore_free(f->pull[i].ig);
	free(f->pull);
	free(f);
}

void ws_pull_filter_add_gitignore(struct ws_pull_filter *f, const char *dir,
				  const char *text, size_t len)
{
	if (len <= WS_GITIGNORE_MAX)
		ignore_add_text(f->walk.gitignore, dir, text, len);
}

bool ws_pull_filter_drops(const struct ws_pull_filter *f, const char *path,
			  const char *name, bool is_dir)
{
	return filter_drops(&f->walk, path, name, is_dir);
}

bool ws_pull_filter_wants(const struct ws_pull_filter *f, const char *path)
{
	if (!f->pull)
		return true;
	for (size_t i = f->nr_pull; i-- > 0;)
		if (ignore_path_excluded(f->pull[i].ig, path, false) == 1)
			return !f->pull[i].negated;
	return false;
}

bool ws_pull_filter_refuse_name(const struct ws_pull_filter *f,
				struct ws_change *ch, const char *link,
				struct ws_changes *out)
{
	const char *in_name =
		mask_find(f->secrets, ch->path, strlen(ch->path));
	const char *in_link =
		link && !in_name ? mask_find(f->secrets, link, strlen(link))
				 : NULL;
	char *masked;

	if (!in_name && !in_link)
		return false;
	if (in_name) {
		/* "***" for the value keeps every component a name. */
		masked = mask_string(f->secrets, ch->path);
		free(ch->path);
		ch->path = ws_path_valid(masked) ? masked : xstrdup("***");
		if (ch->path != masked)
			free(masked);
	}
	free(ch->note);
	ch->note = xstrfmt("its %s contains the value of secret %s",
			   in_name ? "name" : "target",
			   in_name ? in_name : in_link);
	ch->secret = true;
	out->nr_refused++;
	return true;
}

static char *child_path(const char *dir, const char *name)
{
	return *dir ? xstrfmt("%s/%s", dir, name) : xstrdup(name);
}

/* Names of a directory, sorted, so walks are deterministic. */
static int read_names(int dirfd, struct strvec *names)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strvec_push(names, de->d_name);
	}
	closedir(d);
	return 0;
}

/*
 * The hash of a regular file: from the cache when its key is unchanged
 * (and, when scanning, it was scanned clean before), else read once for
 * both the hash and the scan.
 */
static int hash_file(struct walk_ctx *w, int dirfd, const char *name,
		     const char *path, const struct stat *st,
		     unsigned char sha[32], struct strbuf *err)
{
	int64_t mtime =
		(int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	int scanned = 0, fd, found = 0;

	if (w->stats) {
		w->stats->files++;
		w->stats->bytes += (uint64_t)st->st_size;
	}
	if (w->cache &&
	    hashcache_lookup(w->cache, path, (uint64_t)st->st_size, mtime,
			     (uint64_t)st->st_ino, sha, &scanned) &&
	    (!w->findings || scanned == SCAN_RULES_VERSION))
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || sha256_fd(fd, sha) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (w->stats) {
		w->stats->hashed_files++;
		w->stats->hashed_bytes += (uint64_t)st->st_size;
	}
	if (w->findings) {
		if (lseek(fd, 0, SEEK_SET) < 0 ||
		    (found = secrets_scan_fd(fd, path, SECRETS_SCAN_MAX_BYTES,
					     w->findings, err)) < 0) {
			close(fd);
			return -1;
		}
		if (w->stats)
			w->stats->scanned_files++;
	}
	close(fd);
	if (w->cache)
		hashcache_put(w->cache, path, (uint64_t)st->st_size, mtime,
			      (uint64_t)st->st_ino, sha,
			      w->findings && !found ? SCAN_RULES_VERSION
						    : scanned);
	return 0;
}

static int add_entry(struct ws_manifest *m, struct walk_ctx *w, int dirfd,
		     const char *name, char *path, const struct stat *st,
		     struct strbuf *err)
{
	struct ws_entry *e;
	ALLOC_GROW(m->entries, m->nr + 1, m->alloc);
	e = &m->entries[m->nr];
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->mode = st->st_mode & 07777;
	e->mtime_ns =
		(int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	if (S_ISDIR(st->st_mode)) {
		e->type = WS_DIR;
	} else if (S_ISLNK(st->st_mode)) {
		char buf[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
		if (n < 0) {
			strbuf_addf(err, "cannot read link '%s': %s", path,
				    strerror(errno));
			free(path);
			return -1;
		}
		e->type = WS_LINK;
		e->link = xstrndup(buf, (size_t)n);
		e->size = (uint64_t)n;
	} else {
		e->type = WS_FILE;
		e->size = (uint64_t)st->st_size;
		m->total_bytes += e->size;
		if (hash_file(w, dirfd, name, path, st, e->sha256, err) < 0) {
			free(path);
			return -1;
		}
	}
	m->nr++;
	return 0;
}

static int snapshot_dir(int dirfd, const char *dir, struct walk_filter *f,
			struct walk_ctx *w, struct ws_manifest *m,
			struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	int ret = 0;

	filter_load_gitignore(f, dirfd, dir);
	if (read_names(dirfd, &names) < 0) {
		strbuf_addf(err, "cannot read directory '%s': %s",
			    *dir ? dir : ".", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names.nr && !ret; i++) {
		const char *name = names.v[i];
		char *path = child_path(dir, name);
		struct stat st;
		int sub;

		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			strbuf_addf(err, "cannot stat '%s': %s", path,
				    strerror(errno));
			free(path);
			ret = -1;
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
		    !S_ISLNK(st.st_mode)) {
			free(path); /* sockets, fifos, devices stay home */
			continue;
		}
		if (filter_drops(f, path, name, S_ISDIR(st.st_mode))) {
			free(path);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			ret = add_entry(m, w, dirfd, name, path, &st, err);
			continue;
		}
		sub = openat(dirfd, name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			strbuf_addf(err, "cannot open directory '%s': %s",
				    path, strerror(errno));
			free(path);
			ret = -1;
			break;
		}
		ret = add_entry(m, w, dirfd, name, path, &st, err);
		if (!ret)
			ret = snapshot_dir(sub, m->entries[m->nr - 1].path, f,
					   w, m, err);
		close(sub);
	}
	strvec_clear(&names);
	return ret;
}

int ws_snapshot(const char *root, const struct ws_snapshot_opts *opts,
		struct ws_manifest *m, struct strbuf *err)
{
	return ws_snapshot_stats(root, opts, m, NULL, err);
}

int ws_snapshot_stats(const char *root, const struct ws_snapshot_opts *opts,
		      struct ws_manifest *m, struct ws_snapshot_stats *stats,
		      struct strbuf *err)
{
	struct walk_filter f;
	struct walk_ctx w = { opts ? opts->cache : NULL,
			      opts ? opts->findings : NULL, stats };
	int fd, ret;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(err, "cannot open workspace '%s': %s", root,
			    strerror(errno));
		return -1;
	}
	filter_init(&f, opts ? opts->exclude : NULL,
		    opts ? opts->include_git : false);
	ret = snapshot_dir(fd, "", &f, &w, m, err);
	filter_release(&f);
	close(fd);
	if (ret < 0) {
		ws_manifest_release(m);
		return -1;
	}
	if (m->nr)
		qsort(m->entries, m->nr, sizeof(*m->entries), entry_cmp);
	return 0;
}

/*
 * The copy is checked against the manifest as it is made: a source file
 * whose type, size or mtime moved since the snapshot (someone edited the
 * workspace meanwhile) would not be the tree the manifest describes.
 */
static bool same_as_snapshot(int fd, const struct ws_entry *e)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == e->size &&
	       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
		       e->mtime_ns;
}

static bool copied_size_is(int fd, uint64_t size)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (uint64_t)st.st_size == size;
}

int ws_copy_tree(const struct ws_manifest *m, const char *src_root,
		 const char *dst_root, struct strbuf *err)
{
	return ws_copy_tree_ex(m, src_root, dst_root, NULL, NULL, err);
}

void ws_stamps_release(struct ws_stamps *s)
{
	free(s->ino);
	free(s->ctime_ns);
	memset(s, 0, sizeof(*s));
}

/* Give path to the copy's owner and stamp entry i. */
static int own_and_stamp(const char *dst, size_t i,
			 const struct ws_copy_opts *opts,
			 struct ws_stamps *stamps, struct strbuf *err)
{
	struct stat st;
	if (opts && opts->chown &&
	    fchownat(AT_FDCWD, dst, opts->uid, opts->gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		strbuf_addf(err, "cannot chown '%s': %s", dst,
			    strerror(errno));
		return -1;
	}
	if (stamps && lstat(dst, &st) == 0) {
		stamps->ino[i] = (uint64_t)st.st_ino;
		stamps->ctime_ns[i] = (int64_t)st.st_ctim.tv_sec * 1000000000 +
				      st.st_ctim.tv_nsec;
	}
	return 0;
}

int ws_copy_tree_ex(const struct ws_manifest *m, const char *src_root,
		    const char *dst_root, const struct ws_copy_opts *opts,
		    struct ws_stamps *stamps, struct strbuf *err)
{
	int ret = 0;

	if (stamps) {
		stamps->nr = m->nr;
		stamps->ino = xcalloc(m->nr ? m->nr : 1, sizeof(*stamps->ino));
		stamps->ctime_ns =
			xcalloc(m->nr ? m->nr : 1, sizeof(*stamps->ctime_ns));
	}
	for (size_t i = 0; i < m->nr && !ret; i++) {
		const struct ws_entry *e = &m->entries[i];
		char *src = fs_join(src_root, e->path);
		char *dst = fs_join(dst_root, e->path);
		int in = -1, out = -1;

		switch (e->type) {
		case WS_DIR:
			if (mkdir(dst, 0700) < 0 && errno != EEXIST) {
				strbuf_addf(err, "cannot create '%s': %s", dst,
					    strerror(errno));
				ret = -1;
			}
			break;
		case WS_LINK:
			if (symlink(e->link, dst) < 0) {
				strbuf_addf(err, "cannot create '%s': %s", dst,
					    strerror(errno));
				ret = -1;
			}
			break;
		case WS_FILE:
			in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (in < 0) {
				strbuf_addf(err, "cannot read '%s': %s", src,
					    strerror(errno));
				ret = -1;
				break;
			}
			if (!same_as_snapshot(in, e)) {
				strbuf_addf(err,
					    "'%s' changed after the "
					    "snapshot was taken; run again",
					    e->path);
				ret = -1;
				break;
			}
			out = open(dst,
				   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				   e->mode & 0777);
			if (out < 0 || fs_copy_sparse(in, out) < 0 ||
			    fchmod(out, e->mode & 0777) < 0) {
				strbuf_addf(err,
					    "cannot copy '%s' to '%s': %s",
					    src, dst, strerror(errno));
				ret = -1;
			} else if (!copied_size_is(out, e->size)) {
				strbuf_addf(err,
					    "'%s' changed while it was "
					    "copied; run again",
					    e->path);
				ret = -1;
			}
			break;
		}
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) < 0 && !ret) {
			strbuf_addf(err, "cannot write '%s': %s", dst,
				    strerror(errno));
			ret = -1;
		}
		if (!ret && e->type != WS_DIR)
			ret = own_and_stamp(dst, i, opts, NULL, err);
		free(src);
		free(dst);
	}
	/* Directories last, so that read-only ones could be filled. */
	for (size_t i = m->nr; i-- > 0 && !ret;) {
		const struct ws_entry *e = &m->entries[i];
		char *dst;
		if (e->type != WS_DIR)
			continue;
		dst = fs_join(dst_root, e->path);
		if (chmod(dst, (e->mode & 0777) | 0700) < 0) {
			strbuf_addf(err, "cannot chmod '%s': %s", dst,
				    strerror(errno));
			ret = -1;
		}
		if (!ret)
			ret = own_and_stamp(dst, i, opts, NULL, err);
		free(dst);
	}
	/* Stamps last: a chown or chmod moves ctime. */
	for (size_t i = 0; stamps && i < m->nr && !ret; i++) {
		char *dst = fs_join(dst_root, m->entries[i].path);
		own_and_stamp(dst, i, NULL, stamps, err);
		free(dst);
	}
	return ret;
}

void ws_changes_release(struct ws_changes *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		free(c->items[i].path);
		free(c->items[i].note);
	}
	free(c->items);
	memset(c, 0, sizeof(*c));
}

struct ws_change *ws_changes_add(struct ws_changes *c, const char *path,
				 char kind, enum ws_type type)
{
	struct ws_change *ch;
	ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	ch = &c->items[c->nr++];
	memset(ch, 0, sizeof(*ch));
	ch->path = xstrdup(path);
	ch->kind = kind;
	ch->type = type;
	return ch;
}

static int change_cmp(const void *a, const void *b)
{
	const struct ws_change *x = a, *y = b;
	return strcmp(x->path, y->path);
}

void ws_changes_sort(struct ws_changes *c)
{
	if (c->nr)
		qsort(c->items, c->nr, sizeof(*c->items), change_cmp);
}

bool ws_path_valid(const char *path)
{
	const char *c = path;

	if (!*path || *path == '/')
		return false;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (!n || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false;
	}
	return true;
}

/*
 * True when a link stored at path with this target would resolve inside
 * the workspace, judged lexically (we never resolve it).
 */
bool ws_link_stays_inside(const char *path, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/' || !*target)
		return false;
	for (p = path; *p; p++)
		if (*p == '/')
			depth++;
	p = target;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return false;
		} else if (len && !(len == 1 && *p == '.')) {
			depth++;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return true;
}

struct diff_ctx {
	const struct ws_manifest *base;
	const struct ws_pull_opts *opts;
	struct ws_pull_filter *filter;
	unsigned char *seen; /* per base entry */
	struct ws_changes *out;
	int dest_fd;
	struct strbuf *err;
};

void ws_change_unwritten(struct ws_changes *out, struct ws_change *ch,
			 int errnum, struct strbuf *err)
{
	free(ch->note);
	ch->note = xstrfmt("could not be written into the results: %s",
			   strerror(errnum));
	if (!out->nr_unwritten++)
		strbuf_addf(err, "cannot write '%s' into results: %s",
			    ch->path, strerror(errnum));
}

void ws_changes_unwritten_done(const struct ws_changes *out,
			       struct strbuf *err)
{
	if (out->nr_unwritten > 1)
		strbuf_addf(err,
			    " (%zu changes could not be written, each "
			    "noted in changes.json)",
			    out->nr_unwritten);
}

int ws_open_parent(int root_fd, const char *path, const char **base,
		   bool create)
{
	char *copy = xstrdup(path);
	char *comp = copy, *slash;
	int fd = dup(root_fd);

	while (fd >= 0 && (slash = strchr(comp, '/'))) {
		int next;
		*slash = '\0';
		if (create && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			close(fd);
			fd = -1;
			break;
		}
		next = openat(fd, comp,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		comp = slash + 1;
	}
	*base = path + (comp - copy);
	free(copy);
	return fd;
}

/* changes/ is made when the first file comes back, not before. */
static int dest_fd(struct diff_ctx *d)
{
	struct strbuf ignored = STRBUF_INIT;
	if (d->dest_fd >= 0)
		return d->dest_fd;
	if (fs_mkdir_p(d->opts->dest, 0755, &ignored) == 0)
		d->dest_fd = open(d->opts->dest,
				  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	strbuf_release(&ignored);
	return d->dest_fd;
}

int ws_pulled_open(struct ws_pulled *f, int dest_fd, const char *path,
		   const struct mask *secrets)
{
	f->secret = NULL;
	f->scan = secrets ? mask_scan_new(secrets) : NULL;
	f->pfd = ws_open_parent(dest_fd, path, &f->base, true);
	if (f->pfd < 0)
		return -1;
	f->fd = openat(f->pfd, f->base,
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (f->fd < 0)
		return -1;
	f->sha = sha256_new();
	f->size = 0;
	return 0;
}

int ws_pulled_write(struct ws_pulled *f, const void *buf, size_t len)
{
	/* Looked at before a byte of it reaches the results. */
	if (f->scan && (f->secret = mask_scan_feed(f->scan, buf, len))) {
		errno = EACCES;
		return -1;
	}
	sha256_update(f->sha, buf, len);
	if (fs_write_all(f->fd, buf, len) < 0)
		return -1;
	f->size += len;
	return 0;
}

int ws_pulled_skip(struct ws_pulled *f, uint64_t len)
{
	if (len > (uint64_t)INT64_MAX - f->size) {
		errno = EFBIG;
		return -1;
	}
	sha256_update_zeros(f->sha, len);
	if (f->scan && len)
		mask_scan_break(f->scan);
	if (lseek(f->fd, (off_t)len, SEEK_CUR) < 0)
		return -1;
	f->size += len;
	return 0;
}

bool ws_pulled_refuse_secret(struct ws_pulled *f, struct ws_change *ch,
			     struct ws_changes *out)
{
	if (!f->secret)
		return false;
	ws_pulled_discard(f);
	free(ch->note);
	ch->note = xstrfmt("contains the value of secret %s", f->secret);
	ch->secret = true;
	out->nr_refused++;
	return true;
}

void ws_pulled_discard(struct ws_pulled *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->pfd >= 0)
		unlinkat(f->pfd, f->base, 0);
}

int ws_pulled_finish(struct ws_pulled *f, bool executable,
		     unsigned char sha256[32])
{
	int fd = f->fd, ret;

	fchmod(fd, executable ? 0755 : 0644);
	sha256_final(f->sha, sha256);
	f->sha = NULL;
	f->fd = -1;
	/* A hole at the end was only skipped over: give the file its size. */
	ret = ftruncate(fd, (off_t)f->size);
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

void ws_pulled_release(struct ws_pulled *f)
{
	if (f->sha) {
		unsigned char ignored[32];
		sha256_final(f->sha, ignored);
		f->sha = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	if (f->pfd >= 0)
		close(f->pfd);
	f->fd = f->pfd = -1;
	mask_scan_free(f->scan);
	f->scan = NULL;
}

/* One file being pulled: its data and holes count against pull_limit. */
struct pull_ctx {
	struct diff_ctx *d;
	struct ws_pulled *f;
	bool over; /* it grew past pull_limit while we read it */
};

static bool pull_fits(struct pull_ctx *p, uint64_t len)
{
	const struct ws_pull_opts *o = p->d->opts;
	if (o->pull_limit && p->d->out->bytes_pulled + len > o->pull_limit) {
		p->over = true;
		errno = EFBIG;
		return false;
	}
	p->d->out->bytes_pulled += len;
	return true;
}

static int pull_data(void *ctx, const void *buf, size_t len)
{
	struct pull_ctx *p = ctx;
	if (!pull_fits(p, len))
		return -1;
	return ws_pulled_write(p->f, buf, len);
}

static int pull_hole(void *ctx, uint64_t len)
{
	struct pull_ctx *p = ctx;
	if (!pull_fits(p, len))
		return -1;
	return ws_pulled_skip(p->f, len);
}

static int pull_file(struct diff_ctx *d, int dirfd, const char *name,
		     struct ws_change *ch)
{
	struct ws_pulled f = WS_PULLED_INIT;
	struct pull_ctx p = { .d = d, .f = &f };
	uint64_t before = d->out->bytes_pulled;
	int in = -1, ret = 0;
	bool created = false;
	struct stat st;

	in = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		ch->note = xstrdup("could not be read safely");
		d->out->nr_refused++;
		goto out;
	}
	if (d->opts->pull_limit &&
	    d->out->bytes_pulled + (uint64_t)st.st_size >
		    d->opts->pull_limit) {
		ch->note = xstrdup("over pull_limit");
		d->out->nr_refused++;
		goto out;
	}
	if (dest_fd(d) < 0 ||
	    ws_pulled_open(&f, d->dest_fd, ch->path, d->opts->secrets) < 0)
		goto fail;
	created = true;
	/* Holes stay holes: a sparse file comes back as small as it is. */
	if (fs_read_sparse(in, pull_data, pull_hole, &p) < 0) {
		if (ws_pulled_refuse_secret(&f, ch, d->out)) {
			d->out->bytes_pulled = before;
			goto out;
		}
		if (!p.over)
			goto fail;
		/* It grew while we read it: refuse, keep nothing. */
		ws_pulled_discard(&f);
		d->out->bytes_pulled = before;
		ch->note = xstrdup("over pull_limit");
		d->out->nr_refused++;
		goto out;
	}
	if (ws_pulled_finish(&f, st.st_mode & 0111, ch->sha256) < 0)
		goto fail;
	ch->pulled = true;
	goto out;
fail:
	ret = errno;
	/* What did fit goes: part of a file is not what the task wrote. */
	if (created && f.fd >= 0)
		ws_pulled_discard(&f);
	else if (created)
		unlinkat(f.pfd, f.base, 0);
	memset(ch->sha256, 0, sizeof(ch->sha256));
	d->out->bytes_pulled = before;
	ws_change_unwritten(d->out, ch, ret, d->err);
	ret = 0;
out:
	if (in >= 0)
		close(in);
	ws_pulled_release(&f);
	return ret;
}

int ws_put_link(int dest_fd, const char *target, struct ws_change *ch,
		struct ws_changes *out, struct strbuf *err)
{
	const char *base;
	int pfd;

	if (!ws_link_stays_inside(ch->path, target)) {
		ch->note = xstrdup("symlink points outside the workspace");
		out->nr_refused++;
		return 0;
	}
	pfd = dest_fd < 0 ? -1
			  : ws_open_parent(dest_fd, ch->path, &base, true);
	if (pfd < 0 || symlinkat(target, pfd, base) < 0) {
		int e = errno;
		strbuf_addf(err, "cannot write '%s' into results: %s",
			    ch->path, strerror(e));
		if (pfd >= 0)
			close(pfd);
		errno = e;
		return -1;
	}
	close(pfd);
	ch->pulled = true;
	return 0;
}

static int pull_link(struct diff_ctx *d, const char *target,
		     struct ws_change *ch)
{
	/* Only a link that will be kept needs changes/ to exist. */
	int fd = ws_link_stays_inside(ch->path, target) ? dest_fd(d) : -1;
	struct strbuf ignored = STRBUF_INIT;

	if (ws_put_link(fd, target, ch, d->out, &ignored) < 0)
		ws_change_unwritten(d->out, ch, errno, d->err);
	strbuf_release(&ignored);
	return 0;
}

/* Same inode and ctime as right after the copy: the task never touched it. */
static bool unchanged_since_copy(const struct diff_ctx *d,
				 const struct ws_entry *e,
				 const struct stat *st)
{
	const struct ws_stamps *sp = d->opts->stamps;
	size_t i = (size_t)(e - d->base->entries);
	int64_t ctime =
		(int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	return sp && i < sp->nr && sp->ino[i] &&
	       sp->ino[i] == (uint64_t)st->st_ino && sp->ctime_ns[i] == ctime;
}

/* M and D carry the snapshot's hash: what `runner apply` checks against. */
void ws_change_set_base(struct ws_change *ch, const struct ws_entry *e)
{
	if (!e)
		return;
	ch->has_base = true;
	if (e->type == WS_LINK)
		sha256_buf(e->link, strlen(e->link), ch->base_sha256);
	else
		memcpy(ch->base_sha256, e->sha256, 32);
}

static int diff_entry(struct diff_ctx *d, int dirfd, const char *name,
		      const char *path, const struct stat *st)
{
	const struct ws_entry *e = ws_manifest_find(d->base, path);
	struct ws_change *ch;
	char target[PATH_MAX];
	ssize_t tlen = 0;
	unsigned char sum[32];

	if (d->out->nr >= WS_MAX_CHANGES) {
		d->out->truncated = true;
		return 0;
	}
	/* A directory replaced by a file: the file is new. */
	if (e && e->type == WS_DIR)
		e = NULL;
	if (e)
		d->seen[e - d->base->entries] = 1;
	if (S_ISLNK(st->st_mode)) {
		tlen = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (tlen < 0)
			tlen = 0;
		target[tlen] = '\0';
		if (e && e->type == WS_LINK && !strcmp(e->link, target))
			return 0;
		ch = ws_changes_add(d->out, path, e ? 'M' : 'A', WS_LINK);
		ws_change_set_base(ch, e);
		ch->size = (uint64_t)tlen;
		sha256_buf(target, (size_t)tlen, ch->sha256);
		if (ws_pull_filter_refuse_name(d->filter, ch, target, d->out))
			return 0;
		if (!ws_pull_filter_wants(d->filter, path))
			return 0;
		return pull_link(d, target, ch);
	}
	if (!S_ISREG(st->st_mode)) {
		const char *what = S_ISFIFO(st->st_mode)   ? "fifo"
				   : S_ISSOCK(st->st_mode) ? "socket"
				   : S_ISCHR(st->st_mode)  ? "character device"
				   : S_ISBLK(st->st_mode)  ? "block device"
							   : "special file";
		ch = ws_changes_add(d->out, path, e ? 'M' : 'A', WS_FILE);
		ws_change_set_base(ch, e);
		if (ws_pull_filter_refuse_name(d->filter, ch, NULL, d->out))
			return 0;
		ch->note = xstrfmt("%s refused", what);
		d->out->nr_refused++;
		return 0;
	}
	if (e && e->type == WS_FILE && e->size == (uint64_t)st->st_size &&
	    unchanged_since_copy(d, e, st))
		return 0;
	if (e && e->type == WS_FILE && e->size == (uint64_t)st->st_size) {
		int fd =
			openat(dirfd, name,
			       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		int same = 0;
		if (fd >= 0) {
			same = sha256_fd(fd, sum) == 0 &&
			       !memcmp(sum, e->sha256, 32);
			close(fd);
		}
		if (same)
			return 0;
	}
	ch = ws_changes_add(d->out, path, e ? 'M' : 'A', WS_FILE);
	ws_change_set_base(ch, e);
	ch->size = (uint64_t)st->st_size;
	if (ws_pull_filter_refuse_name(d->filter, ch, NULL, d->out))
		return 0;
	if (!ws_pull_filter_wants(d->filter, path)) {
		ch->note = xstrdup("not matched by pull");
		return 0;
	}
	return pull_file(d, dirfd, name, ch);
}

static int diff_dir(struct diff_ctx *d, int dirfd, const char *dir)
{
	struct strvec names = STRVEC_INIT;
	int ret = 0;

	filter_load_gitignore(&d->filter->walk, dirfd, dir);
	if (read_names(dirfd, &names) < 0) {
		strbuf_addf(d->err, "cannot read sandbox directory '%s': %s",
			    *dir ? dir : ".", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names.nr && !ret; i++) {
		const char *name = names.v[i];
		char *path = child_path(dir, name);
		struct stat st;

		/*
		 * What the snapshot sent is always compared; the filter (fed
		 * by the sandbox's own .gitignore files) only keeps new
		 * ignored files such as build output from coming back.
		 */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!ws_manifest_find(d->base, path) &&
		     ws_pull_filter_drops(d->filter, path, name,
					  S_ISDIR(st.st_mode)))) {
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			const struct ws_entry *e =
				ws_manifest_find(d->base, path);
			int sub = openat(dirfd, name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			/* A file replaced by a directory is deleted. */
			if (e && e->type == WS_DIR)
				d->seen[e - d->base->entries] = 1;
			if (sub >= 0) {
				ret = diff_dir(d, sub, path);
				close(sub);
			}
		} else {
			ret = diff_entry(d, dirfd, name, path, &st);
		}
		free(path);
	}
	strvec_clear(&names);
	return ret;
}

int ws_diff(const struct ws_manifest *base, const char *tree,
	    const struct ws_pull_opts *opts, struct ws_changes *out,
	    struct strbuf *err)
{
	struct diff_ctx d = { .base = base,
			      .opts = opts,
			      .out = out,
			      .dest_fd = -1,
			      .err = err };
	int tree_fd = -1, ret = -1;

	out->nr_unwritten = 0;
	d.filter = ws_pull_filter_new(opts);
	d.seen = xcalloc(base->nr ? base->nr : 1, 1);
	tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tree_fd < 0) {
		strbuf_addf(err, "cannot open '%s': %s", tree,
			    strerror(errno));
		goto out;
	}
	if (diff_dir(&d, tree_fd, "") < 0)
		goto out;
	for (size_t i = 0; i < base->nr; i++) {
		const struct ws_entry *e = &base->entries[i];
		if (!d.seen[i] && e->type != WS_DIR &&
		    out->nr >= WS_MAX_CHANGES) {
			out->truncated = true;
			break;
		}
		if (!d.seen[i] && e->type != WS_DIR) {
			struct ws_change *ch =
				ws_changes_add(out, e->path, 'D', e->type);
			ws_change_set_base(ch, e);
			memcpy(ch->sha256, ch->base_sha256, 32);
		}
	}
	ws_changes_sort(out);
	ws_changes_unwritten_done(out, err);
	ret = out->nr_unwritten ? -1 : 0;
out:
	if (tree_fd >= 0)
		close(tree_fd);
	if (d.dest_fd >= 0)
		close(d.dest_fd);
	free(d.seen);
	ws_pull_filter_free(d.filter);
	return ret;
}
