#include "runner.h"
#include "archive.h" /* runner's, and libarchive's through it */
#include <archive_entry.h>
#include "fs.h"
#include "hash.h"
#include "store.h"
#include "store-internal.h"
#include "tap.h"

#include <sys/stat.h>

static void test_sort(void)
{
	/* Shuffled; the wanted order is the table below. */
	static const char *const in[] = {
		"tasks/b/output.log", "run.json", "tasks/a/changes.json",
		"db.json", "tasks/a", "SHA256SUMS", "tasks/a/changes/x",
		"tasks", "tasks/a/changes", "tasks/b", "plan.yaml",
		"tasks/a-b", "tasks/\xc3\xa9", "tasks/z", "README",
		"tasks/a/changes/X",
	};
	static const char *const want[] = {
		"README", "SHA256SUMS", "db.json", "plan.yaml", "run.json",
		"tasks", "tasks/a", "tasks/a-b", "tasks/a/changes",
		"tasks/a/changes.json", "tasks/a/changes/X",
		"tasks/a/changes/x", "tasks/b", "tasks/b/output.log",
		"tasks/z", "tasks/\xc3\xa9",
	};
	struct strvec sv = STRVEC_INIT;
	int same = 1, parents_first = 1;

	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		strvec_push(&sv, in[i]);
	archive_sort_paths(&sv);
	is_int(sv.nr, ARRAY_SIZE(want), "sort keeps every path");
	for (size_t i = 0; i < sv.nr && i < ARRAY_SIZE(want); i++) {
		if (strcmp(sv.v[i], want[i])) {
			printf("# at %zu: got '%s', want '%s'\n", i, sv.v[i],
			       want[i]);
			same = 0;
		}
	}
	ok(same, "paths sort bytewise ('-' and '.' before '/', UTF-8 "
		 "last, upper case first)");
	for (size_t i = 0; i < sv.nr; i++) {
		for (size_t j = 0; j < sv.nr; j++) {
			size_t n = strlen(sv.v[i]);
			if (!strncmp(sv.v[j], sv.v[i], n) &&
			    sv.v[j][n] == '/' && j < i)
				parents_first = 0;
		}
	}
	ok(parents_first, "every directory sorts before its children");
	ok(archive_path_cmp("a", "a") == 0, "cmp: equal");
	ok(archive_path_cmp("a", "ab") < 0, "cmp: prefix first");
	ok(archive_path_cmp("\xff", "a") > 0, "cmp: bytes are unsigned");
	ok(archive_path_cmp("Z", "a") < 0, "cmp: no case folding");
	strvec_clear(&sv);
}

static void test_perm(void)
{
	static const struct {
		mode_t in, want;
	} t[] = {
		{ S_IFREG | 0644, 0644 }, { S_IFREG | 0600, 0644 },
		{ S_IFREG | 0400, 0644 }, { S_IFREG | 0666, 0644 },
		{ S_IFREG | 0000, 0644 }, { S_IFREG | 0755, 0755 },
		{ S_IFREG | 0700, 0755 }, { S_IFREG | 0010, 0755 },
		{ S_IFREG | 0001, 0755 }, { S_IFREG | 04755, 0755 },
		{ S_IFREG | 02644, 0644 }, { S_IFDIR | 0700, 0755 },
		{ S_IFDIR | 01777, 0755 }, { S_IFDIR | 0, 0755 },
		{ S_IFLNK | 0777, 0777 }, { S_IFLNK | 0, 0777 },
		{ S_IFIFO | 0644, 0 },	   { S_IFCHR | 0666, 0 },
		{ S_IFBLK | 0660, 0 },	   { S_IFSOCK | 0755, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		is_int(archive_norm_perm(t[i].in), t[i].want,
		       "norm_perm(0%o) = 0%o", (unsigned)t[i].in,
		       (unsigned)t[i].want);
}

static void test_path_check(void)
{
	static const struct {
		const char *path;
		int ok;
	} t[] = {
		{ "a", 1 },	 { "a/b", 1 },	  { "a/b/", 1 },
		{ "x/...", 1 },	 { ".hidden", 1 }, { "a..b", 1 },
		{ "..a", 1 },	 { "a/.b/c", 1 }, { "", 0 },
		{ "/", 0 },	 { "/a", 0 },	  { "..", 0 },
		{ "../a", 0 },	 { "a/..", 0 },	  { "a/../b", 0 },
		{ "a/../", 0 },	 { ".", 0 },	  { "./a", 0 },
		{ "a/./b", 0 },	 { "a//b", 0 },	  { "a//", 0 },
		{ "a/b//", 0 },	 { "//a", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct strbuf err = STRBUF_INIT;
		int r = archive_path_check(t[i].path, &err);
		ok((r == 0) == t[i].ok && (r == 0) == !err.len,
		   "path_check('%s') %s", t[i].path,
		   t[i].ok ? "accepts" : "rejects");
		if (!t[i].ok && i == ARRAY_SIZE(t) - 1)
			is_str(err.buf, "unsafe path '//a': absolute",
			       "path_check message");
		strbuf_release(&err);
	}
}

static void test_sums(void)
{
	static const char *const paths[] = {
		"plain.txt", "sp ace", "new\nline", "back\\slash",
		"cr\rhere", "\\\n\r", "*star", "tab\there",
	};
	unsigned char sum[32], got[32];
	struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;
	char hex[65];

	sha256_buf("abc", 3, sum);
	sha256_hex(sum, hex);
	archive_sums_add(&sb, sum, "plain.txt");
	is_str(sb.buf,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001"
	       "5ad  plain.txt\n",
	       "sums line: HEX, two spaces, path");
	strbuf_reset(&sb);
	archive_sums_add(&sb, sum, "a\\b\nc");
	ok(sb.buf[0] == '\\' && !strcmp(sb.buf + 65, "  a\\\\b\\nc\n"),
	   "sums line: escaped like sha256sum");
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		strbuf_reset(&sb);
		archive_sums_add(&sb, sum, paths[i]);
		ok(!archive_sums_parse_line(sb.buf, sb.len - 1, got, &path) &&
			   !strcmp(path.buf, paths[i]) &&
			   !memcmp(got, sum, 32) &&
			   !memchr(sb.buf, '\n', sb.len - 1),
		   "sums round trip %zu", i);
	}
	{
		char line[200];
		snprintf(line, sizeof(line), "%s *bin", hex);
		ok(!archive_sums_parse_line(line, strlen(line), got, &path) &&
			   !strcmp(path.buf, "bin"),
		   "sums parse: binary marker");
		for (char *p = line; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
		ok(!archive_sums_parse_line(line, strlen(line), got, &path) &&
			   !memcmp(got, sum, 32),
		   "sums parse: upper-case hex");
	}
	{
#define H1 "ba7816bf8f01cfea414140de5dae2223"
#define H2 "b00361a396177a9cb410ff61f20015ad"
		static const char *const bad[] = {
			"",
			"abc  x",
			H1 H2 " x",		 /* one space */
			H1 H2 "  ",		 /* no path */
			H1 "b00361a396177a9cb410ff61f20015a   x",
			"\\" H1 H2 "  a\\x",	 /* unknown escape */
			"\\" H1 H2 "  a\\",	 /* dangling escape */
			H1 H2 "0  x",		 /* 65 digits */
			"ga7816bf8f01cfea414140de5dae2223" H2 "  x",
		};
#undef H1
#undef H2
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			ok(archive_sums_parse_line(bad[i], strlen(bad[i]), got,
						   &path) < 0,
			   "sums parse rejects malformed line %zu", i);
	}
	strbuf_release(&sb);
	strbuf_release(&path);
}

/* The lines of links and directories: prefixes, escapes, comments. */
static void test_sums_entries(void)
{
	static const struct {
		mode_t type;
		const char *path;
		const char *prefix;
	} t[] = {
		{ S_IFREG, "plain.txt", "" },
		{ S_IFLNK, "tasks/t/link", "#symlink " },
		{ S_IFDIR, "tasks/t", "#dir " },
		{ S_IFLNK, "odd\nname\\", "#symlink \\" },
		{ S_IFDIR, "new\nline", "#dir \\" },
	};
	static const char *const comments[] = {
		"#", "# made by runner", "#symlinkx", "#dirt  x", "#SYMLINK x",
	};
	static const char *const bad[] = {
		"#symlink ",
		"#symlink abc  x",
		"#dir  x",
		"#symlink  ",
	};
	unsigned char sum[32], got[32];
	struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;
	mode_t type;

	sha256_buf("target", 6, sum);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *want = t[i].path;
		strbuf_reset(&sb);
		archive_sums_add_entry(&sb, t[i].type, sum, want);
		ok(!strncmp(sb.buf, t[i].prefix, strlen(t[i].prefix)) &&
			   !memchr(sb.buf, '\n', sb.len - 1),
		   "entry line %zu starts '%s', one line", i, t[i].prefix);
		type = 0;
		ok(!archive_sums_parse_entry(sb.buf, sb.len - 1, &type, got,
					     &path) &&
			   type == t[i].type && !strcmp(path.buf, want) &&
			   !memcmp(got, sum, 32),
		   "entry line %zu round trips", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(comments); i++)
		is_int(archive_sums_parse_entry(comments[i],
						strlen(comments[i]), &type,
						got, &path),
		       1, "'%s' is a comment", comments[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(archive_sums_parse_entry(bad[i], strlen(bad[i]), &type, got,
					    &path) < 0,
		   "'%s' is malformed", bad[i]);
	strbuf_release(&sb);
	strbuf_release(&path);
}

static void test_epoch(void)
{
	static const struct {
		const char *in;
		int ok;
		int64_t want;
	} t[] = {
		{ "0", 1, 0 },
		{ "1234567890", 1, 1234567890 },
		{ "4102444800", 1, 4102444800LL },
		{ "", 0, 0 },
		{ "-1", 0, 0 },
		{ "+1", 0, 0 },
		{ " 1", 0, 0 },
		{ "1 ", 0, 0 },
		{ "12a", 0, 0 },
		{ "1.5", 0, 0 },
		{ "99999999999999999999", 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct strbuf err = STRBUF_INIT;
		int64_t v = -1;
		int r = archive_source_date_epoch(t[i].in, &v, &err);
		ok(t[i].ok ? (!r && v == t[i].want && !err.len)
			   : (r < 0 && err.len),
		   "SOURCE_DATE_EPOCH '%s' %s", t[i].in,
		   t[i].ok ? "parses" : "is refused");
		strbuf_release(&err);
	}
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/u-archive.XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	return xstrdup(tmpl);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	struct strbuf err = STRBUF_INIT;
	if (fs_write_atomic(path, text, strlen(text), mode, &err) < 0) {
		printf("# %s\n", err.buf);
		exit(1);
	}
	strbuf_release(&err);
}

static int read_whole(const char *path, struct strbuf *sb)
{
	strbuf_reset(sb);
	return strbuf_read_file(sb, path);
}

/*
 * A state with one finished run (rows and folder), packed twice, then
 * verified; then the same run marked running is refused.
 */
static void test_pack_verify(const char *tmp)
{
	struct strbuf err = STRBUF_INIT, a = STRBUF_INIT, b = STRBUF_INIT;
	struct strbuf db1 = STRBUF_INIT, db2 = STRBUF_INIT;
	struct archive_pack_result res = ARCHIVE_PACK_RESULT_INIT;
	struct archive_verify_result vr = ARCHIVE_VERIFY_RESULT_INIT;
	struct archive_pack_opts opts = { "r1", NULL, NULL };
	char *state = fs_join(tmp, "state");
	char *dir = fs_join(state, "runs/r1/tasks/t");
	char *out1 = fs_join(tmp, "1.tar.gz");
	char *out2 = fs_join(tmp, "2.tar.gz");
	char *f;
	struct store *st = NULL;
	int r;

	if (store_open(state, STORE_MIGRATE, &st, &err) < 0) {
		printf("# %s\n", err.buf);
		exit(1);
	}
	r = store_exec(st,
		       "INSERT INTO runs (id, plan_name, plan_path,"
		       " plan_sha256, backend, status, started_at, ended_at,"
		       " host, pid) VALUES ('r1', 'p', 'p.yaml', 'x', 'local',"
		       " 'succeeded', 1000, 9876543, 'h', 1);"
		       "INSERT INTO tasks (run_id, id, seq, status)"
		       " VALUES ('r1', 't', 0, 'succeeded');",
		       &err);
	ok(!r, "rows inserted %s", err.buf);
	fs_mkdir_p(dir, 0755, &err);
	f = fs_join(dir, "output.log");
	write_file(f, "hello\n", 0600);
	free(f);
	f = fs_join(dir, "run.sh");
	write_file(f, "#!/bin/sh\n", 0700);
	free(f);
	f = fs_join(dir, "log-link");
	ok(!symlink("output.log", f), "a symlink in the run folder");
	free(f);

	ok(!archive_db_json(st, "r1", &db1, &err) &&
		   !archive_db_json(st, "r1", &db2, &err) &&
		   !strcmp(db1.buf, db2.buf),
	   "db.json is deterministic");
	ok(strstr(db1.buf, "\"ended_at\":\t9876543") != NULL,
	   "db.json keeps integers exact");
	ok(archive_db_json(st, "nope", &db2, &err) < 0 &&
		   strstr(err.buf, "no run 'nope'"),
	   "db.json of an unknown run is an error");
	strbuf_reset(&err);

	opts.out = out1;
	r = archive_pack(st, &opts, &res, &err);
	ok(!r, "pack %s", err.buf);
	is_int(res.files, 4, "4 regular files (2, db.json, SHA256SUMS)");
	is_int(res.mtime, 9876, "mtime is ended_at in seconds");
	archive_pack_result_release(&res);
	opts.out = out2;
	ok(!archive_pack(st, &opts, &res, &err), "pack again %s", err.buf);
	archive_pack_result_release(&res);
	ok(!read_whole(out1, &a) && !read_whole(out2, &b) && a.len > 18 &&
		   a.len == b.len && !memcmp(a.buf, b.buf, a.len),
	   "two archives are byte-identical");
	ok(a.len > 10 && !memcmp(a.buf, "\x1f\x8b\x08\x00\0\0\0\0", 8),
	   "gzip header: no FNAME flag, zero MTIME");

	opts.source_date_epoch = "42";
	ok(!archive_pack(st, &opts, &res, &err) && res.mtime == 42,
	   "SOURCE_DATE_EPOCH wins");
	archive_pack_result_release(&res);
	ok(!read_whole(out2, &b) &&
		   (a.len != b.len || memcmp(a.buf, b.buf, a.len)),
	   "and changes the bytes");
	opts.source_date_epoch = NULL;

	ok(!archive_verify(out1, &vr, &err) && !vr.problems.nr &&
		   vr.listed == 3 && vr.matched == 3,
	   "verify: 3 files OK %s", err.buf);
	ok(vr.links == 1 && vr.links_matched == 1 && vr.dirs == 2 &&
		   vr.dirs_matched == 2,
	   "verify: 1 symlink and 2 directories listed and matched");
	archive_verify_result_release(&vr);

	store_exec(st, "UPDATE runs SET status = 'running'", &err);
	opts.out = out2;
	unlink(out2);
	strbuf_reset(&err);
	r = archive_pack(st, &opts, &res, &err);
	ok(r < 0 && res.still_running, "a running run is refused");
	is_str(err.buf,
	       "run r1 is still going; archive it when it has finished",
	       "refusal message");
	ok(!fs_exists(out2), "and nothing is written");
	archive_pack_result_release(&res);

	store_close(st);
	strbuf_release(&err);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&db1);
	strbuf_release(&db2);
	free(state);
	free(dir);
	free(out1);
	free(out2);
}

/* Write a hostile .tar.gz with libarchive: the entries given. */
struct hostile {
	const char *name;
	int type;
	const char *hardlink;
	const char *data; /* a symlink's target for AE_IFLNK */
};

static void write_hostile(const char *path, const struct hostile *h,
			  size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, h[i].name);
		archive_entry_set_filetype(e, (unsigned)h[i].type);
		archive_entry_set_perm(e, 0644);
		if (h[i].hardlink)
			archive_entry_set_hardlink(e, h[i].hardlink);
		if (h[i].type == AE_IFLNK) {
			archive_entry_set_symlink(e, h[i].data);
			archive_write_header(a, e);
			continue;
		}
		if (h[i].data)
			archive_entry_set_size(e,
					       (la_int64_t)strlen(h[i].data));
		archive_write_header(a, e);
		if (h[i].data)
			archive_write_data(a, h[i].data, strlen(h[i].data));
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void test_hostile(const char *tmp)
{
	static const struct {
		struct hostile h[3];
		const char *want;
	} t[] = {
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/link", AE_IFREG, "top/SHA256SUMS", NULL } },
		  "is a hard link to 'top/SHA256SUMS'" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/fifo", AE_IFIFO, NULL, NULL } },
		  "entry 'top/fifo' is a special file (a fifo)" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/null", AE_IFCHR, NULL, NULL } },
		  "entry 'top/null' is a special file (a character device)" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/a/../../x", AE_IFREG, NULL, "x" } },
		  "'..' component" },
		{ { { "top", AE_IFREG, NULL, "x" },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/x", AE_IFREG, NULL, "x" } },
		  "is not a directory" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" } },
		  "appears twice" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		      "61f20015ad  ../x\n" },
		    { "top/x", AE_IFREG, NULL, "abc" } },
		  "SHA256SUMS line 1: unsafe path" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		      "61f20015ad  x\n"
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		      "61f20015ad  x\n" },
		    { "top/x", AE_IFREG, NULL, "abc" } },
		  "SHA256SUMS lists 'x' twice" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		      "61f20015ad  x\n" },
		    { "top/x", AE_IFREG, NULL, "abc" } },
		  NULL },
	};
	/* Entries whose line is missing or says another type or target. */
	static const struct {
		struct hostile h[3];
		const char *want;
	} p[] = {
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/evil", AE_IFLNK, NULL, "/etc/passwd" } },
		  "extra: evil" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL, "" },
		    { "top/d", AE_IFDIR, NULL, NULL } },
		  "extra: d" },
		/* sha256("abc"), as a link's target and as a file's bytes. */
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "#symlink ba7816bf8f01cfea414140de5dae2223b00361a396177a"
		      "9cb410ff61f20015ad  x\n" },
		    { "top/x", AE_IFLNK, NULL, "/etc/shadow" } },
		  "modified: x" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "#symlink ba7816bf8f01cfea414140de5dae2223b00361a396177a"
		      "9cb410ff61f20015ad  x\n" },
		    { "top/x", AE_IFREG, NULL, "abc" } },
		  "modified: x" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		      "61f20015ad  x\n" },
		    { "top/x", AE_IFLNK, NULL, "abc" } },
		  "modified: x" },
		{ { { "top/", AE_IFDIR, NULL, NULL },
		    { "top/SHA256SUMS", AE_IFREG, NULL,
		      "# a comment\n"
		      "#symlink ba7816bf8f01cfea414140de5dae2223b00361a396177a"
		      "9cb410ff61f20015ad  x\n" },
		    { "top/x", AE_IFLNK, NULL, "abc" } },
		  NULL },
	};
	char *path = fs_join(tmp, "h.tar.gz");

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct archive_verify_result vr = ARCHIVE_VERIFY_RESULT_INIT;
		struct strbuf err = STRBUF_INIT;
		int r;
		unlink(path);
		write_hostile(path, t[i].h, 3);
		r = archive_verify(path, &vr, &err);
		if (t[i].want)
			ok(r < 0 && !vr.io_error && strstr(err.buf, t[i].want),
			   "hostile %zu: %s", i, err.buf);
		else
			ok(!r && !vr.problems.nr && vr.matched == 1,
			   "hand-made archive verifies %s", err.buf);
		archive_verify_result_release(&vr);
		strbuf_release(&err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		struct archive_verify_result vr = ARCHIVE_VERIFY_RESULT_INIT;
		struct strbuf err = STRBUF_INIT;
		int r;
		unlink(path);
		write_hostile(path, p[i].h, 3);
		r = archive_verify(path, &vr, &err);
		if (p[i].want)
			ok(!r && vr.problems.nr == 1 &&
				   !strcmp(vr.problems.v[0], p[i].want),
			   "problem %zu: %s %s", i, p[i].want, err.buf);
		else
			ok(!r && !vr.problems.nr && vr.links_matched == 1,
			   "a link and its line match %s", err.buf);
		archive_verify_result_release(&vr);
		strbuf_release(&err);
	}
	free(path);
}

/*
 * Members of several MiB, of random and of repeated bytes, written with
 * libarchive and listed right: they verify, and memory does not grow with
 * them (they are hashed as they are inflated, not kept).
 */
static void test_big_members(const char *tmp)
{
	static const size_t sizes[] = { 65535, 65536, 65537, 3 << 20,
					(9 << 20) + 7 };
	struct archive_verify_result vr = ARCHIVE_VERIFY_RESULT_INIT;
	struct strbuf err = STRBUF_INIT, sums = STRBUF_INIT;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *path = fs_join(tmp, "big.tar.gz");
	size_t max = (9 << 20) + 7;
	unsigned char *buf = xmalloc(max), sum[32];
	uint32_t x = 12345;
	int r;

	for (size_t i = 0; i < max; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 24);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char name[32];
		snprintf(name, sizeof(name), "r%zu", i);
		sha256_buf(buf, sizes[i], sum);
		archive_sums_add(&sums, sum, name);
	}
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		exit(1);
	archive_entry_set_pathname(e, "top/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_write_header(a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "top/SHA256SUMS");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)sums.len);
	archive_write_header(a, e);
	archive_write_data(a, sums.buf, sums.len);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char name[32];
		snprintf(name, sizeof(name), "top/r%zu", i);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)sizes[i]);
		archive_write_header(a, e);
		archive_write_data(a, buf, sizes[i]);
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	r = archive_verify(path, &vr, &err);
	ok(!r && !vr.problems.nr && vr.matched == ARRAY_SIZE(sizes),
	   "members of 64 KiB +-1, 3 MiB and 9 MiB verify %s%s", err.buf,
	   vr.problems.nr ? vr.problems.v[0] : "");
	archive_verify_result_release(&vr);
	strbuf_release(&err);
	strbuf_release(&sums);
	free(buf);
	free(path);
}


int main(void)
{
	char *tmp = make_tmpdir();
	struct strbuf err = STRBUF_INIT;

	test_sort();
	test_perm();
	test_path_check();
	test_sums();
	test_sums_entries();
	test_epoch();
	test_pack_verify(tmp);
	test_hostile(tmp);
	test_big_members(tmp);
	if (fs_rm_rf(tmp, &err) < 0)
		printf("# %s\n", err.buf);
	strbuf_release(&err);
	free(tmp);
	return done_testing();
}
