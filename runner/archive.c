#include "runner.h"
#include "archive.h" /* runner's, and libarchive's through it */
#include <archive_entry.h>
#include "fs.h"
#include "hash.h"
#include "quote.h"
#include "store.h"
#include "store-runs.h"

#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define IO_CHUNK 65536

/* The prefixes of SHA256SUMS lines for what is not a regular file. */
#define SUMS_LINK "#symlink "
#define SUMS_DIR "#dir "

int archive_path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x && *x == *y)
		x++, y++;
	return (*x > *y) - (*x < *y);
}

static int cmp_strp(const void *a, const void *b)
{
	return archive_path_cmp(*(const char *const *)a,
				*(const char *const *)b);
}

void archive_sort_paths(struct strvec *sv)
{
	if (sv->nr > 1)
		qsort(sv->v, sv->nr, sizeof(*sv->v), cmp_strp);
}

mode_t archive_norm_perm(mode_t st_mode)
{
	if (S_ISDIR(st_mode))
		return 0755;
	if (S_ISLNK(st_mode))
		return 0777;
	if (S_ISREG(st_mode))
		return (st_mode & 0111) ? 0755 : 0644;
	return 0;
}

/*
 * Names come from untrusted archives and task output: show them with
 * control bytes and backslashes escaped so that one name is one line
 * (quote.h, the one rule every printer follows).
 */
static void add_shown(struct strbuf *sb, const char *s)
{
	quote_text(sb, s, strlen(s), QUOTE_C_STYLE);
}

static int path_fail(const char *path, const char *why, struct strbuf *err)
{
	strbuf_addstr(err, "unsafe path '");
	add_shown(err, path);
	strbuf_addf(err, "': %s", why);
	return -1;
}

int archive_path_check(const char *path, struct strbuf *err)
{
	size_t len = strlen(path);

	if (!len)
		return path_fail(path, "empty", err);
	if (path[0] == '/')
		return path_fail(path, "absolute", err);
	if (path[len - 1] == '/')
		len--;
	for (size_t i = 0;;) {
		size_t n = 0;
		while (i + n < len && path[i + n] != '/')
			n++;
		if (!n)
			return path_fail(path, "empty component", err);
		if (n == 2 && path[i] == '.' && path[i + 1] == '.')
			return path_fail(path, "'..' component", err);
		if (n == 1 && path[i] == '.')
			return path_fail(path, "'.' component", err);
		i += n;
		if (i >= len)
			break;
		i++;
	}
	return 0;
}

void archive_sums_add(struct strbuf *sb, const unsigned char sum[32],
		      const char *path)
{
	char hex[65];
	int esc = strpbrk(path, "\\\n\r") != NULL;

	sha256_hex(sum, hex);
	if (esc)
		strbuf_addch(sb, '\\');
	strbuf_addstr(sb, hex);
	strbuf_addstr(sb, "  ");
	for (const char *p = path; *p; p++) {
		if (esc && *p == '\\')
			strbuf_addstr(sb, "\\\\");
		else if (esc && *p == '\n')
			strbuf_addstr(sb, "\\n");
		else if (esc && *p == '\r')
			strbuf_addstr(sb, "\\r");
		else
			strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '\n');
}

void archive_sums_add_entry(struct strbuf *sb, mode_t type,
			    const unsigned char sum[32], const char *path)
{
	if (S_ISLNK(type))
		strbuf_addstr(sb, SUMS_LINK);
	else if (S_ISDIR(type))
		strbuf_addstr(sb, SUMS_DIR);
	archive_sums_add(sb, sum, path);
}

int archive_sums_parse_entry(const char *line, size_t len, mode_t *type,
			     unsigned char sum[32], struct strbuf *path)
{
	static const struct {
		const char *prefix;
		mode_t type;
	} kinds[] = { { SUMS_LINK, S_IFLNK }, { SUMS_DIR, S_IFDIR } };

	if (!len || line[0] != '#') {
		*type = S_IFREG;
		return archive_sums_parse_line(line, len, sum, path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n = strlen(kinds[i].prefix);
		if (len >= n && !memcmp(line, kinds[i].prefix, n)) {
			*type = kinds[i].type;
			return archive_sums_parse_line(line + n, len - n, sum,
						       path);
		}
	}
	return 1;
}

int archive_sums_parse_line(const char *line, size_t len,
			    unsigned char sum[32], struct strbuf *path)
{
	size_t i = 0;
	int esc = 0;

	strbuf_reset(path);
	if (len && line[0] == '\\')
		esc = 1, i = 1;
	if (len < i + 64 + 3)
		return -1;
	if (sha256_parse_hex(line + i, sum) < 0)
		return -1;
	i += 64;
	if (line[i] != ' ' || (line[i + 1] != ' ' && line[i + 1] != '*'))
		return -1;
	for (i += 2; i < len; i++) {
		char c = line[i];
		if (c == '\0' || c == '\n')
			return -1;
		if (esc && c == '\\') {
			if (++i == len)
				return -1;
			switch (line[i]) {
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			default:
				return -1;
			}
		}
		strbuf_addch(path, c);
	}
	return 0;
}

int archive_source_date_epoch(const char *value, int64_t *out,
			      struct strbuf *err)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = (value[0] >= '0' && value[0] <= '9') ? strtoll(value, &end, 10)
						 : -1;
	if (v < 0 || errno || *end) {
		strbuf_addf(err,
			    "SOURCE_DATE_EPOCH must be a number of seconds "
			    "since 1970-01-01, not '%s'",
			    value);
		return -1;
	}
	*out = v;
	return 0;
}

/* db.json */

struct col_order {
	const char *name;
	int idx;
};

static int cmp_col(const void *a, const void *b)
{
	return archive_path_cmp(((const struct col_order *)a)->name,
				((const struct col_order *)b)->name);
}

static cJSON *column_json(const struct store_value *v)
{
	char num[32];

	switch (v->type) {
	case STORE_VALUE_INT:
		/* Raw, not a double: times and sizes stay exact. */
		snprintf(num, sizeof(num), "%" PRId64, v->i);
		return cJSON_CreateRaw(num);
	case STORE_VALUE_FLOAT:
		return cJSON_CreateNumber(v->f);
	case STORE_VALUE_TEXT:
		/* Valid UTF-8 always; row_json adds the exact bytes. */
		return quote_json_text(v->text);
	case STORE_VALUE_BLOB: {
		struct strbuf hex = STRBUF_INIT;
		cJSON *j;
		for (size_t k = 0; k < v->len; k++)
			strbuf_addf(&hex, "%02x", v->blob[k]);
		j = cJSON_CreateString(hex.buf);
		strbuf_release(&hex);
		return j;
	}
	default:
		return cJSON_CreateNull();
	}
}

/* A row as an object with its keys sorted. */
static cJSON *row_json(const struct store_value *v, int n)
{
	struct col_order *cols = xcalloc((size_t)n + 1, sizeof(*cols));
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < n; i++) {
		cols[i].name = v[i].name;
		cols[i].idx = i;
	}
	qsort(cols, (size_t)n, sizeof(*cols), cmp_col);
	for (int i = 0; o && i < n; i++) {
		const struct store_value *c = &v[cols[i].idx];
		cJSON *j = column_json(c);
		const char *text;
		if (!j || !cJSON_AddItemToObject(o, cols[i].name, j)) {
			cJSON_Delete(j);
			cJSON_Delete(o);
			o = NULL;
			break;
		}
		/*
		 * Text that is not UTF-8 (a message quoting a file name):
		 * NAME_b64 next to it holds the bytes (schema/, quote.h).
		 */
		text = c->type == STORE_VALUE_TEXT ? c->text : NULL;
		if (text && !quote_utf8_valid(text, strlen(text))) {
			cJSON_DeleteItemFromObjectCaseSensitive(o,
								cols[i].name);
			quote_json_add_name(o, cols[i].name, text);
		}
	}
	free(cols);
	return o;
}

/* The rows of one part of db.json: an array, or the first row alone. */
struct rows {
	int one, nr;
	cJSON *arr, *row;
};

/* 1 when out of memory. */
static int add_row(const struct store_value *cols, int n, void *data)
{
	struct rows *r = data;
	cJSON *row;

	r->nr++;
	if (r->one) {
		if (r->row)
			return 0;
		return !(r->row = row_json(cols, n));
	}
	if (!(row = row_json(cols, n)))
		return 1;
	if (!cJSON_AddItemToArray(r->arr, row)) {
		cJSON_Delete(row);
		return 1;
	}
	return 0;
}

/*
 * Add the rows of which (of run_id) to parent under key: as an array,
 * or as one object when one is set (exactly one row wanted).
 */
static int add_rows(struct store *st, cJSON *parent, const char *key,
		    enum store_rows which, const char *run_id, int one,
		    struct strbuf *err)
{
	struct rows r = { one, 0, NULL, NULL };
	int rc, ret = -1;

	if (!one && !(r.arr = cJSON_CreateArray()))
		goto oom;
	rc = store_runs_rows(st, which, run_id, add_row, &r, err);
	if (rc > 0)
		goto oom;
	if (rc < 0)
		goto out;
	if (one && r.nr != 1) {
		strbuf_addf(err, "no run '%s' in the database", run_id);
		goto out;
	}
	if (!cJSON_AddItemToObject(parent, key, one ? r.row : r.arr))
		goto oom;
	r.row = r.arr = NULL;
	ret = 0;
	goto out;
oom:
	strbuf_addf(err, "out of memory building db.json");
out:
	cJSON_Delete(r.row);
	cJSON_Delete(r.arr);
	return ret;
}

int archive_db_json(struct store *st, const char *run_id, struct strbuf *out,
		    struct strbuf *err)
{
	/* Keys in bytewise order: cJSON prints them as added. */
	static const struct {
		const char *key;
		int rows; /* an enum store_rows, or -1 */
		int one;
	} parts[] = {
		{ "attempts", STORE_ROWS_ATTEMPTS, 0 },
		{ "events", STORE_ROWS_EVENTS, 0 },
		{ "run", STORE_ROWS_RUN, 1 },
		{ "schema_version", -1, 0 },
		{ "tasks", STORE_ROWS_TASKS, 0 },
	};
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	int ret = -1;

	if (!root)
		goto oom;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		cJSON *v;
		char num[32];
		int64_t version;
		if (parts[i].rows >= 0) {
			if (add_rows(st, root, parts[i].key,
				     (enum store_rows)parts[i].rows, run_id,
				     parts[i].one, err) < 0)
				goto out;
			continue;
		}
		if (store_schema_version(st, &version, err) < 0)
			goto out;
		snprintf(num, sizeof(num), "%" PRId64, version);
		v = cJSON_CreateRaw(num);
		if (!v || !cJSON_AddItemToObject(root, parts[i].key, v)) {
			cJSON_Delete(v);
			goto oom;
		}
	}
	if (!(text = cJSON_Print(root)))
		goto oom;
	strbuf_addstr(out, text);
	strbuf_addch(out, '\n');
	ret = 0;
	goto out;
oom:
	strbuf_addstr(err, "out of memory building db.json");
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return ret;
}

/* Writing */

struct pack_entry {
	char *rel;     /* path under the top directory */
	mode_t mode;   /* file type and normalised permissions */
	uint64_t size; /* regular files */
	char *link;    /* symlinks: the target */
	unsigned char sum[32];
	const struct strbuf *mem; /* db.json, SHA256SUMS: not on disk */
};

struct pack {
	const char *dir; /* the run folder */
	struct pack_entry *e;
	size_t nr, alloc;
	struct strvec *warnings;
	struct archive *a;
	char buf[IO_CHUNK];
};

struct out {
	int fd;
	int saved_errno; /* of the failed write, or 0 */
};

static struct pack_entry *pack_add(struct pack *pk, char *rel, mode_t mode)
{
	struct pack_entry *e;
	ALLOC_GROW(pk->e, pk->nr + 1, pk->alloc);
	e = &pk->e[pk->nr++];
	memset(e, 0, sizeof(*e));
	e->rel = rel;
	e->mode = mode;
	return e;
}

static int cmp_entry(const void *a, const void *b)
{
	return archive_path_cmp(((const struct pack_entry *)a)->rel,
				((const struct pack_entry *)b)->rel);
}

static const char *type_name(mode_t m)
{
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "of an unknown type";
}

/*
 * Open a file the walk saw as regular, without following a symlink or
 * blocking on a fifo that took its place.
 */
static int open_regular(const char *path, const char *rel, struct strbuf *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				    O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		strbuf_addf(err,
			    "'%s' in the run folder changed while it was "
			    "being archived",
			    rel);
		close(fd);
		return -1;
	}
	return fd;
}

static int hash_file(struct pack *pk, const char *path, struct pack_entry *e,
		     struct strbuf *err)
{
	struct sha256_ctx *h;
	int fd = open_regular(path, e->rel, err);

	if (fd < 0)
		return -1;
	h = sha256_new();
	for (;;) {
		ssize_t n = read(fd, pk->buf, sizeof(pk->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(errno));
			sha256_final(h, e->sum);
			close(fd);
			return -1;
		}
		if (!n)
			break;
		sha256_update(h, pk->buf, (size_t)n);
		e->size += (uint64_t)n;
	}
	sha256_final(h, e->sum);
	close(fd);
	return 0;
}

static char *read_link(const char *path, off_t hint, struct strbuf *err)
{
	size_t size = hint > 0 && hint < PATH_MAX ? (size_t)hint + 1 : 256;

	for (;;) {
		char *buf = xmalloc(size);
		ssize_t n = readlink(path, buf, size);
		if (n < 0) {
			strbuf_addf(err, "cannot read link '%s': %s", path,
				    strerror(errno));
			free(buf);
			return NULL;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			return buf;
		}
		free(buf);
		size *= 2;
	}
}

static int walk(struct pack *pk, const char *rel, struct strbuf *err);

/*
 * One name in the directory rel (NULL: the run folder): added to pk, or
 * skipped with a warning. Takes sub, the name under the run folder.
 */
static int walk_entry(struct pack *pk, const char *rel, char *sub,
		      struct strbuf *err)
{
	char *path = fs_join(pk->dir, sub);
	struct pack_entry *e;
	struct stat st;
	int r = 0;

	if (lstat(path, &st) < 0) {
		strbuf_addf(err, "cannot stat '%s': %s", path,
			    strerror(errno));
		free(sub);
		r = -1;
	} else if (!archive_norm_perm(st.st_mode)) {
		struct strbuf w = STRBUF_INIT;
		strbuf_addstr(&w, "skipping '");
		add_shown(&w, sub);
		strbuf_addf(&w,
			    "': %s (only regular files, "
			    "directories and symlinks are "
			    "archived)",
			    type_name(st.st_mode));
		strvec_push(pk->warnings, w.buf);
		strbuf_release(&w);
		free(sub);
	} else if (!rel &&
		   (!strcmp(sub, "db.json") || !strcmp(sub, "SHA256SUMS"))) {
		strbuf_addf(err,
			    "the run folder '%s' has a file '%s' of "
			    "its own; the archive makes that one",
			    pk->dir, sub);
		free(sub);
		r = -1;
	} else {
		mode_t type = st.st_mode & S_IFMT;
		e = pack_add(pk, sub, type | archive_norm_perm(st.st_mode));
		if (S_ISDIR(st.st_mode)) {
			/* Before walk(): it moves pk->e. */
			sha256_buf("", 0, e->sum);
			r = walk(pk, sub, err);
		} else if (S_ISREG(st.st_mode)) {
			r = hash_file(pk, path, e, err);
		} else if ((e->link = read_link(path, st.st_size, err))) {
			sha256_buf(e->link, strlen(e->link), e->sum);
		} else {
			r = -1;
		}
	}
	free(path);
	return r;
}

/* Collect the entries under pk->dir/rel (rel NULL: the folder itself). */
static int walk(struct pack *pk, const char *rel, struct strbuf *err)
{
	char *dirpath = rel ? fs_join(pk->dir, rel) : xstrdup(pk->dir);
	struct strvec names = STRVEC_INIT;
	DIR *d = opendir(dirpath);
	struct dirent *de;
	int ret = -1;

	if (!d) {
		strbuf_addf(err, "cannot read directory '%s': %s", dirpath,
			    strerror(errno));
		goto out;
	}
	/*
	 * Names first, then recurse with the directory closed: depth costs
	 * no file descriptors.
	 */
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
		errno = 0;
	}
	if (errno) {
		strbuf_addf(err, "cannot read directory '%s': %s", dirpath,
			    strerror(errno));
		goto out;
	}
	closedir(d);
	d = NULL;
	for (size_t i = 0; i < names.nr; i++) {
		char *sub = rel ? xstrfmt("%s/%s", rel, names.v[i])
				: xstrdup(names.v[i]);
		if (walk_entry(pk, rel, sub, err) < 0)
			goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	strvec_clear(&names);
	free(dirpath);
	return ret;
}

static la_ssize_t out_write(struct archive *a, void *data, const void *buf,
			    size_t len)
{
	struct out *o = data;

	(void)a;
	if (fs_write_all(o->fd, buf, len) < 0) {
		o->saved_errno = errno;
		return -1;
	}
	return (la_ssize_t)len;
}

/* The message for a failed libarchive write call. */
static int write_fail(struct pack *pk, const struct out *o, const char *out,
		      struct strbuf *err)
{
	if (o->saved_errno)
		strbuf_addf(err, "cannot write '%s': %s", out,
			    strerror(o->saved_errno));
	else
		strbuf_addf(err, "cannot write '%s': %s", out,
			    archive_error_string(pk->a)
				    ? archive_error_string(pk->a)
				    : "libarchive failed");
	return -1;
}

/*
 * A regular file's data from the run folder, checked against the sum
 * the walk took: a file that changed since is an error, not an archive
 * whose SHA256SUMS lies.
 */
static int write_file_data(struct pack *pk, const struct pack_entry *e,
			   const struct out *o, const char *out,
			   struct strbuf *err)
{
	char *path = fs_join(pk->dir, e->rel);
	struct sha256_ctx *h = NULL;
	unsigned char sum[32];
	uint64_t done = 0;
	int fd = -1, ret = -1;

	if ((fd = open_regular(path, e->rel, err)) < 0)
		goto out;
	h = sha256_new();
	for (;;) {
		ssize_t n = read(fd, pk->buf, sizeof(pk->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(errno));
			goto out;
		}
		if (!n)
			break;
		if ((uint64_t)n > e->size - done)
			break; /* grew: the sum check below says so */
		sha256_update(h, pk->buf, (size_t)n);
		done += (uint64_t)n;
		if (archive_write_data(pk->a, pk->buf, (size_t)n) != n) {
			write_fail(pk, o, out, err);
			goto out;
		}
	}
	sha256_final(h, sum);
	h = NULL;
	if (done != e->size || memcmp(sum, e->sum, 32)) {
		strbuf_addstr(err, "'");
		add_shown(err, e->rel);
		strbuf_addstr(err, "' in the run folder changed while it was "
				   "being archived; archive again");
		goto out;
	}
	ret = 0;
out:
	if (h)
		sha256_final(h, sum);
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* One entry's header, and its data for a regular file. */
static int write_entry(struct pack *pk, struct archive_entry *ae,
		       const char *top, const struct pack_entry *e,
		       int64_t mtime, const struct out *o, const char *out,
		       struct strbuf *err)
{
	char *name;
	int ret = -1;

	if (!e)
		name = xstrfmt("%s/", top);
	else if (S_ISDIR(e->mode))
		name = xstrfmt("%s/%s/", top, e->rel);
	else
		name = xstrfmt("%s/%s", top, e->rel);
	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, name);
	archive_entry_set_filetype(ae, e ? (e->mode & S_IFMT) : AE_IFDIR);
	archive_entry_set_perm(ae, e ? (e->mode & 07777) : 0755);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, (time_t)mtime, 0);
	archive_entry_set_size(ae, e && S_ISREG(e->mode) ? (la_int64_t)e->size
							 : 0);
	if (e && S_ISLNK(e->mode))
		archive_entry_copy_symlink(ae, e->link);
	if (archive_write_header(pk->a, ae) < ARCHIVE_WARN) {
		write_fail(pk, o, out, err);
		goto out;
	}
	if (!e || !S_ISREG(e->mode)) {
		ret = 0;
		goto out;
	}
	if (e->mem) {
		if (archive_write_data(pk->a, e->mem->buf, e->mem->len) !=
		    (la_ssize_t)e->mem->len) {
			write_fail(pk, o, out, err);
			goto out;
		}
		ret = 0;
		goto out;
	}
	ret = write_file_data(pk, e, o, out, err);
out:
	free(name);
	return ret;
}

/*
 * Where the bytes go. A regular file (or a new one) is written to a
 * temporary next to it and renamed at the end; anything else that exists
 * (a device, a fifo) is written in place: renaming over it would replace
 * the node.
 */
static int out_open(const char *out, struct out *o, char **tmp,
		    struct strbuf *err)
{
	struct stat st;

	*tmp = NULL;
	if (!strcmp(out, "-")) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (!stat(out, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			strbuf_addf(err,
				    "'%s' is a directory; give the "
				    "archive's file name",
				    out);
			return -1;
		}
		o->fd = open(out, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	} else {
		*tmp = xstrfmt("%s.tmp-%ld", out, (long)getpid());
		o->fd = open(*tmp,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC,
			     0666);
	}
	if (o->fd < 0) {
		strbuf_addf(err, "cannot create '%s': %s", out,
			    strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	return 0;
}

static int out_finish(const char *out, struct out *o, char **tmp,
		      struct strbuf *err)
{
	int fd = o->fd;

	o->fd = -1;
	if (fd == STDOUT_FILENO)
		return 0;
	if (*tmp && fsync(fd) < 0) {
		strbuf_addf(err, "cannot write '%s': %s", out,
			    strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		strbuf_addf(err, "cannot write '%s': %s", out,
			    strerror(errno));
		return -1;
	}
	if (*tmp && rename(*tmp, out) < 0) {
		strbuf_addf(err, "cannot rename '%s' to '%s': %s", *tmp, out,
			    strerror(errno));
		return -1;
	}
	free(*tmp);
	*tmp = NULL;
	return 0;
}

static int read_run(struct store *st, const char *run_id, int64_t *end_ms,
		    int *running, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	struct store_run r;
	int ret = -1;

	switch (store_runs_get(st, run_id, &r, &msg)) {
	case 1:
		if (!strcmp(r.status ? r.status : "", "running")) {
			strbuf_addf(err,
				    "run %s is still going; archive it when "
				    "it has finished",
				    run_id);
			*running = 1;
			break;
		}
		*end_ms = r.has_end ? r.ended_at : r.started_at;
		ret = 0;
		break;
	case 0:
		strbuf_addf(err, "no run '%s' in the database", run_id);
		break;
	default:
		strbuf_addf(err, "cannot read run %s: %s", run_id, msg.buf);
	}
	store_run_release(&r);
	strbuf_release(&msg);
	return ret;
}

void archive_pack_result_release(struct archive_pack_result *res)
{
	strvec_clear(&res->warnings);
	res->files = 0;
	res->bytes = 0;
}

/*
 * The run's row and db.json, read in one snapshot of the rows: db.json
 * and the checks agree. Sets *mtime, the time of every entry.
 */
static int snapshot_run(struct store *st, const struct archive_pack_opts *opts,
			struct archive_pack_result *res, int64_t *mtime,
			struct strbuf *db, struct strbuf *err)
{
	int64_t end_ms = 0;
	int ret = -1;

	if (strchr(opts->run_id, '/') ||
	    archive_path_check(opts->run_id, err) < 0) {
		strbuf_addf(err, " (run id '%s')", opts->run_id);
		return -1;
	}
	if (store_snapshot_begin(st, err) < 0)
		return -1;
	if (read_run(st, opts->run_id, &end_ms, &res->still_running, err) < 0)
		goto out;
	if (opts->source_date_epoch) {
		if (archive_source_date_epoch(opts->source_date_epoch, mtime,
					      err) < 0)
			goto out;
	} else {
		*mtime = end_ms / 1000;
	}
	if (archive_db_json(st, opts->run_id, db, err) < 0)
		goto out;
	if (store_snapshot_end(st, err) < 0)
		return -1;
	return 0;
out:
	store_rollback(st);
	return ret;
}

/*
 * Walk the run folder into pk, add db.json and the SHA256SUMS built from
 * every entry, in archive order. db and sums must outlive pk's entries.
 */
static int collect_entries(struct pack *pk, const char *run_id,
			   const struct strbuf *db, struct strbuf *sums,
			   struct strbuf *err)
{
	struct stat sb;
	struct pack_entry *e;

	/* The folder itself may be a symlink (runs/ moved to a bigger disk).
	 */
	if (stat(pk->dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		strbuf_addf(err, "the folder of run %s, '%s', is missing",
			    run_id, pk->dir);
		return -1;
	}
	if (walk(pk, NULL, err) < 0)
		return -1;
	e = pack_add(pk, xstrdup("db.json"), S_IFREG | 0644);
	e->mem = db;
	e->size = db->len;
	sha256_buf(db->buf, db->len, e->sum);
	qsort(pk->e, pk->nr, sizeof(*pk->e), cmp_entry);
	for (size_t i = 0; i < pk->nr; i++)
		archive_sums_add_entry(sums, pk->e[i].mode & S_IFMT,
				       pk->e[i].sum, pk->e[i].rel);
	/* What verify accepts: do not write what it would refuse. */
	if (pk->nr > ARCHIVE_ENTRIES_MAX || sums->len > ARCHIVE_SUMS_MAX) {
		strbuf_addf(err,
			    "run %s is too large to archive: %zu entries, a "
			    "SHA256SUMS of %zu bytes (runner verify reads at "
			    "most %d entries and %d MiB)",
			    run_id, pk->nr, sums->len, ARCHIVE_ENTRIES_MAX,
			    ARCHIVE_SUMS_MAX >> 20);
		return -1;
	}
	e = pack_add(pk, xstrdup("SHA256SUMS"), S_IFREG | 0644);
	e->mem = sums;
	e->size = sums->len;
	qsort(pk->e, pk->nr, sizeof(*pk->e), cmp_entry);
	return 0;
}

/* On failure pk->a may be set all the same; the caller frees it. */
static int writer_new(struct pack *pk, struct strbuf *err)
{
	pk->a = archive_write_new();
	if (!pk->a) {
		strbuf_addstr(err, "out of memory starting libarchive");
		return -1;
	}
	/*
	 * Reproducibility: no gzip time or name, no padding after the
	 * gzip stream.
	 */
	if (archive_write_add_filter_gzip(pk->a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(pk->a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(pk->a, "gzip", "timestamp",
					    NULL) != ARCHIVE_OK ||
	    archive_write_set_filter_option(pk->a, "gzip", "compression-level",
					    "9") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(pk->a, 1) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot set up libarchive: %s",
			    archive_error_string(pk->a));
		return -1;
	}
	return 0;
}

/*
 * Write pk's entries under "runner-RUN/" to opts->out, counting regular
 * files into res. Nothing is left at opts->out's temporary name on
 * failure.
 */
static int write_archive(struct pack *pk, const struct archive_pack_opts *opts,
			 int64_t mtime, struct archive_pack_result *res,
			 struct strbuf *err)
{
	struct archive_entry *ae = NULL;
	struct out o = { -1, 0 };
	char *top = NULL, *tmp = NULL;
	int ret = -1;

	if (writer_new(pk, err) < 0)
		goto out;
	if (out_open(opts->out, &o, &tmp, err) < 0)
		goto out;
	if (archive_write_open(pk->a, &o, NULL, out_write, NULL) !=
	    ARCHIVE_OK) {
		write_fail(pk, &o, opts->out, err);
		goto out;
	}
	top = xstrfmt("runner-%s", opts->run_id);
	ae = archive_entry_new();
	if (write_entry(pk, ae, top, NULL, mtime, &o, opts->out, err) < 0)
		goto out;
	for (size_t i = 0; i < pk->nr; i++) {
		if (write_entry(pk, ae, top, &pk->e[i], mtime, &o, opts->out,
				err) < 0)
			goto out;
		if (S_ISREG(pk->e[i].mode)) {
			res->files++;
			res->bytes += pk->e[i].size;
		}
	}
	if (archive_write_close(pk->a) != ARCHIVE_OK) {
		write_fail(pk, &o, opts->out, err);
		goto out;
	}
	if (out_finish(opts->out, &o, &tmp, err) < 0)
		goto out;
	ret = 0;
out:
	/* Freeing may still write through o: close it only afterwards. */
	if (pk->a)
		archive_write_free(pk->a);
	pk->a = NULL;
	archive_entry_free(ae);
	if (o.fd >= 0 && o.fd != STDOUT_FILENO)
		close(o.fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(top);
	return ret;
}

int archive_pack(struct store *st, const struct archive_pack_opts *opts,
		 struct archive_pack_result *res, struct strbuf *err)
{
	struct pack *pk = xcalloc(1, sizeof(*pk));
	struct strbuf db = STRBUF_INIT, sums = STRBUF_INIT;
	char *runs = NULL, *dir = NULL;
	int64_t mtime = 0;
	int ret = -1;

	pk->warnings = &res->warnings;
	if (snapshot_run(st, opts, res, &mtime, &db, err) < 0)
		goto out;
	runs = fs_join(store_dir(st), "runs");
	dir = fs_join(runs, opts->run_id);
	pk->dir = dir;
	if (collect_entries(pk, opts->run_id, &db, &sums, err) < 0)
		goto out;
	if (write_archive(pk, opts, mtime, res, err) < 0)
		goto out;
	res->mtime = mtime;
	ret = 0;
out:
	if (ret < 0) {
		res->files = 0;
		res->bytes = 0;
	}
	for (size_t i = 0; i < pk->nr; i++) {
		free(pk->e[i].rel);
		free(pk->e[i].link);
	}
	free(pk->e);
	free(pk);
	free(dir);
	free(runs);
	strbuf_release(&db);
	strbuf_release(&sums);
	return ret;
}

/* Verifying */

struct vfile {
	char *rel;
	unsigned char sum[32]; /* of the bytes, the link target, or nothing */
	mode_t type;	       /* S_IFREG, S_IFLNK or S_IFDIR */
};

struct vlist {
	struct vfile *v;
	size_t nr, alloc;
};

/*
 * The read callback's buffer. libarchive inflates from it while handing
 * out entry data from buffers of its own (archive_read_data_block()): no
 * data is ever copied into this one, which would overwrite compressed
 * input not yet consumed.
 */
struct vread {
	int fd;
	int io_errno;	/* the read(2) failure, or 0 */
	uint64_t total; /* bytes read from fd */
	char buf[IO_CHUNK];
};

static struct vfile *vlist_add(struct vlist *l, char *rel, mode_t type)
{
	struct vfile *f;
	ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	f = &l->v[l->nr++];
	memset(f, 0, sizeof(*f));
	f->rel = rel;
	f->type = type;
	return f;
}

static void vlist_clear(struct vlist *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i].rel);
	free(l->v);
	l->v = NULL;
	l->nr = l->alloc = 0;
}

static int cmp_vfile(const void *a, const void *b)
{
	return archive_path_cmp(((const struct vfile *)a)->rel,
				((const struct vfile *)b)->rel);
}

static la_ssize_t in_read(struct archive *a, void *data, const void **buf)
{
	struct vread *r = data;
	ssize_t n;

	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->io_errno = errno;
		archive_set_error(a, errno, "read error");
		return -1;
	}
	r->total += (uint64_t)n;
	*buf = r->buf;
	return n;
}

/*
 * After the last entry: bytes of the file that no gzip member holds
 * (libarchive stops quietly at the first thing that is not a member).
 * 0, or the count, or -1 with r->io_errno set.
 */
static int64_t trailing_bytes(struct archive *a, struct vread *r)
{
	int64_t used = archive_filter_bytes(a, -1);
	ssize_t n;

	for (;;) {
		do
			n = read(r->fd, r->buf, sizeof(r->buf));
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			r->io_errno = errno;
			return -1;
		}
		if (!n)
			break;
		r->total += (uint64_t)n;
	}
	return used < 0 || (uint64_t)used > r->total
		       ? 0
		       : (int64_t)(r->total - (uint64_t)used);
}

void archive_verify_result_release(struct archive_verify_result *res)
{
	strvec_clear(&res->problems);
	res->listed = res->matched = 0;
	res->links = res->links_matched = 0;
	res->dirs = res->dirs_matched = 0;
	res->io_error = 0;
}

static void add_problem(struct archive_verify_result *res, const char *what,
			const char *rel)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s: ", what);
	add_shown(&sb, rel);
	strvec_push(&res->problems, sb.buf);
	strbuf_release(&sb);
}

static int entry_fail(const char *file, const char *rel, const char *why,
		      struct strbuf *err)
{
	strbuf_addf(err, "%s: entry '", file);
	add_shown(err, rel);
	strbuf_addf(err, "' %s", why);
	return -1;
}

/* Parse SHA256SUMS into sums; paths are checked like entry names. */
static int parse_sums(const char *file, const struct strbuf *text,
		      struct vlist *sums, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	const char *p = text->buf, *end = text->buf + text->len;
	size_t lineno = 0;
	int ret = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned char sum[32];
		struct strbuf why = STRBUF_INIT;
		mode_t type;
		int rc;
		lineno++;
		rc = archive_sums_parse_entry(p, len, &type, sum, &path);
		p += len + 1;
		if (rc == 1)
			continue;
		if (rc < 0) {
			strbuf_addf(err,
				    "%s: SHA256SUMS line %zu is not "
				    "'SHA256  PATH'",
				    file, lineno);
			goto out;
		}
		if (path.buf[path.len - 1] == '/' ||
		    archive_path_check(path.buf, &why) < 0) {
			strbuf_addf(err, "%s: SHA256SUMS line %zu: %s", file,
				    lineno,
				    why.len ? why.buf : "a directory name");
			strbuf_release(&why);
			goto out;
		}
		if (!strcmp(path.buf, "SHA256SUMS")) {
			strbuf_addf(err,
				    "%s: SHA256SUMS line %zu lists "
				    "SHA256SUMS itself",
				    file, lineno);
			goto out;
		}
		memcpy(vlist_add(sums, strbuf_detach(&path, NULL), type)->sum,
		       sum, 32);
	}
	if (sums->nr > 1)
		qsort(sums->v, sums->nr, sizeof(*sums->v), cmp_vfile);
	for (size_t i = 1; i < sums->nr; i++) {
		if (!archive_path_cmp(sums->v[i - 1].rel, sums->v[i].rel)) {
			strbuf_addf(err, "%s: SHA256SUMS lists '", file);
			add_shown(err, sums->v[i].rel);
			strbuf_addstr(err, "' twice");
			goto out;
		}
	}
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

static void count_listed(const struct vfile *s, int matched,
			 struct archive_verify_result *res)
{
	size_t *listed = S_ISLNK(s->type)   ? &res->links
			 : S_ISDIR(s->type) ? &res->dirs
					    : &res->listed;
	size_t *ok = S_ISLNK(s->type)	? &res->links_matched
		     : S_ISDIR(s->type) ? &res->dirs_matched
					: &res->matched;
	(*listed)++;
	if (matched)
		(*ok)++;
}

static void compare(const struct vlist *files, const struct vlist *sums,
		    struct archive_verify_result *res)
{
	size_t i = 0, j = 0;

	while (i < files->nr || j < sums->nr) {
		const struct vfile *f = i < files->nr ? &files->v[i] : NULL;
		const struct vfile *s = j < sums->nr ? &sums->v[j] : NULL;
		int c = !f ? 1 : !s ? -1 : archive_path_cmp(f->rel, s->rel);
		if (c < 0) {
			add_problem(res, "extra", f->rel);
			i++;
		} else if (c > 0) {
			add_problem(res, "missing", s->rel);
			count_listed(s, 0, res);
			j++;
		} else {
			int same = f->type == s->type &&
				   !memcmp(f->sum, s->sum, 32);
			if (!same)
				add_problem(res, "modified", f->rel);
			count_listed(s, same, res);
			i++;
			j++;
		}
	}
}

/*
 * Feed the current entry's data to h (and to sb when not NULL) block by
 * block, straight from libarchive's buffers. 0 at the end of the data;
 * -1 with the reason in libarchive; -2 when the blocks skip a hole (a
 * sparse entry); -3 when sb is full.
 */
static int read_entry(struct archive *a, struct sha256_ctx *h,
		      struct strbuf *sb)
{
	const void *buf;
	size_t len;
	la_int64_t off, done = 0;
	int rc;

	while ((rc = archive_read_data_block(a, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		if (off != done)
			return -2;
		if (h)
			sha256_update(h, buf, len);
		if (sb && strbuf_add(sb, buf, len) < 0)
			return -3;
		done += (la_int64_t)len;
	}
	return rc == ARCHIVE_EOF ? 0 : -1;
}

static const char *special_name(int type)
{
	switch (type) {
	case AE_IFCHR:
		return "is a special file (a character device)";
	case AE_IFBLK:
		return "is a special file (a block device)";
	case AE_IFIFO:
		return "is a special file (a fifo)";
	case AE_IFSOCK:
		return "is a special file (a socket)";
	default:
		return "is a special file (of an unknown type)";
	}
}

/*
 * One verify run. The helpers below return 0, -1 with the reason in err,
 * or VERIFY_BAD when libarchive or read(2) failed: verify_bad() words
 * that one.
 */
struct verify {
	const char *file; /* as the user named it, for messages */
	struct vread *r;
	struct archive *a;
	struct vlist files; /* every entry but SHA256SUMS and the top */
	struct strbuf text; /* SHA256SUMS, capped */
	char *top;	    /* the top-level directory's name */
	size_t names;	    /* bytes of entry names so far */
	int have_sums;
	struct archive_verify_result *res;
	struct strbuf *err;
};

#define VERIFY_BAD (-2)

static int verify_open(struct verify *v)
{
	struct stat st;

	if (!strcmp(v->file, "-"))
		v->r->fd = STDIN_FILENO;
	else
		v->r->fd = open(v->file, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (v->r->fd < 0 || fstat(v->r->fd, &st) < 0) {
		strbuf_addf(v->err, "cannot read '%s': %s", v->file,
			    strerror(errno));
		v->res->io_error = 1;
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		strbuf_addf(v->err, "cannot read '%s': %s", v->file,
			    strerror(EISDIR));
		v->res->io_error = 1;
		return -1;
	}
	v->a = archive_read_new();
	/* No filter that runs an external program on hostile input. */
	/*
	 * Past the end-of-archive blocks too: `tar -i` (and gzip's
	 * concatenated members) extract what follows them, so verify checks
	 * it like any other entry (an unlisted one is "extra", a second copy
	 * "appears twice", bytes that are not a header "corrupt") instead of
	 * stopping where a hidden payload starts.
	 */
	if (!v->a || archive_read_support_filter_gzip(v->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(v->a) != ARCHIVE_OK ||
	    archive_read_set_format_option(v->a, "tar",
					   "read_concatenated_archives",
					   "1") != ARCHIVE_OK) {
		strbuf_addstr(v->err, "cannot set up libarchive");
		return -1;
	}
	if (archive_read_open(v->a, v->r, NULL, in_read, NULL) != ARCHIVE_OK)
		return VERIFY_BAD;
	return 0;
}

/*
 * Refuse an entry runner never writes: an unsafe name, one outside the
 * first entry's top-level directory, a hard link, a special or sparse
 * file. Sets v->top from the first entry.
 */
static int check_entry(struct verify *v, struct archive_entry *ae,
		       const char *name, const char *slash, int type)
{
	struct strbuf why = STRBUF_INIT;
	size_t toplen = slash ? (size_t)(slash - name) : strlen(name);
	int ret = -1;

	if (archive_path_check(name, &why) < 0) {
		strbuf_addf(v->err, "%s: %s", v->file, why.buf);
		goto out;
	}
	if (!v->top) {
		v->top = xstrndup(name, toplen);
	} else if (strlen(v->top) != toplen || memcmp(v->top, name, toplen)) {
		strbuf_addf(&why, "is outside the top-level directory '%s/'",
			    v->top);
		entry_fail(v->file, name, why.buf, v->err);
		goto out;
	}
	if (archive_entry_hardlink(ae)) {
		strbuf_addstr(&why, "is a hard link to '");
		add_shown(&why, archive_entry_hardlink(ae));
		strbuf_addstr(&why, "'");
		entry_fail(v->file, name, why.buf, v->err);
		goto out;
	}
	if (type != AE_IFDIR && type != AE_IFLNK && type != AE_IFREG) {
		entry_fail(v->file, name, special_name(type), v->err);
		goto out;
	}
	if (archive_entry_sparse_count(ae) > 0) {
		entry_fail(v->file, name, "is a sparse file", v->err);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

static int read_sums_entry(struct verify *v, const char *name)
{
	int rc;

	if (v->have_sums++)
		return entry_fail(v->file, name, "appears twice", v->err);
	rc = read_entry(v->a, NULL, &v->text);
	if (rc == -3) {
		strbuf_addf(v->err,
			    "%s: SHA256SUMS is larger than %d MiB; not an "
			    "archive of a run",
			    v->file, ARCHIVE_SUMS_MAX >> 20);
		return -1;
	}
	if (rc == -2)
		return entry_fail(v->file, name, "is a sparse file", v->err);
	return rc < 0 ? VERIFY_BAD : 0;
}

/* Record an entry and the sum of its data or link target; takes rel. */
static int add_file(struct verify *v, struct archive_entry *ae,
		    const char *name, char *rel, int type)
{
	struct vfile *f;
	struct sha256_ctx *h;
	const char *target;
	int rc;

	/*
	 * An honest archive has a line per entry, and each line holds
	 * the name: more than SHA256SUMS can list is not one.
	 */
	v->names += strlen(rel) + 1;
	if (v->files.nr >= ARCHIVE_ENTRIES_MAX ||
	    v->names > ARCHIVE_SUMS_MAX) {
		strbuf_addf(v->err,
			    "%s: more than %d entries or %d MiB of "
			    "names; not an archive of a run",
			    v->file, ARCHIVE_ENTRIES_MAX,
			    ARCHIVE_SUMS_MAX >> 20);
		free(rel);
		return -1;
	}
	f = vlist_add(&v->files, rel, (mode_t)type);
	h = sha256_new();
	if (type == AE_IFLNK) {
		target = archive_entry_symlink(ae);
		if (target)
			sha256_update(h, target, strlen(target));
		sha256_final(h, f->sum);
		if (!target)
			return entry_fail(v->file, name,
					  "is a symlink without a usable "
					  "target",
					  v->err);
	} else if (type == AE_IFDIR) {
		sha256_final(h, f->sum);
	} else {
		rc = read_entry(v->a, h, NULL);
		sha256_final(h, f->sum);
		if (rc == -2)
			return entry_fail(v->file, name, "is a sparse file",
					  v->err);
		if (rc < 0)
			return VERIFY_BAD;
	}
	return 0;
}

/* One entry: checked, then SHA256SUMS read or the entry recorded. */
static int verify_entry(struct verify *v, struct archive_entry *ae)
{
	const char *name = archive_entry_pathname(ae), *slash;
	char *rel;
	int type;

	if (!name) {
		strbuf_addf(v->err, "%s: an entry has no usable name",
			    v->file);
		return -1;
	}
	slash = strchr(name, '/');
	type = (int)archive_entry_filetype(ae);
	if (check_entry(v, ae, name, slash, type) < 0)
		return -1;
	rel = xstrdup(slash ? slash + 1 : "");
	if (*rel && rel[strlen(rel) - 1] == '/')
		rel[strlen(rel) - 1] = '\0';
	if (!*rel) {
		free(rel);
		if (type != AE_IFDIR)
			return entry_fail(v->file, name,
					  "is not a directory (the top "
					  "level must be one)",
					  v->err);
		return 0;
	}
	if (type == AE_IFREG && !strcmp(rel, "SHA256SUMS")) {
		free(rel);
		return read_sums_entry(v, name);
	}
	return add_file(v, ae, name, rel, type);
}

/* After the last entry: nothing but entries, each named once. */
static int check_rest(struct verify *v)
{
	int64_t extra = trailing_bytes(v->a, v->r);
	struct vlist *files = &v->files;

	if (extra < 0)
		return VERIFY_BAD;
	if (extra) {
		strbuf_addf(v->err,
			    "%s: %" PRId64 " byte%s after the end of "
			    "the compressed data (not an archive "
			    "runner wrote)",
			    v->file, extra, extra == 1 ? "" : "s");
		return -1;
	}
	if (files->nr > 1)
		qsort(files->v, files->nr, sizeof(*files->v), cmp_vfile);
	for (size_t i = 1; i < files->nr; i++) {
		if (!archive_path_cmp(files->v[i - 1].rel, files->v[i].rel)) {
			struct strbuf full = STRBUF_INIT;
			strbuf_addf(&full, "%s/%s", v->top, files->v[i].rel);
			entry_fail(v->file, full.buf, "appears twice", v->err);
			strbuf_release(&full);
			return -1;
		}
	}
	if (!v->have_sums) {
		strbuf_addf(v->err,
			    "%s: no SHA256SUMS in the archive (not made by "
			    "'runner archive', or it was removed)",
			    v->file);
		return -1;
	}
	return 0;
}

static void verify_bad(struct verify *v)
{
	if (v->r->io_errno) {
		strbuf_addf(v->err, "cannot read '%s': %s", v->file,
			    strerror(v->r->io_errno));
		v->res->io_error = 1;
	} else {
		/* libarchive says nothing when the gzip trailer is cut. */
		const char *msg = archive_error_string(v->a);
		strbuf_addf(v->err, "%s: corrupt or truncated archive: %s",
			    v->file, msg ? msg : "unexpected end of data");
	}
}

int archive_verify(const char *file, struct archive_verify_result *res,
		   struct strbuf *err)
{
	struct verify v = { .file = file, .res = res, .err = err };
	struct vlist sums = { NULL, 0, 0 };
	struct archive_entry *ae;
	int ret = -1, rc;

	v.r = xcalloc(1, sizeof(*v.r));
	v.r->fd = -1;
	strbuf_init_capped(&v.text, ARCHIVE_SUMS_MAX);
	if ((rc = verify_open(&v)) < 0)
		goto out;
	while ((rc = archive_read_next_header(v.a, &ae)) != ARCHIVE_EOF) {
		if (rc < ARCHIVE_WARN) {
			rc = VERIFY_BAD;
			goto out;
		}
		if ((rc = verify_entry(&v, ae)) < 0)
			goto out;
	}
	if ((rc = check_rest(&v)) < 0)
		goto out;
	if ((rc = parse_sums(file, &v.text, &sums, err)) < 0)
		goto out;
	strbuf_release(&v.text);
	compare(&v.files, &sums, res);
	ret = 0;
out:
	if (rc == VERIFY_BAD)
		verify_bad(&v);
	if (v.a)
		archive_read_free(v.a);
	if (v.r->fd > STDIN_FILENO)
		close(v.r->fd);
	free(v.r);
	free(v.top);
	vlist_clear(&v.files);
	vlist_clear(&sums);
	strbuf_release(&v.text);
	return ret;
}
