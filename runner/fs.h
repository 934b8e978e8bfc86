#ifndef FS_H
#define FS_H

#include <stddef.h>
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
/* "a" + "/" + "b", without doubling slashes. Caller frees. */
char *fs_join(const char *a, const char *b);
/* Absolute, normalised path of an existing path (realpath). Caller frees. */
char *fs_realpath(const char *path, struct strbuf *err);
/* Directory part of path ("." when there is none). Caller frees. */
char *fs_dirname(const char *path);
/* 1 if path exists (lstat), 0 if not. */
int fs_exists(const char *path);

#endif
