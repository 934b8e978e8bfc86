#include "runner.h"
#include "fs.h"
#include "ws-secrets.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

/*
 * secrets-tool: the workspace secret scanner from the shell, for
 * tests/t/t5100-secrets.sh.
 *
 *   secrets-tool scan [--buffer] [--max-bytes N] [--stats] PATH...
 *
 * Scans each PATH: a file through secrets_scan_file() (opened under its
 * parent directory, recorded as PATH), a directory by walking it in sorted
 * order (symbolic links and special files skipped, as the snapshot would
 * not upload them) and recording each file as PATH/sub/name ("./" is
 * dropped, so "scan ." records workspace-relative paths). Prints every
 * finding as "PATH:LINE: RULE", never the secret.
 *
 *   --buffer       read each file whole and use secrets_scan_buffer()
 *   --max-bytes N  use secrets_scan_fd() with that cap (0: none) instead
 *                  of secrets_scan_file()'s SECRETS_SCAN_MAX_BYTES
 *   --stats        print "bytes=N ms=N vmhwm_kb=N" on stderr at the end
 *
 * Exit status: 0 nothing found, 1 findings, 2 usage or a file that could
 * not be scanned (its error on stderr; the others are still scanned).
 */

enum mode { MODE_FILE, MODE_FD, MODE_BUFFER };

struct opts {
	enum mode mode;
	uint64_t max_bytes;
	uint64_t bytes;
	int errors;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_one(struct opts *o, int dirfd, const char *name,
		     const char *rel, struct secret_findings *out)
{
	struct strbuf err = STRBUF_INIT, buf = STRBUF_INIT;
	struct stat st;
	int fd = -1, n = 0;

	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISREG(st.st_mode))
		o->bytes += (uint64_t)st.st_size;
	if (o->mode == MODE_FILE) {
		n = secrets_scan_file(dirfd, name, rel, out, &err);
		goto out;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(&err, "cannot open '%s': %s", rel,
			    strerror(errno));
		n = -1;
	} else if (o->mode == MODE_FD) {
		n = secrets_scan_fd(fd, rel, o->max_bytes, out, &err);
	} else if (strbuf_read_fd(&buf, fd) < 0) {
		strbuf_addf(&err, "cannot read '%s': %s", rel,
			    strerror(errno));
		n = -1;
	} else {
		secrets_scan_buffer(rel, buf.buf, buf.len, out);
	}
out:
	if (n < 0) {
		fprintf(stderr, "secrets-tool: %s\n", err.buf);
		o->errors++;
	}
	if (fd >= 0)
		close(fd);
	strbuf_release(&err);
	strbuf_release(&buf);
}

static void walk(struct opts *o, int dirfd, struct strbuf *rel,
		 struct secret_findings *out)
{
	struct strvec names = STRVEC_INIT;
	size_t len = rel->len, i;
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		fprintf(stderr, "secrets-tool: cannot read '%s': %s\n",
			rel->buf, strerror(errno));
		o->errors++;
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
	qsort(names.v, names.nr, sizeof(*names.v), cmp_str);
	for (i = 0; i < names.nr; i++) {
		struct stat st;

		strbuf_setlen(rel, len);
		if (len)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, names.v[i]);
		if (fstatat(dirfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, names.v[i],
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);

			if (sub < 0)
				continue;
			walk(o, sub, rel, out);
			close(sub);
		} else if (S_ISREG(st.st_mode)) {
			scan_one(o, dirfd, names.v[i], rel->buf, out);
		}
	}
	strbuf_setlen(rel, len);
	closedir(d);
	strvec_clear(&names);
}

static void scan_path(struct opts *o, const char *path,
		      struct secret_findings *out)
{
	struct strbuf rel = STRBUF_INIT;
	struct stat st;
	char *dir = NULL;
	const char *base;
	int dfd = -1;

	if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			fprintf(stderr, "secrets-tool: cannot open '%s': %s\n",
				path, strerror(errno));
			o->errors++;
			goto out;
		}
		if (strcmp(path, "."))
			strbuf_addstr(&rel, path);
		while (rel.len > 1 && rel.buf[rel.len - 1] == '/')
			strbuf_setlen(&rel, rel.len - 1);
		walk(o, dfd, &rel, out);
		goto out;
	}
	/* A file: open its parent, then the name under it. */
	dir = fs_dirname(path);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "secrets-tool: cannot open '%s': %s\n", dir,
			strerror(errno));
		o->errors++;
		goto out;
	}
	scan_one(o, dfd, base, path, out);
out:
	if (dfd >= 0)
		close(dfd);
	free(dir);
	strbuf_release(&rel);
}

static long vm_hwm_kb(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	long kb = -1;

	if (strbuf_read_file(&sb, "/proc/self/status") == 0 &&
	    (p = strstr(sb.buf, "VmHWM:")))
		kb = strtol(p + 6, NULL, 10);
	strbuf_release(&sb);
	return kb;
}

static int usage(void)
{
	fprintf(stderr, "usage: secrets-tool scan [--buffer] [--max-bytes N] "
		"[--stats] PATH...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { MODE_FILE, 0, 0, 0 };
	struct secret_findings f = SECRET_FINDINGS_INIT;
	struct timespec t0, t1;
	bool stats = false;
	size_t i;
	int a = 2, ret;

	if (argc < 2 || strcmp(argv[1], "scan"))
		return usage();
	for (; a < argc && !strncmp(argv[a], "--", 2); a++) {
		if (!strcmp(argv[a], "--buffer")) {
			o.mode = MODE_BUFFER;
		} else if (!strcmp(argv[a], "--stats")) {
			stats = true;
		} else if (!strcmp(argv[a], "--max-bytes") && a + 1 < argc) {
			char *end;

			errno = 0;
			o.max_bytes = strtoull(argv[++a], &end, 10);
			if (errno || *end || !*argv[a])
				return usage();
			o.mode = MODE_FD;
		} else if (!strcmp(argv[a], "--")) {
			a++;
			break;
		} else {
			return usage();
		}
	}
	if (a == argc)
		return usage();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; a < argc; a++)
		scan_path(&o, argv[a], &f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < f.nr; i++)
		printf("%s:%u: %s\n", f.items[i].path, f.items[i].line,
		       f.items[i].rule);
	if (stats)
		fprintf(stderr, "bytes=%" PRIu64 " ms=%ld vmhwm_kb=%ld\n",
			o.bytes,
			(long)((t1.tv_sec - t0.tv_sec) * 1000 +
			       (t1.tv_nsec - t0.tv_nsec) / 1000000),
			vm_hwm_kb());
	ret = o.errors ? 2 : f.nr ? 1 : 0;
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "secrets-tool: write error\n");
		ret = 2;
	}
	secret_findings_release(&f);
	return ret;
}
