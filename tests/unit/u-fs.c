/*
 * fs_copy_sparse, fs_read_sparse and sha256_fd over files with holes at
 * the start, in the middle and at the end, and a file that is all hole:
 * the copy has the same bytes, the same size and no more blocks than the
 * data needs; the hash is that of the file read densely.
 */
#include "runner.h"
#include "fs.h"
#include "hash.h"
#include "tap.h"

#include <fcntl.h>
#include <sys/stat.h>

#define MIB ((off_t)1 << 20)

static char dir[] = "/tmp/u-fs-XXXXXX";
/* On another file system (tmpfs): copy_file_range says EXDEV. */
static char other[] = "/dev/shm/u-fs-XXXXXX";
static const char *src_dir = dir;

/* A file of size bytes with len bytes of pattern at each offset in at[]. */
static char *make(const char *name, off_t size, const off_t *at, size_t n,
		  size_t len)
{
	char *path = fs_join(src_dir, name);
	char *buf = xmalloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	if (fd < 0 || ftruncate(fd, size) < 0)
		BUG("cannot make %s", path);
	for (size_t i = 0; i < n; i++)
		if (pwrite(fd, buf, len, at[i]) != (ssize_t)len)
			BUG("cannot write %s", path);
	close(fd);
	free(buf);
	return path;
}

/* The hash of every byte of path, read with read(2). */
static void dense_sha(const char *path, unsigned char sum[32])
{
	struct sha256_ctx *c = sha256_new();
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(c, buf, (size_t)n);
	sha256_final(c, sum);
	close(fd);
}

static bool same_bytes(const char *a, const char *b)
{
	unsigned char x[32], y[32];
	dense_sha(a, x);
	dense_sha(b, y);
	return !memcmp(x, y, 32);
}

static void check(const char *name, off_t size, const off_t *at, size_t n,
		  size_t len)
{
	char *src = make(name, size, at, n, len);
	char *base = xstrfmt("%s.copy", name);
	char *dst = fs_join(dir, base);
	unsigned char want[32], got[32];
	struct stat a, b;
	int in = open(src, O_RDONLY), out;
	int fd;

	out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
	is_int(fs_copy_sparse(in, out), 0, "%s: copied", name);
	close(in);
	close(out);
	stat(src, &a);
	stat(dst, &b);
	is_int(b.st_size, size, "%s: the copy is as long", name);
	ok(same_bytes(src, dst), "%s: the copy has the same bytes", name);
	/* Blocks of the data, with room for a block around each piece. */
	ok((uint64_t)b.st_blocks * 512 <= n * (len + 8192),
	   "%s: the copy keeps the holes (%lld blocks, source %lld)", name,
	   (long long)b.st_blocks, (long long)a.st_blocks);
	dense_sha(src, want);
	fd = open(src, O_RDONLY);
	is_int(sha256_fd(fd, got), 0, "%s: hashed", name);
	close(fd);
	ok(!memcmp(want, got, 32), "%s: sha256_fd hashes the holes as zeros",
	   name);
	free(src);
	free(dst);
	free(base);
}

int main(void)
{
	static const off_t middle[] = { 3 * MIB, 9 * MIB };
	static const off_t ends[] = { 0, 16 * MIB - 65536 };
	static const off_t edges[] = { 0, 7 * MIB };
	static const off_t none[] = { 0 };
	struct strbuf err = STRBUF_INIT;

	if (!mkdtemp(dir))
		BUG("mkdtemp");
	check("middle", 16 * MIB, middle, 2, 100000);
	check("ends", 16 * MIB, ends, 2, 65536);
	check("tail-hole", 16 * MIB, edges, 2, 4096);
	check("all-hole", 64 * MIB, none, 0, 1);
	check("dense", 1 * MIB, none, 1, 1 << 20);
	check("empty", 0, none, 0, 1);
	if (mkdtemp(other)) {
		src_dir = other;
		check("from-tmpfs", 16 * MIB, middle, 2, 100000);
		fs_rm_rf(other, &err);
	} else {
		skip("no /dev/shm");
	}
	fs_rm_rf(dir, &err);
	strbuf_release(&err);
	return done_testing();
}
