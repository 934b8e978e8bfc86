#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE, copy_file_range */
#include "runner.h"
#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *path, mode_t mode, struct strbuf *err)
{
	char *p;
	int ret = 0;
	struct stat st;

	/* The common case: it exists, or only the last part is missing. */
	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			strbuf_addf(err, "cannot create directory '%s': %s", p,
				    strerror(errno));
			ret = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!ret && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
		strbuf_addf(err, "'%s' is not a directory", path);
		ret = -1;
	}
	free(p);
	return ret;
}

static int rm_at(int parent, const char *name, dev_t dev, const char *shown,
		 struct strbuf *err)
{
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT) {
			strbuf_addf(err, "cannot remove '%s/%s': %s", shown,
				    name, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (st.st_dev != dev) {
		strbuf_addf(err, "refusing to remove '%s/%s': a mount point",
			    shown, name);
		return -1;
	}
	fd = openat(parent, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* A directory we cannot read may still be empty. */
		fchmodat(parent, name, 0700, 0);
		fd = openat(parent, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		strbuf_addf(err, "cannot open '%s/%s': %s", shown, name,
			    strerror(errno));
		return -1;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rm_at(dirfd(d), de->d_name, dev, shown, err) < 0)
			ret = -1;
	}
	closedir(d);
	if (!ret && unlinkat(parent, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT) {
		if (errno == EACCES || errno == EPERM)
			fchmodat(parent, name, 0700, 0);
		strbuf_addf(err, "cannot remove '%s/%s': %s", shown, name,
			    strerror(errno));
		ret = -1;
	}
	return ret;
}

int fs_rm_rf(const char *path, struct strbuf *err)
{
	char *dir = fs_dirname(path);
	const char *base = strrchr(path, '/');
	struct stat st;
	int dfd, ret;

	base = base ? base + 1 : path;
	if (lstat(path, &st) < 0) {
		free(dir);
		if (errno == ENOENT)
			return 0;
		strbuf_addf(err, "cannot remove '%s': %s", path,
			    strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		strbuf_addf(err, "cannot open '%s': %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	ret = rm_at(dfd, base, st.st_dev, dir, err);
	close(dfd);
	free(dir);
	return ret;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, struct strbuf *err)
{
	return fs_write_atomic_flags(path, data, len, mode, FS_DURABLE, err);
}

int fs_write_atomic_flags(const char *path, const void *data, size_t len,
			  mode_t mode, unsigned flags, struct strbuf *err)
{
	char *tmp = xstrfmt("%s.tmp-%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int ret = -1;

	if (fd < 0) {
		strbuf_addf(err, "cannot write '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	if (fs_write_all(fd, data, len) < 0 ||
	    ((flags & FS_DURABLE) && fsync(fd) < 0)) {
		strbuf_addf(err, "cannot write '%s': %s", path,
			    strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		strbuf_addf(err, "cannot write '%s': %s", path,
			    strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

/*
 * The next stretch of data at or after pos: [*data, *end). No data left:
 * both are the file's size. A file system without SEEK_DATA: everything
 * from pos is data, to the end of the file whatever it is (*end = -1).
 */
static int next_data(int fd, off_t pos, off_t *data, off_t *end)
{
	off_t d = lseek(fd, pos, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO) {
		off_t size = lseek(fd, 0, SEEK_END);
		if (size < 0)
			return -1;
		*data = *end = size > pos ? size : pos;
		return 0;
	}
	if (d < 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
		*data = pos;
		*end = -1;
		return 0;
	}
	if (d < 0)
		return -1;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0 && errno != ENXIO)
		return -1;
	*data = d;
	*end = h < 0 ? d : h; /* ENXIO: it shrank under us */
	return 0;
}

int fs_read_sparse(int fd, fs_data_fn on_data, fs_hole_fn on_hole, void *ctx)
{
	char buf[65536];
	off_t pos = 0, data, end;

	for (;;) {
		if (next_data(fd, pos, &data, &end) < 0)
			return -1;
		if (data > pos && on_hole(ctx, (uint64_t)(data - pos)) < 0)
			return -1;
		pos = data;
		if (pos == end)
			return 0;
		while (end < 0 || pos < end) {
			size_t want = sizeof(buf);
			ssize_t n;
			if (end >= 0 && (uint64_t)(end - pos) < want)
				want = (size_t)(end - pos);
			n = pread(fd, buf, want, pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (!n)
				return 0; /* the end, sooner than SEEK_HOLE
					     said */
			if (on_data(ctx, buf, (size_t)n) < 0)
				return -1;
			pos += n;
		}
	}
}

static int pwrite_all(int fd, const char *p, size_t len, off_t at)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_copy_sparse(int in, int out)
{
	bool kernel = true;
	off_t pos = 0, data, end;

	for (;;) {
		if (next_data(in, pos, &data, &end) < 0)
			return -1;
		pos = data;
		if (pos == end)
			break;
		while (end < 0 || pos < end) {
			size_t want = (size_t)1 << 30;
			ssize_t n;
			if (end >= 0 && (uint64_t)(end - pos) < want)
				want = (size_t)(end - pos);
			if (kernel) {
				off_t from = pos, to = pos;
				n = copy_file_range(in, &from, out, &to, want,
						    0);
				if (n < 0 &&
				    (errno == EXDEV || errno == ENOSYS ||
				     errno == EINVAL || errno == EOPNOTSUPP)) {
					kernel = false;
					continue;
				}
			} else {
				char buf[65536];
				n = pread(in, buf,
					  want < sizeof(buf) ? want
							     : sizeof(buf),
					  pos);
				if (n > 0 &&
				    pwrite_all(out, buf, (size_t)n, pos) < 0)
					return -1;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (!n)
				goto done;
			pos += n;
		}
	}
done:
	/* The hole at the end, if any, is only a length. */
	return ftruncate(out, pos);
}

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (!*b)
		return xstrndup(a, la);
	return xstrfmt("%.*s/%s", (int)la, a, b);
}

char *fs_realpath(const char *path, struct strbuf *err)
{
	char *r = realpath(path, NULL);
	if (!r) {
		strbuf_addf(err, "cannot resolve '%s': %s", path,
			    strerror(errno));
		return NULL;
	}
	return r;
}

char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}
