#ifndef FS_H
#define FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

/*
 * Small filesystem helpers. All return 0 on success, or -1 with a complete
 * message appended to err ("cannot create '...': No space left on device").
 */

/* mkdir -p with the given mode for created directories. */
int fs_mkdir_p(const char *path, mode_t mode, struct strbuf *err);
/*
 * rm -rf that never follows symlinks and never crosses into another
 * filesystem's mount point. A missing path is success.
 */
int fs_rm_rf(const char *path, struct strbuf *err);
/*
 * Write data to path atomically: a temporary file in the same directory,
 * fsync, rename. Readers see the old file or the new one, never a half.
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, struct strbuf *err);
/*
 * The same, with flags: FS_DURABLE fsyncs before the rename. Without it
 * the file is still never seen half-written, but a power cut may lose it
 * (fine for files whose truth is elsewhere, like results mirrored in the
 * database).
 */
#define FS_DURABLE 1u
int fs_write_atomic_flags(const char *path, const void *data, size_t len,
			  mode_t mode, unsigned flags, struct strbuf *err);
/* Write all of len bytes to fd, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *data, size_t len);
/*
 * Sparse files. Both read from offset 0 to the end of the file and find
 * its holes with SEEK_DATA/SEEK_HOLE (a file system that cannot tell gives
 * the whole file as data), so that a 2 GiB file holding a few MiB costs a
 * few MiB of reading and writing. They return -1 with errno.
 *
 * fs_read_sparse() gives each piece of data (up to 64 KiB) to on_data
 * and the length of each hole, the one at the end included, to on_hole;
 * either callback may stop the walk by returning -1 with errno set.
 */
typedef int (*fs_data_fn)(void *ctx, const void *buf, size_t len);
typedef int (*fs_hole_fn)(void *ctx, uint64_t len);
int fs_read_sparse(int fd, fs_data_fn on_data, fs_hole_fn on_hole, void *ctx);
/*
 * Copy in into out (a new, empty file) with the same holes, in the
 * kernel where it can (copy_file_range, for each stretch of data only:
 * on ext4 it writes holes out as zeros). out ends as long as in.
 */
int fs_copy_sparse(int in, int out);
/* "a" + "/" + "b", without doubling slashes. Caller frees. */
char *fs_join(const char *a, const char *b);
/* Absolute, normalised path of an existing path (realpath). Caller frees. */
char *fs_realpath(const char *path, struct strbuf *err);
/* Directory part of path ("." when there is none). Caller frees. */
char *fs_dirname(const char *path);
/* 1 if path exists (lstat), 0 if not. */
int fs_exists(const char *path);

#endif
