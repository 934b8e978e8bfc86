#include "runner.h"
#include "ws-ignore.h"

#include <dirent.h>
#include <sys/stat.h>

/*
 * ignore-tool: walk a tree the way the workspace snapshot does and print
 * every path with its verdict, so tests/t/t5000-ignore.sh can compare
 * runner's matcher with git's on the same tree.
 *
 *   ignore-tool walk ROOT [-x PATTERN]...
 *	Like the snapshot: read the .gitignore of each directory on the way
 *	down, and print but do not enter an excluded directory. The verdict
 *	is ignore_match() of the .gitignore matcher or of the -x matcher
 *	(the plan's `exclude`, applied on top).
 *   ignore-tool all ROOT [-x PATTERN]...
 *	Enter every directory, excluded or not (reading .gitignore files
 *	only in directories that are not excluded, as git does), and print
 *	ignore_path_excluded(): git check-ignore's answer for each path.
 *
 * Output, one line a path, in sorted walk order ("." and ".git" are
 * skipped at every level, as git does):
 *	VERDICT TAB TYPE TAB PATH
 * VERDICT is 1 (excluded) or 0, TYPE d (directory), f (regular file),
 * l (symbolic link, never followed) or o (anything else).
 */

struct walk {
	struct strbuf root;
	struct ignore *gi;	/* the .gitignore files */
	struct ignore *ex;	/* the -x patterns */
	bool all;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *w, struct strbuf *rel, bool read_gi)
{
	struct strbuf full = STRBUF_INIT, err = STRBUF_INIT;
	struct strvec names = STRVEC_INIT;
	size_t dirlen = rel->len, i, fulllen;
	DIR *d = NULL;
	struct dirent *de;
	int ret = -1;

	strbuf_addstr(&full, w->root.buf);
	if (rel->len)
		strbuf_addf(&full, "/%s", rel->buf);
	fulllen = full.len;
	if (read_gi) {
		strbuf_addstr(&full, "/.gitignore");
		if (ignore_add_file(w->gi, rel->buf, full.buf, &err) < 0) {
			fprintf(stderr, "ignore-tool: %s\n", err.buf);
			goto out;
		}
		strbuf_setlen(&full, fulllen);
	}
	d = opendir(full.buf);
	if (!d) {
		fprintf(stderr, "ignore-tool: cannot open '%s': %s\n",
			full.buf, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git"))
			continue;
		strvec_push(&names, de->d_name);
	}
	qsort(names.v, names.nr, sizeof(*names.v), cmp_str);

	for (i = 0; i < names.nr; i++) {
		struct stat st;
		bool is_dir;
		int v;
		char type;

		strbuf_setlen(&full, fulllen);
		strbuf_addf(&full, "/%s", names.v[i]);
		if (lstat(full.buf, &st) < 0) {
			fprintf(stderr, "ignore-tool: cannot stat '%s': %s\n",
				full.buf, strerror(errno));
			goto out;
		}
		is_dir = S_ISDIR(st.st_mode);
		type = is_dir ? 'd' : S_ISREG(st.st_mode) ? 'f' :
		       S_ISLNK(st.st_mode) ? 'l' : 'o';
		strbuf_setlen(rel, dirlen);
		if (dirlen)
			strbuf_addch(rel, '/');
		strbuf_addstr(rel, names.v[i]);
		if (w->all)
			v = ignore_path_excluded(w->gi, rel->buf, is_dir) ||
			    ignore_path_excluded(w->ex, rel->buf, is_dir);
		else
			v = ignore_match(w->gi, rel->buf, is_dir) ||
			    ignore_match(w->ex, rel->buf, is_dir);
		printf("%d\t%c\t%s\n", v, type, rel->buf);
		if (is_dir && (w->all || !v) && walk_dir(w, rel, !v) < 0)
			goto out;
	}
	ret = 0;
out:
	strbuf_setlen(rel, dirlen);
	if (d)
		closedir(d);
	strvec_clear(&names);
	strbuf_release(&full);
	strbuf_release(&err);
	return ret;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: ignore-tool (walk|all) ROOT [-x PATTERN]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct walk w = { STRBUF_INIT, NULL, NULL, false };
	struct strbuf rel = STRBUF_INIT;
	int i, ret = 1;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "all"))
		w.all = true;
	else if (strcmp(argv[1], "walk"))
		return usage();
	strbuf_addstr(&w.root, argv[2]);
	while (w.root.len > 1 && w.root.buf[w.root.len - 1] == '/')
		strbuf_setlen(&w.root, w.root.len - 1);
	w.gi = ignore_new();
	w.ex = ignore_new();
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-x") || i + 1 == argc) {
			ret = usage();
			goto out;
		}
		ignore_add_pattern(w.ex, argv[++i]);
	}
	if (walk_dir(&w, &rel, true) < 0)
		goto out;
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "ignore-tool: write error\n");
		goto out;
	}
	ret = 0;
out:
	ignore_free(w.gi);
	ignore_free(w.ex);
	strbuf_release(&w.root);
	strbuf_release(&rel);
	return ret;
}
