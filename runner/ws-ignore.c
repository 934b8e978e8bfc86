#include "runner.h"
#include "ws-ignore.h"

#include <fcntl.h>
#include <sys/stat.h>

/*
 * Patterns are parsed once into struct ignore_pattern with the facts the
 * matcher needs (negated, directory-only, basename-only, literal prefix
 * length, "*literal"), so most checks are a length test and a memcmp.
 * Only what is left after the literal prefix goes to the glob matcher.
 *
 * The sources are indexed by base directory in a hash table; a path looks
 * up each of its parent directories ("", "a", "a/b", ...) and so visits
 * only the sources that apply to it, however many .gitignore files the
 * tree has.
 */

#define IGNORE_FILE_MAX (100 * 1024 * 1024)

enum {
	PAT_NEGATIVE = 1 << 0,
	PAT_MUSTBEDIR = 1 << 1,
	PAT_NODIR = 1 << 2,    /* no '/': matched against the basename */
	PAT_ENDSWITH = 1 << 3, /* '*' then a literal: a suffix test */
};

struct ignore_pattern {
	char *pat; /* without the '!' and the trailing '/' */
	size_t len;
	size_t nowild; /* length of the leading literal part */
	unsigned flags;
};

struct ignore_source {
	char *base;
	size_t baselen;
	struct ignore_pattern *pats;
	size_t nr, alloc;
};

/* The sources that share one base, by increasing index. */
struct ignore_dir {
	const char *base; /* the first such source's base */
	size_t len;
	uint64_t hash;
	size_t *srcs;
	size_t nr, alloc;
};

struct ignore {
	struct ignore_source *src;
	size_t nr, alloc;
	struct ignore_dir *dirs; /* open addressing; srcs NULL = free */
	size_t dirs_cap;	 /* a power of two, or 0 */
	size_t dirs_nr;
};

/* ---------------------------------------------------------------- */
/* The glob matcher: git's wildmatch semantics, written anew.        */

enum {
	WM_MATCH = 0,
	WM_NOMATCH = 1,
	WM_ABORT_ALL = -1,	   /* no shorter text can match either */
	WM_ABORT_TO_STARSTAR = -2, /* only an outer "**" can help */
	WM_GO_ON = 2,		   /* internal: go on at the new p and t */
};

typedef unsigned char uchar;

static int glob_special(uchar c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static int is_alpha(uchar c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(uchar c)
{
	return c >= '0' && c <= '9';
}

/*
 * git's own ASCII ctype, not the C library's: no locale, "space" is
 * " \t\n\r" only and nothing at 128 or above belongs to any class.
 */
static int class_match(const uchar *name, size_t len, uchar c, int *known)
{
	static const char *const names[] = {
		"alnum", "alpha", "blank", "cntrl", "digit", "graph",
		"lower", "print", "punct", "space", "upper", "xdigit",
	};
	size_t i;
	int print = c >= 0x20 && c <= 0x7e;

	*known = 1;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && !memcmp(names[i], name, len))
			break;
	switch (i) {
	case 0:
		return is_alpha(c) || is_digit(c);
	case 1:
		return is_alpha(c);
	case 2:
		return c == ' ' || c == '\t';
	case 3:
		return c < 0x20 || c == 0x7f;
	case 4:
		return is_digit(c);
	case 5:
		return print && c != ' ';
	case 6:
		return c >= 'a' && c <= 'z';
	case 7:
		return print;
	case 8:
		return print && c != ' ' && !is_alpha(c) && !is_digit(c);
	case 9:
		return c == ' ' || c == '\t' || c == '\n' || c == '\r';
	case 10:
		return c >= 'A' && c <= 'Z';
	case 11:
		return is_digit(c) || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F');
	}
	*known = 0;
	return 0;
}

/*
 * One bracket expression at *pp (just past the '['), against c. Leaves *pp
 * on the closing ']'. A ']' first in the set is a member; "a-z" ranges;
 * "\x" escapes; "[:name:]" classes; a set that never closes, or names an
 * unknown class, aborts the whole match, as in git.
 */
static int wm_bracket(const uchar **pp, uchar c, int pathname)
{
	const uchar *p = *pp;
	uchar pc = *p, prev = 0;
	int negated, matched = 0;

	if (pc == '^')
		pc = '!';
	negated = pc == '!';
	if (negated)
		pc = *++p;
	do {
		if (!pc)
			return WM_ABORT_ALL;
		if (pc == '\\') {
			pc = *++p;
			if (!pc)
				return WM_ABORT_ALL;
			if (c == pc)
				matched = 1;
		} else if (pc == '-' && prev && p[1] && p[1] != ']') {
			pc = *++p;
			if (pc == '\\') {
				pc = *++p;
				if (!pc)
					return WM_ABORT_ALL;
			}
			if (c >= prev && c <= pc)
				matched = 1;
			pc = 0; /* a range cannot start another one */
		} else if (pc == '[' && p[1] == ':') {
			const uchar *s = p + 2, *q = s;
			int known;

			while (*q && *q != ']')
				q++;
			if (!*q)
				return WM_ABORT_ALL;
			if (q == s || q[-1] != ':') {
				/* no ":]": the '[' is an ordinary member */
				if (c == '[')
					matched = 1;
				continue;
			}
			if (class_match(s, (size_t)(q - s - 1), c, &known))
				matched = 1;
			if (!known)
				return WM_ABORT_ALL;
			p = q;
			pc = 0;
		} else if (c == pc) {
			matched = 1;
		}
	} while (prev = pc, (pc = *++p) != ']');
	*pp = p;
	if (matched == negated || (pathname && c == '/'))
		return WM_NOMATCH;
	return WM_GO_ON;
}

/*
 * git's algorithm backtracks: a chain of "**" + "/" links costs time
 * doubling with each link (16 links on a 24-level path take minutes), and
 * a .gitignore comes with the workspace. So after WM_MEMO_AFTER recursive
 * calls the matcher starts remembering the verdict of each recursive call
 * by (pattern offset, text offset): a recursive call's verdict depends on
 * nothing else (only the outermost call can see "**" at its start without
 * a '/' before it), so the answers stay git's and the time polynomial.
 */
#define WM_MEMO_AFTER 1000
#define WM_MEMO_MAX (64 * 1024 * 1024)

struct wm_state {
	const uchar *pat; /* the whole pattern: offsets are from here */
	const uchar *text;
	const uchar *end;
	int pathname;
	size_t calls;
	size_t cols;	   /* text length + 1 */
	signed char *memo; /* verdict + 3 by offsets; 0 = not yet */
	bool no_memo;	   /* the table would be too large */
};

static int wm(struct wm_state *st, const uchar *p, const uchar *t);

static int wm_memo(struct wm_state *st, const uchar *p, const uchar *t)
{
	size_t rows, i;
	int r;

	if (!st->memo && !st->no_memo && ++st->calls > WM_MEMO_AFTER) {
		rows = strlen((const char *)st->pat) + 1;
		st->cols = (size_t)(st->end - st->text) + 1;
		if (rows > WM_MEMO_MAX / st->cols)
			st->no_memo = true;
		else
			st->memo = xcalloc(rows * st->cols, 1);
	}
	if (!st->memo)
		return wm(st, p, t);
	i = (size_t)(p - st->pat) * st->cols + (size_t)(t - st->text);
	if (st->memo[i])
		return st->memo[i] - 3;
	r = wm(st, p, t);
	st->memo[i] = (signed char)(r + 3);
	return r;
}

/*
 * A run of '*' at *pp. Returns a verdict, or WM_GO_ON with *pp and *tp
 * moved to the slash that "*" + "/" skipped to.
 */
static int wm_star(struct wm_state *st, const uchar **pp, const uchar **tp,
		   const uchar *start)
{
	const uchar *p = *pp, *t = *tp, *end = st->end;
	int match_slash, r;

	if (*++p == '*') {
		/* p - 1 is the first star: is it a component's start? */
		int comp_start = p - 1 == start || p[-2] == '/';

		while (*++p == '*')
			;
		if (!st->pathname) {
			match_slash = 1;
		} else if (comp_start &&
			   (!*p || *p == '/' || (*p == '\\' && p[1] == '/'))) {
			/* "**" + "/" may also match no directory at all */
			if (*p == '/' && wm_memo(st, p + 1, t) == WM_MATCH)
				return WM_MATCH;
			match_slash = 1;
		} else {
			/* "**" inside a component is just "*" */
			match_slash = 0;
		}
	} else {
		match_slash = !st->pathname;
	}

	if (!*p) {
		if (!match_slash && memchr(t, '/', (size_t)(end - t)))
			return WM_NOMATCH;
		return WM_MATCH;
	}
	if (!match_slash && *p == '/') {
		const uchar *slash = memchr(t, '/', (size_t)(end - t));

		if (!slash)
			return WM_NOMATCH;
		*pp = p;
		*tp = slash;
		return WM_GO_ON;
	}
	for (; t < end; t++) {
		if (!glob_special(*p)) {
			/* skip straight to the next place the literal fits */
			while (t < end && *t != *p &&
			       (match_slash || *t != '/'))
				t++;
			if (t == end || *t != *p)
				return WM_NOMATCH;
		}
		r = wm_memo(st, p, t);
		if (r != WM_NOMATCH) {
			if (!match_slash || r != WM_ABORT_TO_STARSTAR)
				return r;
		} else if (!match_slash && *t == '/') {
			return WM_ABORT_TO_STARSTAR;
		}
	}
	return WM_ABORT_ALL;
}

/* Match the NUL-terminated pattern at p against the text [t, st->end). */
static int wm(struct wm_state *st, const uchar *p, const uchar *t)
{
	const uchar *start = p, *end = st->end;
	int r;

	for (; *p; p++, t++) {
		uchar pc = *p, c;

		if (t == end && pc != '*')
			return WM_ABORT_ALL;
		c = t < end ? *t : 0;
		switch (pc) {
		case '\\':
			/* a trailing '\' matches nothing: pc becomes NUL */
			pc = *++p;
			if (c != pc)
				return WM_NOMATCH;
			break;
		case '?':
			if (st->pathname && c == '/')
				return WM_NOMATCH;
			break;
		case '*':
			r = wm_star(st, &p, &t, start);
			if (r != WM_GO_ON)
				return r;
			break;
		case '[':
			p++;
			r = wm_bracket(&p, c, st->pathname);
			if (r != WM_GO_ON)
				return r;
			break;
		default:
			if (c != pc)
				return WM_NOMATCH;
			break;
		}
	}
	return t == end ? WM_MATCH : WM_NOMATCH;
}

static int wildmatch_len(const char *pattern, const char *text, size_t len,
			 int pathname)
{
	struct wm_state st = { 0 };
	int r;

	st.pat = (const uchar *)pattern;
	st.text = (const uchar *)text;
	st.end = st.text + len;
	st.pathname = pathname;
	r = wm(&st, st.pat, st.text);
	free(st.memo);
	return r == WM_MATCH;
}

int ignore_wildmatch(const char *pattern, const char *text, bool pathname)
{
	return wildmatch_len(pattern, text, strlen(text), pathname);
}

/* ---------------------------------------------------------------- */
/* Parsing.                                                         */

/* Spaces at the end go, unless escaped; tabs stay (git's rule). */
static void trim_trailing_spaces(char *s)
{
	char *p, *first_space = NULL;

	for (p = s; *p; p++) {
		if (*p == ' ') {
			if (!first_space)
				first_space = p;
			continue;
		}
		if (*p == '\\' && !*++p)
			return;
		first_space = NULL;
	}
	if (first_space)
		*first_space = '\0';
}

/* line is one NUL-terminated, modifiable .gitignore line. */
static void source_add_line(struct ignore_source *src, char *line)
{
	struct ignore_pattern *pt;
	unsigned flags = 0;
	char *p = line;
	size_t len, i;

	if (!*p || *p == '#')
		return;
	trim_trailing_spaces(p);
	if (*p == '!') {
		flags |= PAT_NEGATIVE;
		p++;
	}
	len = strlen(p);
	if (len && p[len - 1] == '/') {
		len--;
		flags |= PAT_MUSTBEDIR;
	}
	/* "", "!" and "/": git keeps them, but they never match */
	if (!len)
		return;
	if (!memchr(p, '/', len))
		flags |= PAT_NODIR;

	ALLOC_GROW(src->pats, src->nr + 1, src->alloc);
	pt = &src->pats[src->nr++];
	pt->pat = xstrndup(p, len);
	pt->len = len;
	pt->flags = flags;
	for (i = 0; i < len && !glob_special((uchar)p[i]); i++)
		;
	pt->nowild = i;
	if (p[0] == '*') {
		for (i = 1; i < len && !glob_special((uchar)p[i]); i++)
			;
		if (i == len)
			pt->flags |= PAT_ENDSWITH;
	}
}

/* ---------------------------------------------------------------- */
/* Sources and their index by base.                                */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t hash_step(uint64_t h, uchar c)
{
	return (h ^ c) * FNV_PRIME;
}

static uint64_t hash_mem(const char *s, size_t len)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++)
		h = hash_step(h, (uchar)s[i]);
	return h;
}

static struct ignore_dir *dir_slot(struct ignore_dir *dirs, size_t cap,
				   const char *base, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (dirs[i].srcs) {
		if (dirs[i].hash == h && dirs[i].len == len &&
		    !memcmp(dirs[i].base, base, len))
			break;
		i = (i + 1) & (cap - 1);
	}
	return &dirs[i];
}

static const struct ignore_dir *
dir_find(const struct ignore *ig, const char *base, size_t len, uint64_t h)
{
	const struct ignore_dir *d;

	if (!ig->dirs_cap)
		return NULL;
	d = dir_slot(ig->dirs, ig->dirs_cap, base, len, h);
	return d->srcs ? d : NULL;
}

static void dirs_grow(struct ignore *ig)
{
	size_t cap = ig->dirs_cap ? ig->dirs_cap * 2 : 16, i;
	struct ignore_dir *dirs = xcalloc(cap, sizeof(*dirs));

	for (i = 0; i < ig->dirs_cap; i++) {
		struct ignore_dir *d = &ig->dirs[i];

		if (d->srcs)
			*dir_slot(dirs, cap, d->base, d->len, d->hash) = *d;
	}
	free(ig->dirs);
	ig->dirs = dirs;
	ig->dirs_cap = cap;
}

/*
 * The source that new patterns for base go to: the last one if it has
 * the same base (appending keeps the order of precedence), else a new one.
 */
static struct ignore_source *source_for(struct ignore *ig, const char *base)
{
	struct ignore_source *src;
	struct ignore_dir *d;
	size_t len;
	uint64_t h;

	if (base[0] == '.' && (!base[1] || base[1] == '/'))
		base += base[1] ? 2 : 1;
	len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	if (ig->nr) {
		src = &ig->src[ig->nr - 1];
		if (src->baselen == len && !memcmp(src->base, base, len))
			return src;
	}

	ALLOC_GROW(ig->src, ig->nr + 1, ig->alloc);
	src = &ig->src[ig->nr];
	memset(src, 0, sizeof(*src));
	src->base = xstrndup(base, len);
	src->baselen = len;

	if (2 * (ig->dirs_nr + 1) > ig->dirs_cap)
		dirs_grow(ig);
	h = hash_mem(src->base, len);
	d = dir_slot(ig->dirs, ig->dirs_cap, src->base, len, h);
	if (!d->srcs) {
		d->base = src->base;
		d->len = len;
		d->hash = h;
		ig->dirs_nr++;
	}
	ALLOC_GROW(d->srcs, d->nr + 1, d->alloc);
	d->srcs[d->nr++] = ig->nr;
	return &ig->src[ig->nr++];
}

struct ignore *ignore_new(void)
{
	return xcalloc(1, sizeof(struct ignore));
}

void ignore_free(struct ignore *ig)
{
	size_t i, j;

	if (!ig)
		return;
	for (i = 0; i < ig->nr; i++) {
		for (j = 0; j < ig->src[i].nr; j++)
			free(ig->src[i].pats[j].pat);
		free(ig->src[i].pats);
		free(ig->src[i].base);
	}
	for (i = 0; i < ig->dirs_cap; i++)
		free(ig->dirs[i].srcs);
	free(ig->dirs);
	free(ig->src);
	free(ig);
}

void ignore_add_text(struct ignore *ig, const char *base, const char *text,
		     size_t len)
{
	struct ignore_source *src = source_for(ig, base);
	struct strbuf line = STRBUF_INIT;
	const char *p = text, *end = text + len;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		/* git drops one '\r' before the '\n' (CRLF files) */
		if (eol > p && eol[-1] == '\r')
			eol--;
		strbuf_reset(&line);
		strbuf_add(&line, p, (size_t)(eol - p));
		/* a NUL ends the line, as in git's C strings */
		source_add_line(src, line.buf);
		if (!nl)
			break;
		p = nl + 1;
	}
	strbuf_release(&line);
}

void ignore_add_pattern(struct ignore *ig, const char *pattern)
{
	char *line = xstrdup(pattern);

	source_add_line(source_for(ig, ""), line);
	free(line);
}

int ignore_add_file(struct ignore *ig, const char *base, const char *path,
		    struct strbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	int fd = -1, ret = -1, saved;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		/* missing, or a symlink git does not follow either */
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			ret = 0;
		else
			strbuf_addf(err, "cannot open '%s': %s", path,
				    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = 0; /* a directory or a fifo: git skips it too */
		goto out;
	}
	if (st.st_size > IGNORE_FILE_MAX) {
		strbuf_addf(err, "'%s' is larger than 100 MiB", path);
		goto out;
	}
	strbuf_init_capped(&sb, IGNORE_FILE_MAX);
	if (strbuf_read_fd(&sb, fd) < 0) {
		saved = errno;
		if (saved == EFBIG)
			strbuf_addf(err, "'%s' is larger than 100 MiB", path);
		else
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(saved));
		goto out;
	}
	ignore_add_text(ig, base, sb.buf, sb.len);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&sb);
	return ret;
}

/* ---------------------------------------------------------------- */
/* Matching.                                                        */

/*
 * One pattern against path[0..len), whose basename starts at name_off,
 * for a source with base of length baselen (path is known to be below it).
 */
static int pattern_match(const struct ignore_pattern *pt, const char *path,
			 size_t len, size_t name_off, size_t baselen,
			 bool is_dir)
{
	const char *pat = pt->pat, *name;
	size_t plen = pt->len, prefix = pt->nowild, nlen;

	if ((pt->flags & PAT_MUSTBEDIR) && !is_dir)
		return 0;

	if (pt->flags & PAT_NODIR) {
		name = path + name_off;
		nlen = len - name_off;
		if (prefix == plen)
			return nlen == plen && !memcmp(pat, name, plen);
		if (pt->flags & PAT_ENDSWITH)
			return plen - 1 <= nlen &&
			       !memcmp(pat + 1, name + nlen - (plen - 1),
				       plen - 1);
		return wildmatch_len(pat, name, nlen, 0);
	}

	/* anchored: relative to the base, with '/' not matched by '*' */
	if (*pat == '/') {
		pat++;
		plen--;
		prefix--;
	}
	name = path + (baselen ? baselen + 1 : 0);
	nlen = len - (size_t)(name - path);
	if (prefix) {
		if (prefix > nlen || memcmp(pat, name, prefix))
			return 0;
		pat += prefix;
		plen -= prefix;
		name += prefix;
		nlen -= prefix;
		if (!plen && !nlen)
			return 1;
	}
	/*
	 * git hands the rest after the literal prefix to wildmatch as a
	 * pattern of its own, so a "**" right after the prefix counts as
	 * starting the pattern ("foo**" + "/bar" spans directories); keep
	 * that quirk to give the same answers.
	 */
	return wildmatch_len(pat, name, nlen, 1);
}

/*
 * The indexes of the sources that apply to path[0..len): those based at
 * "" and at each of its parent directories. out starts as a caller's
 * array of *alloc entries; it is moved to the heap when it fills up.
 */
static size_t collect_sources(const struct ignore *ig, const char *path,
			      size_t len, size_t **out, size_t *alloc,
			      const size_t *small)
{
	const struct ignore_dir *d;
	uint64_t h = FNV_OFFSET;
	size_t i, n = 0;

	for (i = 0; i <= len; i++) {
		if (i == 0 || (i < len && path[i] == '/')) {
			d = dir_find(ig, path, i, h);
			if (d && n + d->nr > *alloc) {
				size_t cap = 2 * (n + d->nr);
				size_t *heap = xmalloc(cap * sizeof(*heap));

				memcpy(heap, *out, n * sizeof(*heap));
				if (*out != small)
					free(*out);
				*out = heap;
				*alloc = cap;
			}
			if (d) {
				memcpy(*out + n, d->srcs,
				       d->nr * sizeof(**out));
				n += d->nr;
			}
		}
		if (i < len)
			h = hash_step(h, (uchar)path[i]);
	}
	return n;
}

static int match_len(const struct ignore *ig, const char *path, size_t len,
		     bool is_dir)
{
	size_t small[32], *cand = small, alloc = ARRAY_SIZE(small);
	size_t n, i, j, name_off = len;
	int ret = 0;

	if (!ig->nr || !len)
		return 0;
	while (name_off && path[name_off - 1] != '/')
		name_off--;

	n = collect_sources(ig, path, len, &cand, &alloc, small);
	for (i = 1; i < n; i++) {
		size_t v = cand[i];

		for (j = i; j && cand[j - 1] < v; j--)
			cand[j] = cand[j - 1];
		cand[j] = v;
	}
	for (i = 0; i < n; i++) {
		const struct ignore_source *src = &ig->src[cand[i]];

		for (j = src->nr; j--;) {
			const struct ignore_pattern *pt = &src->pats[j];

			if (pattern_match(pt, path, len, name_off,
					  src->baselen, is_dir)) {
				ret = !(pt->flags & PAT_NEGATIVE);
				goto out;
			}
		}
	}
out:
	if (cand != small)
		free(cand);
	return ret;
}

int ignore_match(const struct ignore *ig, const char *path, bool is_dir)
{
	return match_len(ig, path, strlen(path), is_dir);
}

int ignore_path_excluded(const struct ignore *ig, const char *path,
			 bool is_dir)
{
	size_t len = strlen(path), i;

	for (i = 0; i < len; i++)
		if (path[i] == '/' && i && match_len(ig, path, i, true))
			return 1;
	return match_len(ig, path, len, is_dir);
}
