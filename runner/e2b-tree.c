#include "runner.h"
#include "e2b-tree.h"
#include "e2b-envd.h"
#include "e2b-internal.h"
#include "e2b-proc.h"
#include "fs.h"
#include "hash.h"
#include "rand.h"
#include "ws.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

/*
 * The listing: 128 MiB for the entries and their hashes, and room for
 * the largest .gitignore ws.c reads, in base64.
 */
#define LISTING_MAX (((size_t)128 << 20) + (WS_GITIGNORE_MAX + 2) / 3 * 4)

/*
 * Prints, NUL-separated: for every entry "TYPE SIZE MODE PATH" and its
 * link target; "#H", then "HEX  ./PATH" per regular file; "#G", then
 * "./PATH" and base64 content per .gitignore of at most WS_GITIGNORE_MAX
 * bytes (the -size test, in listing_script()); "#E". Run as root so the
 * task's chmods cannot hide anything.
 */
#define LISTING_HEAD                                                          \
	"cd " E2B_WORKSPACE " || exit 97\n"                                   \
	"find . -mindepth 1 -printf '%y %s %m %P\\0%l\\0' || exit 98\n"       \
	"printf '#H\\0'\n"                                                    \
	"find . -mindepth 1 -type f -exec sha256sum -z -- {} + 2>/dev/null\n" \
	"printf '#G\\0'\n"                                                    \
	"find . -mindepth 1 -type f -name .gitignore "
#define LISTING_TAIL                                           \
	"-exec sh -c 'for f do printf \"%s\\0\" \"$f\"; "      \
	"base64 -w0 < \"$f\"; printf \"\\0\"; done' sh {} +\n" \
	"printf '#E\\0'\n"

static void listing_script(struct strbuf *script)
{
	strbuf_addstr(script, LISTING_HEAD);
	/* find's -size -Nc is "fewer than N bytes". */
	strbuf_addf(script, "-size -%zuc ", WS_GITIGNORE_MAX + 1);
	strbuf_addstr(script, LISTING_TAIL);
}

void e2b_tree_release(struct e2b_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		free(t->v[i].path);
		free(t->v[i].link);
	}
	free(t->v);
	t->v = NULL;
	t->nr = t->alloc = 0;
	strbuf_release(&t->raw);
}

/*
 * Paths ordered component by component ('/' sorts first), so that a
 * directory's descendants follow it directly and siblings come in
 * bytewise name order.
 */
static int tree_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x == y) {
			if (!x)
				return 0;
			continue;
		}
		if (!x || !y)
			return x ? 1 : -1;
		if (x == '/')
			return -1;
		if (y == '/')
			return 1;
		return x < y ? -1 : 1;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	return tree_cmp(((const struct e2b_entry *)a)->path,
			((const struct e2b_entry *)b)->path);
}

static struct e2b_entry *find(const struct e2b_tree *t, const char *path)
{
	struct e2b_entry key = { .path = (char *)path };
	if (!t->nr)
		return NULL;
	return bsearch(&key, t->v, t->nr, sizeof(*t->v), entry_cmp);
}

const struct e2b_entry *e2b_tree_find(const struct e2b_tree *t,
				      const char *path)
{
	return find(t, path);
}

const char *e2b_tree_type_name(char type)
{
	switch (type) {
	case 'f':
		return "regular file";
	case 'd':
		return "directory";
	case 'l':
		return "symlink";
	case 'p':
		return "fifo";
	case 's':
		return "socket";
	case 'c':
		return "character device";
	case 'b':
		return "block device";
	default:
		return "special file";
	}
}

/* Next NUL-terminated field of buf at *pos, or NULL at the end. */
static const char *next_field(const struct strbuf *buf, size_t *pos)
{
	const char *s = buf->buf + *pos, *nul;
	if (*pos >= buf->len)
		return NULL;
	nul = memchr(s, '\0', buf->len - *pos);
	if (!nul)
		return NULL;
	*pos += (size_t)(nul - s) + 1;
	return s;
}

static const char *strip_dot(const char *p)
{
	return !strncmp(p, "./", 2) ? p + 2 : p;
}

/* "TYPE SIZE MODE PATH" (f) and the link target after it. */
static int parse_entry(struct e2b_tree *t, const char *f,
		       const struct strbuf *buf, size_t *pos)
{
	struct e2b_entry *e;
	char *end;
	const char *link;
	unsigned long long size;
	unsigned long mode;

	if (!f[0] || f[1] != ' ')
		return -1;
	size = strtoull(f + 2, &end, 10);
	if (*end != ' ')
		return -1;
	mode = strtoul(end + 1, &end, 8);
	if (*end != ' ' || !ws_path_valid(end + 1))
		return -1;
	link = next_field(buf, pos);
	if (!link)
		return -1;
	ALLOC_GROW(t->v, t->nr + 1, t->alloc);
	e = &t->v[t->nr++];
	memset(e, 0, sizeof(*e));
	e->type = f[0];
	e->size = size;
	e->mode = (unsigned int)mode & 07777;
	e->path = xstrdup(end + 1);
	if (e->type == 'l')
		e->link = xstrdup(link);
	return 0;
}

/* "HEX  ./PATH" from sha256sum -z. */
static int parse_hash(struct e2b_tree *t, const char *f)
{
	struct e2b_entry *e;

	if (strlen(f) < 67 || f[64] != ' ' || f[65] != ' ')
		return -1;
	e = find(t, strip_dot(f + 66));
	if (!e)
		return 0; /* appeared after the walk */
	if (sha256_parse_hex(f, e->sha256) < 0)
		return -1;
	e->has_hash = true;
	return 0;
}

/* "./PATH" (f) of a .gitignore and its base64 text after it. */
static int parse_gitignore(struct e2b_tree *t, const char *f,
			   const struct strbuf *buf, size_t *pos)
{
	struct e2b_entry *e = find(t, strip_dot(f));
	const char *b64 = next_field(buf, pos);

	if (!b64)
		return -1;
	/* Into raw, which the tree keeps: a copy would double the peak. */
	if (e && e->type == 'f')
		e->gitignore = b64;
	return 0;
}

/* No path twice, and every parent listed as a directory. */
static int check_tree(const struct e2b_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const char *slash = strrchr(t->v[i].path, '/');
		if (i && !strcmp(t->v[i - 1].path, t->v[i].path))
			return -1;
		if (slash) {
			size_t n = (size_t)(slash - t->v[i].path);
			char *parent = xstrndup(t->v[i].path, n);
			const struct e2b_entry *pe = find(t, parent);
			free(parent);
			if (!pe || pe->type != 'd')
				return -1;
		}
	}
	return 0;
}

static int parse_listing(struct sandbox *sb, const struct strbuf *buf,
			 struct e2b_tree *t, struct strbuf *err)
{
	size_t pos = 0;
	const char *f;
	int section = 0, r = 0;

	while (!r && (f = next_field(buf, &pos))) {
		if (f[0] == '#') {
			section = f[1] == 'H' ? 1 : f[1] == 'G' ? 2 : 3;
			if (section == 3)
				break;
			if (section == 1 && t->nr)
				qsort(t->v, t->nr, sizeof(*t->v), entry_cmp);
			continue;
		}
		if (section == 0)
			r = parse_entry(t, f, buf, &pos);
		else if (section == 1)
			r = parse_hash(t, f);
		else
			r = parse_gitignore(t, f, buf, &pos);
	}
	if (r || section != 3 || check_tree(t) < 0) {
		strbuf_addf(err, "sandbox %s: the listing of %s is malformed",
			    sb->id, E2B_WORKSPACE);
		return -1;
	}
	return 0;
}

int e2b_tree_list(struct sandbox *sb, const char *script_prefix,
		  const char *what, const char *const *args,
		  struct e2b_tree *t, struct strbuf *err)
{
	struct strbuf script = STRBUF_INIT;
	int ret = -1;

	strbuf_release(&t->raw);
	strbuf_init_capped(&t->raw, LISTING_MAX);
	strbuf_addstr(&script, script_prefix);
	listing_script(&script);
	if (e2b_proc_script(sb, what, script.buf, args, &t->raw, err) < 0)
		goto out;
	ret = parse_listing(sb, &t->raw, t, err);
out:
	strbuf_release(&script);
	return ret;
}

/* ---- putting a manifest in ---- */

static int tar_add_file(struct archive *a, struct archive_entry *ae,
			const struct ws_entry *e, const char *src_root,
			struct strbuf *err)
{
	char *path = fs_join(src_root, e->path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	uint64_t left = e->size;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		strbuf_addf(err, "'%s' changed since the workspace snapshot",
			    e->path);
		goto out;
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		goto archive_fail;
	while (left > 0) {
		char buf[65536];
		ssize_t n =
			read(fd, buf,
			     left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(errno));
			goto out;
		}
		if (n == 0) {
			strbuf_addf(err,
				    "'%s' changed since the workspace "
				    "snapshot",
				    e->path);
			goto out;
		}
		if (archive_write_data(a, buf, (size_t)n) != n)
			goto archive_fail;
		left -= (uint64_t)n;
	}
	ret = 0;
	goto out;
archive_fail:
	strbuf_addf(err, "cannot write the workspace tar: %s",
		    archive_error_string(a));
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* One manifest entry's header (and data) into the tar. */
static int tar_add(struct archive *a, struct archive_entry *ae,
		   const struct ws_entry *e, const char *src_root,
		   struct strbuf *err)
{
	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, e->path);
	archive_entry_set_mtime(ae, e->mtime_ns / 1000000000,
				e->mtime_ns % 1000000000);
	switch (e->type) {
	case WS_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, (e->mode & 0777) | 0700);
		break;
	case WS_LINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_copy_symlink(ae, e->link);
		break;
	case WS_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, e->mode & 0777);
		archive_entry_set_size(ae, (la_int64_t)e->size);
		return tar_add_file(a, ae, e, src_root, err);
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot write the workspace tar: %s",
			    archive_error_string(a));
		return -1;
	}
	return 0;
}

/* The manifest as tar.gz into fd (pax, raw byte names, no padding). */
static int build_tar(const struct ws_manifest *m, const char *src_root, int fd,
		     struct strbuf *err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int ret = -1;

	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "hdrcharset",
					    "BINARY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot start the workspace tar: %s",
			    archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < m->nr; i++)
		if (tar_add(a, ae, &m->entries[i], src_root, err) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot write the workspace tar: %s",
			    archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return ret;
}

static char ws_type_char(enum ws_type t)
{
	return t == WS_DIR ? 'd' : t == WS_LINK ? 'l' : 'f';
}

/* How r differs from e, appended to diff; nothing when they agree. */
static void entry_diff(const struct ws_entry *e, const struct e2b_entry *r,
		       struct strbuf *diff)
{
	if (!r)
		strbuf_addf(diff, "'%s' is missing", e->path);
	else if (r->type != ws_type_char(e->type))
		strbuf_addf(diff, "'%s' is a %s, not a %s", e->path,
			    e2b_tree_type_name(r->type),
			    e2b_tree_type_name(ws_type_char(e->type)));
	else if (e->type == WS_LINK && strcmp(r->link, e->link))
		strbuf_addf(diff, "'%s' points elsewhere", e->path);
	else if (e->type == WS_FILE && r->size != e->size)
		strbuf_addf(diff, "'%s' has %" PRIu64 " bytes, not %" PRIu64,
			    e->path, r->size, e->size);
	else if (e->type == WS_FILE &&
		 (!r->has_hash || memcmp(r->sha256, e->sha256, 32)))
		strbuf_addf(diff, "'%s' has other content", e->path);
	else if (e->type == WS_FILE && (r->mode & 0777) != (e->mode & 0777))
		strbuf_addf(diff, "'%s' has mode %03o, not %03o", e->path,
			    r->mode & 0777, e->mode & 0777);
}

/* The extracted tree must be the manifest, exactly. */
static int verify_tree(struct sandbox *sb, const struct ws_manifest *m,
		       const struct e2b_tree *t, struct strbuf *err)
{
	struct strbuf diff = STRBUF_INIT;
	size_t bad = 0;

	for (size_t i = 0; i < m->nr; i++) {
		size_t before = diff.len;

		entry_diff(&m->entries[i], find(t, m->entries[i].path), &diff);
		if (diff.len != before) {
			bad++;
			if (bad > 3)
				strbuf_setlen(&diff, before);
			else
				strbuf_addstr(&diff, "; ");
		}
	}
	for (size_t i = 0; i < t->nr; i++) {
		if (ws_manifest_find(m, t->v[i].path))
			continue;
		if (++bad <= 3)
			strbuf_addf(&diff, "unexpected '%s'; ", t->v[i].path);
	}
	if (bad) {
		strbuf_setlen(&diff, diff.len - 2 * (diff.len >= 2));
		strbuf_addf(err,
			    "sandbox %s: the uploaded workspace does not "
			    "match the snapshot (%zu difference%s): %s",
			    sb->id, bad, bad == 1 ? "" : "s", diff.buf);
	}
	strbuf_release(&diff);
	return bad ? -1 : 0;
}

#define EXTRACT_SCRIPT                                                  \
	"set -e\n"                                                      \
	"mkdir -p " E2B_WORKSPACE "\n"                                  \
	"tar -xzpf \"$1\" -C " E2B_WORKSPACE " --no-same-owner\n"       \
	"rm -f \"$1\"\n"                                                \
	"find " E2B_WORKSPACE                                           \
	" -type d ! -perm -700 -exec chmod u+rwx {} +\n"                \
	"if [ -n \"$2\" ] && id -u \"$2\" >/dev/null 2>&1; then\n"      \
	"  chown -R -h \"$2\": " E2B_WORKSPACE " 2>/dev/null || true\n" \
	"fi\n"                                                          \
	"set +e\n"

int e2b_tree_put(struct sandbox *sb, const struct ws_manifest *m,
		 const char *src_root, struct strbuf *err)
{
	struct e2b_tree t = E2B_TREE_INIT;
	struct stat st;
	char name[64], hex[33];
	const char *args[3];
	int fd = -1, ret = -1;

	fd = e2b_envd_tmpfile(err);
	if (fd < 0 || build_tar(m, src_root, fd, err) < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat the workspace tar: %s",
			    strerror(errno));
		goto out;
	}
	rand_hex(hex, 16);
	snprintf(name, sizeof(name), "/tmp/.runner-%s.tar.gz", hex);
	if (e2b_envd_upload(sb, fd, (uint64_t)st.st_size, name, "root", err) <
	    0)
		goto out;
	args[0] = name;
	args[1] = sb->conf.user;
	args[2] = NULL;
	if (e2b_tree_list(sb, EXTRACT_SCRIPT, "while extracting the workspace",
			  args, &t, err) < 0 ||
	    verify_tree(sb, m, &t, err) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	e2b_tree_release(&t);
	return ret;
}
