#include "runner.h"
#include "patch.h"
#include "fs.h"
#include "hash.h"
#include "proc.h"
#include "quote.h"
#include "ws.h"

#include <fcntl.h>
#include <sys/stat.h>

struct patch_out {
	int fd;
	size_t written;
	int write_errno;
	bool capped;
};

static int on_diff_output(void *ctx, const char *buf, size_t len)
{
	struct patch_out *po = ctx;
	if (po->capped || po->write_errno)
		return 0;
	if (po->written + len > PATCH_MAX) {
		len = PATCH_MAX - po->written;
		po->capped = true;
	}
	if (fs_write_all(po->fd, buf, len) < 0)
		po->write_errno = errno;
	po->written += len;
	return 0;
}

static void note(struct patch_out *po, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct patch_out *po, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	on_diff_output(po, sb.buf, sb.len);
	strbuf_release(&sb);
}

bool patch_name_ok(const char *path)
{
	size_t len = strlen(path);

	if (!len || path[len - 1] == ' ')
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * A name in a ---/+++ line. GNU patch ends an unquoted name at the first
 * white space unless a tab follows it, so a name with a space gets a tab
 * after it (as git does).
 */
static char *label(const char *prefix, const char *path)
{
	return xstrfmt("%s%s%s", prefix, path, strchr(path, ' ') ? "\t" : "");
}

/* "# NAME: what" with the name quoted: one line, whatever the name. */
static void note_name(struct patch_out *po, const char *path, const char *what)
{
	char *q = quote_path_dup(path);
	note(po, "# %s: %s\n", q, what);
	free(q);
}

/* The workspace file still is what the snapshot saw. */
static bool base_intact(const char *path, const unsigned char base[32])
{
	unsigned char sum[32];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool ok = fd >= 0 && sha256_fd(fd, sum) == 0 && !memcmp(sum, base, 32);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Text: no NUL byte in the first 8 KiB (what diff itself looks at). */
static bool looks_text(const char *buf, size_t len)
{
	return !memchr(buf, '\0', len < 8192 ? len : 8192);
}

/*
 * An added or deleted file's hunk needs no diff(1): every line is '+'
 * (or '-'). Written here, it costs no process per file.
 */
static int whole_file(struct patch_out *po, const char *path_of,
		      const char *path, bool added, struct strbuf *err)
{
	char *lb = label(added ? "b/" : "a/", path_of);
	struct strbuf text;
	size_t lines = 0;
	const char *p;
	int ret = 0;

	strbuf_init_capped(&text, PATCH_MAX);
	if (strbuf_read_file(&text, path) < 0) {
		if (errno != EFBIG) {
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(errno));
			ret = -1;
		} else {
			note_name(po, path_of, "too large to show");
		}
		goto out;
	}
	if (!text.len)
		goto out;
	if (!looks_text(text.buf, text.len)) {
		/* diff's notice: patch skips it, no tab wanted. */
		note(po, "Binary files %s%s and %s%s differ\n",
		     added ? "" : "a/", added ? "/dev/null" : path_of,
		     added ? "b/" : "", added ? path_of : "/dev/null");
		goto out;
	}
	for (p = text.buf; p < text.buf + text.len; p++)
		if (*p == '\n')
			lines++;
	if (text.buf[text.len - 1] != '\n')
		lines++;
	if (added)
		note(po, "--- /dev/null\n+++ %s\n@@ -0,0 +1", lb);
	else
		note(po, "--- %s\n+++ /dev/null\n@@ -1", lb);
	if (lines != 1)
		note(po, ",%zu", lines);
	note(po, added ? " @@\n" : " +0,0 @@\n");
	for (p = text.buf; p < text.buf + text.len;) {
		size_t left = (size_t)(text.buf + text.len - p);
		const char *nl = memchr(p, '\n', left);
		size_t n = nl ? (size_t)(nl - p) : left;
		on_diff_output(po, added ? "+" : "-", 1);
		on_diff_output(po, p, n);
		on_diff_output(po, "\n", 1);
		if (!nl)
			note(po, "\\ No newline at end of file\n");
		p += n + 1;
	}
out:
	strbuf_release(&text);
	free(lb);
	return ret;
}

static int diff_one(struct patch_out *po, const char *path_of, const char *old,
		    const char *new, struct strbuf *err)
{
	struct proc p;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	char *la = label("a/", path_of), *lb = label("b/", path_of);
	int ret = 0;

	proc_init(&p);
	strvec_push(&p.args, "diff");
	strvec_push(&p.args, "-u");
	strvec_push(&p.args, "--label");
	strvec_push(&p.args, old[0] == '/' && !strcmp(old, "/dev/null")
				     ? "/dev/null"
				     : la);
	strvec_push(&p.args, "--label");
	strvec_push(&p.args, !strcmp(new, "/dev/null") ? "/dev/null" : lb);
	strvec_push(&p.args, "--");
	strvec_push(&p.args, old);
	strvec_push(&p.args, new);
	strvec_push(&p.env, "LC_ALL=C");
	strvec_push(&p.env, "PATH=/usr/bin:/bin");
	p.path = "/usr/bin:/bin";
	o.timeout_ms = 60000;
	o.on_output = on_diff_output;
	o.ctx = po;
	if (proc_start(&p, err) < 0 || proc_run(&p, &o, &r, err) < 0)
		ret = -1;
	else if (r.exit_code > 1) {
		char *what = xstrfmt("diff failed (status %d)", r.exit_code);
		note_name(po, path_of, what);
		free(what);
	}
	proc_release(&p);
	free(la);
	free(lb);
	return ret;
}

bool patch_wanted(const struct ws_change *x)
{
	return x->type == WS_FILE && (x->kind == 'D' || x->pulled);
}

int patch_write(const struct ws_changes *c, const char *workspace,
		const char *changes_dir, const char *patch_path,
		struct strbuf *err)
{
	struct patch_out po = { .fd = -1 };
	int ret = 0, diffs = 0;

	po.fd = open(patch_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     0644);
	if (po.fd < 0) {
		strbuf_addf(err, "cannot write '%s': %s", patch_path,
			    strerror(errno));
		return -1;
	}
	/* Said first: a reader of the patch sees what it does not hold. */
	for (size_t i = 0; i < c->nr && !po.capped; i++)
		if (patch_wanted(&c->items[i]) &&
		    !patch_name_ok(c->items[i].path))
			note_name(&po, c->items[i].path, PATCH_LEFT_OUT);
	for (size_t i = 0; i < c->nr && !ret && !po.capped; i++) {
		const struct ws_change *x = &c->items[i];
		char *old = NULL, *new = NULL;

		if (!patch_wanted(x) || !patch_name_ok(x->path))
			continue;
		if (x->kind == 'M' && ++diffs > PATCH_MAX_DIFFS) {
			char *what = xstrfmt("not diffed (more than %d "
					     "modified files)",
					     PATCH_MAX_DIFFS);
			note_name(&po, x->path, what);
			free(what);
			continue;
		}
		if (x->kind != 'A') {
			struct stat st;
			old = fs_join(workspace, x->path);
			/*
			 * Past the patch's own cap it would only be cut: do
			 * not hash and diff(1) a 2 GiB file to say so.
			 */
			if ((x->kind == 'M' && x->size > PATCH_MAX) ||
			    (!stat(old, &st) &&
			     (uint64_t)st.st_size > PATCH_MAX)) {
				note(&po, "# %s: too large to show\n",
				     x->path);
				free(old);
				continue;
			}
			if (!x->has_base ||
			    !base_intact(old, x->base_sha256)) {
				note_name(&po, x->path,
					  "the workspace file changed "
					  "since the task started; not "
					  "diffed");
				free(old);
				continue;
			}
		}
		if (x->kind != 'D')
			new = fs_join(changes_dir, x->path);
		if (x->kind == 'M')
			ret = diff_one(&po, x->path, old, new, err);
		else
			ret = whole_file(&po, x->path, old ? old : new,
					 x->kind == 'A', err);
		free(old);
		free(new);
	}
	if (po.capped &&
	    fs_write_all(po.fd, "\n# changes.patch cut at 64 MiB\n", 31) < 0)
		po.write_errno = errno;
	if (po.write_errno && !ret) {
		strbuf_addf(err, "cannot write '%s': %s", patch_path,
			    strerror(po.write_errno));
		ret = -1;
	}
	close(po.fd);
	return ret;
}
