#include "runner.h"
#include "e2b-pull.h"
#include "e2b-envd.h"
#include "e2b-internal.h"
#include "e2b-proc.h"
#include "e2b-tree.h"
#include "base64.h"
#include "fs.h"
#include "hash.h"
#include "rand.h"
#include "ws.h"

#include <fcntl.h>

#include <archive.h>
#include <archive_entry.h>

/* A changed file to fetch. */
struct want {
	char *path;    /* borrowed from its change */
	size_t change; /* index in out->items */
	uint64_t size; /* as listed */
	bool done;
};

struct pull_ctx {
	struct sandbox *sb;
	const struct ws_manifest *base;
	const struct ws_pull_opts *opts;
	const struct e2b_tree *tree;
	struct ws_pull_filter *filter; /* ws_diff's, exactly */
	unsigned char *seen;	       /* per base entry */
	struct ws_changes *out;
	int dest_fd;
	struct want *wants;
	size_t nr_wants, alloc_wants;
	uint64_t planned; /* bytes of the wanted files, as listed */
	struct strbuf *err;
};

static void add_want(struct pull_ctx *d, struct ws_change *ch, uint64_t size)
{
	ALLOC_GROW(d->wants, d->nr_wants + 1, d->alloc_wants);
	d->wants[d->nr_wants].path = ch->path;
	d->wants[d->nr_wants].change = d->out->nr - 1;
	d->wants[d->nr_wants].size = size;
	d->wants[d->nr_wants].done = false;
	d->nr_wants++;
}

static int diff_link(struct pull_ctx *d, const struct e2b_entry *r,
		     const struct ws_entry *e)
{
	struct ws_change *ch;

	if (e && e->type == WS_LINK && !strcmp(e->link, r->link))
		return 0;
	ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_LINK);
	ws_change_set_base(ch, e);
	ch->size = strlen(r->link);
	sha256_buf(r->link, ch->size, ch->sha256);
	if (ws_pull_filter_refuse_name(d->filter, ch, r->link, d->out))
		return 0;
	if (!ws_pull_filter_wants(d->filter, r->path))
		return 0;
	return ws_put_link(d->dest_fd, r->link, ch, d->out, d->err);
}

static int diff_entry(struct pull_ctx *d, const struct e2b_entry *r)
{
	const struct ws_entry *e = ws_manifest_find(d->base, r->path);
	struct ws_change *ch;

	/* ws_diff's cap (ws.h): the list stops there, and says so. */
	if (d->out->nr >= WS_MAX_CHANGES) {
		d->out->truncated = true;
		return 0;
	}
	/* A directory replaced by a file: the file is new. */
	if (e && e->type == WS_DIR)
		e = NULL;
	if (e)
		d->seen[e - d->base->entries] = 1;
	if (r->type == 'l')
		return diff_link(d, r, e);
	if (r->type != 'f') {
		ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_FILE);
		ws_change_set_base(ch, e);
		if (ws_pull_filter_refuse_name(d->filter, ch, NULL, d->out))
			return 0;
		ch->note = xstrfmt("%s refused", e2b_tree_type_name(r->type));
		d->out->nr_refused++;
		return 0;
	}
	if (e && e->type == WS_FILE && e->size == r->size && r->has_hash &&
	    !memcmp(e->sha256, r->sha256, 32))
		return 0;
	ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_FILE);
	ws_change_set_base(ch, e);
	ch->size = r->size;
	if (ws_pull_filter_refuse_name(d->filter, ch, NULL, d->out))
		return 0;
	if (!ws_pull_filter_wants(d->filter, r->path)) {
		ch->note = xstrdup("not matched by pull");
		return 0;
	}
	if (d->opts->pull_limit &&
	    d->planned + r->size > d->opts->pull_limit) {
		ch->note = xstrdup("over pull_limit");
		d->out->nr_refused++;
		return 0;
	}
	d->planned += r->size;
	add_want(d, ch, r->size);
	return 0;
}

/* dir's .gitignore (as listed) into the filter, as ws_diff reads it. */
static void load_gitignore(struct pull_ctx *d, const char *dir)
{
	char *gi_path = *dir ? xstrfmt("%s/.gitignore", dir)
			     : xstrdup(".gitignore");
	const struct e2b_entry *gi = e2b_tree_find(d->tree, gi_path);

	free(gi_path);
	if (gi && gi->gitignore) {
		struct strbuf text;
		strbuf_init_capped(&text, WS_GITIGNORE_MAX);
		if (base64_decode(&text, gi->gitignore,
				  strlen(gi->gitignore)) == 0)
			ws_pull_filter_add_gitignore(d->filter, dir, text.buf,
						     text.len);
		strbuf_release(&text);
	}
}

/* ws_diff's walk over the listing: [lo, hi) are dir's descendants. */
static int diff_dir(struct pull_ctx *d, const char *dir, size_t lo, size_t hi)
{
	const struct e2b_tree *t = d->tree;
	size_t dlen = strlen(dir), i = lo;

	load_gitignore(d, dir);
	while (i < hi) {
		const struct e2b_entry *r = &t->v[i];
		const struct ws_entry *e = ws_manifest_find(d->base, r->path);
		const char *name = r->path + (dlen ? dlen + 1 : 0);
		size_t plen = strlen(r->path), j = i + 1;
		bool is_dir = r->type == 'd';

		while (j < hi && !strncmp(t->v[j].path, r->path, plen) &&
		       t->v[j].path[plen] == '/')
			j++;
		if (!e &&
		    ws_pull_filter_drops(d->filter, r->path, name, is_dir)) {
			i = j;
			continue;
		}
		if (is_dir) {
			/* A file replaced by a directory is deleted. */
			if (e && e->type == WS_DIR)
				d->seen[e - d->base->entries] = 1;
			if (diff_dir(d, r->path, i + 1, j) < 0)
				return -1;
		} else if (diff_entry(d, r) < 0) {
			return -1;
		}
		i = j;
	}
	return 0;
}

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->path,
		      ((const struct want *)b)->path);
}

static void refuse(struct pull_ctx *d, struct ws_change *ch, const char *why)
{
	free(ch->note);
	ch->note = xstrdup(why);
	d->out->nr_refused++;
}

/*
 * Why the next n bytes of w cannot be kept: "" for a corrupt tar (the
 * message is in err), a note, or NULL when they can.
 */
static const char *chunk_refused(struct pull_ctx *d, struct archive *a,
				 const struct ws_pulled *f,
				 const struct want *w, la_ssize_t n)
{
	if (n < 0) {
		strbuf_addf(d->err,
			    "sandbox %s: the changed files' tar is corrupt: "
			    "%s",
			    d->sb->id, archive_error_string(a));
		return "";
	}
	/* Bigger than listed: a bomb, or it changed. */
	if (f->size + (uint64_t)n > w->size)
		return "could not be read safely";
	if (d->opts->pull_limit &&
	    d->out->bytes_pulled + (uint64_t)n > d->opts->pull_limit)
		return "over pull_limit";
	return NULL;
}

/* One tar entry to dest/ch->path, within its listed size and the limit. */
static int extract_one(struct pull_ctx *d, struct archive *a,
		       struct archive_entry *ae, struct want *w)
{
	struct ws_change *ch = &d->out->items[w->change];
	struct ws_pulled f = WS_PULLED_INIT;
	uint64_t before = d->out->bytes_pulled;
	bool created = false;
	int ret = 0;

	if (ws_pulled_open(&f, d->dest_fd, ch->path, d->opts->secrets) < 0)
		goto fail;
	created = true;
	for (;;) {
		char buf[65536];
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		const char *why;
		if (n == 0)
			break;
		why = chunk_refused(d, a, &f, w, n);
		if (why) {
			/* As ws_diff: a refused file's bytes do not count. */
			ws_pulled_discard(&f);
			d->out->bytes_pulled = before;
			if (*why)
				refuse(d, ch, why);
			else
				ret = -1;
			goto out;
		}
		if (ws_pulled_write(&f, buf, (size_t)n) < 0) {
			if (!f.secret)
				goto fail;
			/* As ws_diff: a refused file's bytes do not count. */
			d->out->bytes_pulled -= f.size;
			ws_pulled_refuse_secret(&f, ch, d->out);
			goto out;
		}
		d->out->bytes_pulled += (uint64_t)n;
	}
	ch->size = f.size;
	if (ws_pulled_finish(&f, archive_entry_perm(ae) & 0111, ch->sha256) <
	    0)
		goto fail;
	ch->pulled = true;
	goto out;
fail:
	/*
	 * A full disk, most often. What did fit goes (part of a file is not
	 * what the task wrote), and the rest of the tar is still read: the
	 * list says every change, this one not pulled and why.
	 */
	ret = errno;
	if (f.fd >= 0)
		ws_pulled_discard(&f);
	else if (created)
		unlinkat(f.pfd, f.base, 0); /* ws_pulled_finish closed it */
	memset(ch->sha256, 0, sizeof(ch->sha256));
	d->out->bytes_pulled = before;
	ws_change_unwritten(d->out, ch, ret, d->err);
	ret = 0;
out:
	ws_pulled_release(&f);
	return ret;
}

/* The wanted entry named name, once; NULL for anything else. */
static struct want *want_for(struct pull_ctx *d, const char *name)
{
	struct want key, *w;

	while (!strncmp(name, "./", 2))
		name += 2;
	key.path = (char *)name;
	w = bsearch(&key, d->wants, d->nr_wants, sizeof(*d->wants), want_cmp);
	if (!w || w->done)
		return NULL;
	w->done = true;
	return w;
}

static int extract_changes(struct pull_ctx *d, int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r, ret = -1;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		strbuf_addf(d->err,
			    "sandbox %s: cannot read the changed "
			    "files' tar: %s",
			    d->sb->id, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ae);
		struct want *w = name ? want_for(d, name) : NULL;

		if (!w)
			continue; /* not asked for: never written */
		if (archive_entry_filetype(ae) != AE_IFREG) {
			refuse(d, &d->out->items[w->change],
			       "could not be read safely");
			continue;
		}
		if (extract_one(d, a, ae, w) < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		strbuf_addf(d->err,
			    "sandbox %s: the changed files' tar is "
			    "corrupt: %s",
			    d->sb->id, archive_error_string(a));
		goto out;
	}
	ws_changes_unwritten_done(d->out, d->err);
	ret = d->out->nr_unwritten ? -1 : 0;
out:
	archive_read_free(a);
	return ret;
}

#define PACK_SCRIPT                                                    \
	"tar -C " E2B_WORKSPACE " --null --no-unquote --no-recursion " \
	"--hard-dereference -czf \"$2\" -T \"$1\"\n"                   \
	"rc=$?\n"                                                      \
	"rm -f \"$1\"\n"                                               \
	"[ -f \"$2\" ] && exit 0\n"                                    \
	"exit $rc\n"

/* Pack the wanted files in the sandbox, download and extract them. */
static int fetch_changes(struct pull_ctx *d)
{
	struct sandbox *sb = d->sb;
	struct strbuf list = STRBUF_INIT, out;
	char lname[64], tname[64], hex[33];
	const char *args[3];
	uint64_t max;
	bool too_big = false;
	int fd = -1, ret = -1;

	strbuf_init_capped(&out, 1 << 16);
	for (size_t i = 0; i < d->nr_wants; i++)
		strbuf_addf(&list, "./%s%c", d->wants[i].path, '\0');
	rand_hex(hex, 16);
	snprintf(lname, sizeof(lname), "/tmp/.runner-%s.list", hex);
	snprintf(tname, sizeof(tname), "/tmp/.runner-%s.tar.gz", hex);
	if (e2b_envd_upload_buf(sb, list.buf, list.len, lname, d->err) < 0)
		goto out;
	args[0] = lname;
	args[1] = tname;
	args[2] = NULL;
	if (e2b_proc_script(sb, "while packing the changed files", PACK_SCRIPT,
			    args, &out, d->err) < 0)
		goto out;
	fd = e2b_envd_tmpfile(d->err);
	if (fd < 0)
		goto out;
	/* Whatever the sandbox claims, no more than the listing's bytes. */
	max = d->planned + d->planned / 64 + 1024 * (d->nr_wants + 4) +
	      (1 << 20);
	if (e2b_envd_download(sb, tname, fd, max, &too_big, d->err) < 0) {
		if (too_big)
			strbuf_addf(d->err,
				    "sandbox %s: the changed files' tar is "
				    "larger than the listing allows",
				    sb->id);
		goto out;
	}
	qsort(d->wants, d->nr_wants, sizeof(*d->wants), want_cmp);
	if (extract_changes(d, fd) < 0)
		goto out;
	for (size_t i = 0; i < d->nr_wants; i++)
		if (!d->wants[i].done)
			refuse(d, &d->out->items[d->wants[i].change],
			       "could not be read safely");
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&list);
	strbuf_release(&out);
	return ret;
}

/* What base had and the listing does not: deleted (ws_diff's tail). */
static void add_deleted(struct pull_ctx *d)
{
	const struct ws_manifest *base = d->base;

	for (size_t i = 0; i < base->nr; i++) {
		const struct ws_entry *e = &base->entries[i];
		struct ws_change *ch;

		if (d->seen[i] || e->type == WS_DIR)
			continue;
		if (d->out->nr >= WS_MAX_CHANGES) {
			d->out->truncated = true;
			break;
		}
		ch = ws_changes_add(d->out, e->path, 'D', e->type);
		ws_change_set_base(ch, e);
		memcpy(ch->sha256, ch->base_sha256, 32);
	}
}

static void pull_ctx_release(struct pull_ctx *d)
{
	if (d->dest_fd >= 0)
		close(d->dest_fd);
	free(d->seen);
	free(d->wants);
	ws_pull_filter_free(d->filter);
}

/*
 * The fetch failed (the sandbox died, the connection dropped): what did
 * not come back is listed as not written, so that the list says it is
 * not the whole of the task's result and apply refuses it; part of a
 * task's changes applied would look like all of them.
 */
static void note_not_fetched(struct pull_ctx *d)
{
	for (size_t i = 0; i < d->nr_wants; i++) {
		struct ws_change *ch = &d->out->items[d->wants[i].change];
		if (ch->pulled || ch->note)
			continue;
		ch->note = xstrdup("could not be fetched from the sandbox");
		d->out->nr_unwritten++;
	}
}

int e2b_pull(struct sandbox *sb, const struct ws_manifest *base,
	     const struct ws_pull_opts *opts, struct ws_changes *out,
	     struct strbuf *err)
{
	struct pull_ctx d = { .sb = sb,
			      .base = base,
			      .opts = opts,
			      .out = out,
			      .dest_fd = -1,
			      .err = err };
	struct e2b_tree t = E2B_TREE_INIT;
	int ret = -1;

	d.filter = ws_pull_filter_new(opts);
	d.seen = xcalloc(base->nr ? base->nr : 1, 1);
	d.tree = &t;
	if (fs_mkdir_p(opts->dest, 0755, err) < 0)
		goto out;
	d.dest_fd = open(opts->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dest_fd < 0) {
		strbuf_addf(err, "cannot open '%s': %s", opts->dest,
			    strerror(errno));
		goto out;
	}
	if (e2b_tree_list(sb, "", "while listing the workspace", NULL, &t,
			  err) < 0 ||
	    diff_dir(&d, "", 0, t.nr) < 0)
		goto out;
	add_deleted(&d);
	ret = d.nr_wants ? fetch_changes(&d) : 0;
	if (ret < 0)
		note_not_fetched(&d);
	/* Even when some could not be written: the list is all of them. */
	ws_changes_sort(out);
out:
	pull_ctx_release(&d);
	e2b_tree_release(&t);
	return ret;
}
