#ifndef RUNNER_ARCHIVE_H
#define RUNNER_ARCHIVE_H

/*
 * Include this file as "archive.h" (quotes: runner/ is on the quote path
 * only, -iquote); <archive.h> is libarchive's, which this file brings in
 * too, so one include gives both APIs.
 */
#include <archive.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strvec.h"

struct store;
struct strbuf;

/*
 * Reproducible archives of a run (`runner archive`) and their
 * verification (`runner verify`).
 *
 * An archive is a pax (restricted) tar, gzip-compressed, holding one
 * top-level directory runner-RUN/ with:
 *   - everything under STATE/runs/RUN/ (regular files, directories and
 *     symlinks, never followed; special files are skipped with a warning),
 *   - db.json: the run's database rows (see archive_db_json()),
 *   - SHA256SUMS: one line for every other entry (see below).
 * Two archives of the same run are byte-identical: entries sorted
 * bytewise by path (a directory before its children), every mtime the
 * run's end (or SOURCE_DATE_EPOCH), owner 0/0 without names, modes
 * normalised (archive_norm_perm()), no atime/ctime, a gzip header without
 * time or name. Names are plain ustar fields when they fit; others get a
 * pax path header, with hdrcharset=BINARY for non-ASCII bytes (runner
 * never calls setlocale(), so libarchive converts nothing: the bytes do
 * not depend on LANG/LC_ALL). The gzip stream is zlib's at level 9: other
 * deflate implementations (zlib-ng) would compress differently.
 *
 * SHA256SUMS covers every entry but itself and the top directory, one line
 * each, in path order:
 *   HEX  PATH            a regular file: the SHA-256 of its bytes,
 *   #symlink HEX  PATH   a symlink: the SHA-256 of its target (the bytes
 *                        readlink() gives, no NUL or newline),
 *   #dir HEX  PATH       a directory: the SHA-256 of nothing (e3b0c442...),
 * where "HEX  PATH" is sha256sum's line, PATH escaped as sha256sum does
 * (archive_sums_add()): a link named a<newline>b has the line
 * #symlink \HEX  a\nb (a backslash before HEX, and one before 'n').
 * sha256sum -c skips lines that start with '#' (comments), so on an
 * extracted archive it checks the regular files and ignores the rest;
 * runner verify checks all three kinds, a type that differs from its
 * line's is "modified", and an entry without a line is "extra". Other
 * lines starting with '#' are comments to both. An archive never holds
 * hard links, devices, fifos or sockets (verify rejects them).
 *
 * Errors: functions returning int give 0, or -1 with one complete message
 * appended to err; nothing is printed. Not thread-safe in any way that
 * matters: each call uses its own libarchive handle.
 */

/*
 * Bytewise (unsigned char) comparison of two paths, the archive's and
 * SHA256SUMS' order. A directory sorts before its children since its path
 * is a prefix of theirs.
 */
int archive_path_cmp(const char *a, const char *b);
/* Sort sv's strings with archive_path_cmp(). */
void archive_sort_paths(struct strvec *sv);

/*
 * The permission bits stored for a file of type and mode st_mode (as
 * from lstat): directories 0755, symlinks 0777, regular files 0755 when
 * any exec bit is set, else 0644. Other types give 0 (not archived).
 */
mode_t archive_norm_perm(mode_t st_mode);

/*
 * 0 when path is a safe relative path inside the archive: not empty, not
 * absolute, no empty, "." or ".." component. A single trailing '/' (how
 * tar names directories) is allowed. -1 with a message naming path.
 */
int archive_path_check(const char *path, struct strbuf *err);

/*
 * Append one sha256sum line for path to sb: "HEX  PATH\n". As sha256sum
 * does, a path holding '\\', '\n' or '\r' is escaped ("\\\\", "\\n",
 * "\\r") and the line starts with a backslash.
 */
void archive_sums_add(struct strbuf *sb, const unsigned char sum[32],
		      const char *path);
/*
 * Append the SHA256SUMS line of one entry to sb (the format above): type
 * is S_IFREG, S_IFLNK or S_IFDIR, sum the SHA-256 of the file's bytes,
 * the link's target or nothing.
 */
void archive_sums_add_entry(struct strbuf *sb, mode_t type,
			    const unsigned char sum[32], const char *path);
/*
 * Parse one line of SHA256SUMS (without its '\n', len bytes): 0 with
 * *type S_IFREG, S_IFLNK or S_IFDIR, sum and path set; 1 for a comment
 * (a line starting with '#' that is not "#symlink " or "#dir "), nothing
 * set; -1 when malformed, no message.
 */
int archive_sums_parse_entry(const char *line, size_t len, mode_t *type,
			     unsigned char sum[32], struct strbuf *path);
/*
 * Parse one line (without its '\n', len bytes, no NUL inside) in
 * sha256sum's format, text ("HEX  PATH") or binary ("HEX *PATH"),
 * escaped or not. On success sum holds the digest and path (reset first)
 * the unescaped path. -1 when malformed; err gets no message (the caller
 * knows the line number).
 */
int archive_sums_parse_line(const char *line, size_t len,
			    unsigned char sum[32], struct strbuf *path);

/*
 * Parse a SOURCE_DATE_EPOCH value: decimal seconds since the epoch, no
 * sign, no blanks. -1 with a message when malformed.
 */
int archive_source_date_epoch(const char *value, int64_t *out,
			      struct strbuf *err);

/*
 * The JSON of db.json for run_id, appended to out: an object with keys
 * "attempts" (ordered by task_id then attempt), "events" (by id), "run"
 * (the runs row), "schema_version" and "tasks" (by seq). Each row is an
 * object with every column, keys sorted bytewise, integers exactly as
 * stored (times in ms), NULL as null. cJSON, tab indentation, a final
 * newline. Deterministic: the same rows give the same bytes.
 */
int archive_db_json(struct store *st, const char *run_id, struct strbuf *out,
		    struct strbuf *err);

struct archive_pack_opts {
	/* A full run id (resolve what the user typed with runref first). */
	const char *run_id;
	/*
	 * Where to write. A regular file (or a new path) is written
	 * atomically: to "OUT.tmp-PID" in the same directory, fsync,
	 * rename; the temporary is removed on any failure. An existing
	 * non-regular file (a device, a fifo) is written in place, never
	 * replaced. "-" is standard output.
	 */
	const char *out;
	/*
	 * The value of $SOURCE_DATE_EPOCH or NULL. When set it is every
	 * entry's mtime; otherwise the run's ended_at (seconds) is.
	 */
	const char *source_date_epoch;
};

struct archive_pack_result {
	/* Regular files in the archive, db.json and SHA256SUMS included. */
	size_t files;
	uint64_t bytes; /* their total size, uncompressed */
	int64_t mtime;	/* the mtime given to every entry */
	/* Set when -1 means the run is still going (nothing is wrong). */
	int still_running;
	/* One message per special file skipped (fifo, socket, device). */
	struct strvec warnings;
};
#define ARCHIVE_PACK_RESULT_INIT        \
	{                               \
		0, 0, 0, 0, STRVEC_INIT \
	}
void archive_pack_result_release(struct archive_pack_result *res);

/*
 * Write the archive of opts->run_id (from st's database and run folder)
 * to opts->out. A run whose status is still 'running' is refused. Reads
 * each file twice (to hash, then to write) and fails if it changed in
 * between. res is filled on success and may hold warnings on failure.
 */
int archive_pack(struct store *st, const struct archive_pack_opts *opts,
		 struct archive_pack_result *res, struct strbuf *err);

struct archive_verify_result {
	/* Regular files listed in SHA256SUMS, and those that matched. */
	size_t listed;
	size_t matched;
	/*
	 * One line per problem, sorted by path: "modified: PATH" (other
	 * bytes, another link target, or another type than its line says),
	 * "missing: PATH" (listed, absent), "extra: PATH" (an entry of any
	 * type without a line, other than SHA256SUMS). PATH relative to the
	 * top directory, as in SHA256SUMS.
	 */
	struct strvec problems;
	/*
	 * Set when -1 came from reading the file itself (cannot open, read
	 * error), as opposed to what it holds (corrupt, truncated, unsafe
	 * path, no SHA256SUMS).
	 */
	int io_error;
	/* Symlinks and directories listed, and those that matched. */
	size_t links, links_matched;
	size_t dirs, dirs_matched;
};
#define ARCHIVE_VERIFY_RESULT_INIT               \
	{                                        \
		0, 0, STRVEC_INIT, 0, 0, 0, 0, 0 \
	}
void archive_verify_result_release(struct archive_verify_result *res);

/*
 * Check the .tar.gz at path against the SHA256SUMS it holds, streaming:
 * each entry's data is hashed block by block as libarchive inflates it,
 * nothing is buffered or extracted, so memory does not depend on the
 * size of any entry (a gzip bomb costs time, not memory, and shows as
 * the entry it is: extra or modified). What is kept is bounded by
 * ARCHIVE_ENTRIES_MAX entries, ARCHIVE_SUMS_MAX bytes of SHA256SUMS and
 * as many bytes of entry names; beyond them the archive is refused (and
 * archive_pack() refuses to write one). The content is untrusted: an
 * absolute or ".." path, an entry outside the single top-level
 * directory, a duplicate entry, a hard link, a sparse file or a special
 * file (device, fifo, socket) are errors naming the entry. Returns 0 when
 * the archive was read to the end (res->problems empty means it
 * verified), -1 with a message otherwise. path "-" reads standard input.
 */
#define ARCHIVE_ENTRIES_MAX (1 << 20)
#define ARCHIVE_SUMS_MAX (64 << 20)
int archive_verify(const char *path, struct archive_verify_result *res,
		   struct strbuf *err);

#endif
