#include "runner.h"
#include "ws-secrets.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

/*
 * One pass per line: a pair of lookup tables flags the two-byte openings
 * that can start a match ("AK", "gh", "sk", "ey", "--", "= ", ...), so
 * that ordinary text costs two loads and a test per byte, and only those
 * rare positions run a matcher. Assignments are found from their operator
 * and read backwards to the key, which keeps the keyword search off the
 * hot path. Nothing is ever copied out of the text but (path, line, rule).
 */

enum rule {
	R_AWS_ID,
	R_AWS_SECRET,
	R_GITHUB,
	R_GITLAB,
	R_SLACK,
	R_PRIVKEY,
	R_JWT,
	R_ANTHROPIC,
	R_OPENAI,
	R_GENERIC,
	R_NR
};

static const char *const rule_names[R_NR] = {
	[R_AWS_ID] = "aws-access-key-id",
	[R_AWS_SECRET] = "aws-secret-access-key",
	[R_GITHUB] = "github-token",
	[R_GITLAB] = "gitlab-token",
	[R_SLACK] = "slack-token",
	[R_PRIVKEY] = "private-key",
	[R_JWT] = "jwt",
	[R_ANTHROPIC] = "anthropic-api-key",
	[R_OPENAI] = "openai-api-key",
	[R_GENERIC] = "generic-secret-assignment",
};

#define WINDOW (256u << 10)
/* Longest match we promise to find across the pieces of a huge line. */
#define OVERLAP (16u << 10)
/* Room behind the first candidate of a piece for boundaries and keys. */
#define LOOKBACK 256u
#define KEEP (OVERLAP + LOOKBACK)
#define BINARY_CHECK 8192u
#define KEY_MAX 128u
#define VALUE_MAX 1024u
#define VALUE_MIN 12u

enum {
	T_AWS = 1,
	T_GH = 2,
	T_XOX = 4,
	T_DASH = 8,
	T_SK = 16,
	T_EY = 32,
	T_HO = 64,
	T_OP = 128
};

/* A position triggers when first[p[0]] & (second[p[1]] | T_OP) != 0. */
static const unsigned char first[256] = {
	['A'] = T_AWS,	['g'] = T_GH, ['x'] = T_XOX,
	['-'] = T_DASH, ['s'] = T_SK, ['e'] = T_EY,
	['h'] = T_HO,	['='] = T_OP, [':'] = T_OP,
};

static const unsigned char second[256] = {
	['K'] = T_AWS, ['S'] = T_AWS,	     ['G'] = T_AWS,  ['I'] = T_AWS,
	['R'] = T_AWS, ['N'] = T_AWS,	     ['h'] = T_GH,   ['i'] = T_GH,
	['l'] = T_GH,  ['o'] = T_XOX | T_HO, ['-'] = T_DASH, ['k'] = T_SK,
	['y'] = T_EY,
};

struct scan {
	const char *path;
	struct secret_findings *out;
	unsigned line;
	unsigned found; /* bit per rule already reported on this line */
	int added;
};

/*
 * The text a matcher may read: back to lo (a line start, or far enough
 * behind the candidates of a piece of a long line) and up to end.
 */
struct span {
	const char *lo;
	const char *end;
};

static inline bool is_upper(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u;
}

static inline bool is_lower(unsigned char c)
{
	return (unsigned)(c - 'a') < 26u;
}

static inline bool is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}

static inline bool is_alpha(unsigned char c)
{
	return is_upper(c) || is_lower(c);
}

static inline bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static inline bool is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

static inline bool is_word_dash(unsigned char c)
{
	return is_word(c) || c == '-';
}

static inline bool is_alnum_dash(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

static inline bool is_upper_digit(unsigned char c)
{
	return is_upper(c) || is_digit(c);
}

static inline bool is_b64(unsigned char c)
{
	return is_alnum(c) || c == '/' || c == '+' || c == '=';
}

static inline bool is_key(unsigned char c)
{
	return is_word_dash(c) || c == '.';
}

static inline bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_quote(unsigned char c)
{
	return c == '"' || c == '\'' || c == '`';
}

/* strchr() for a byte, without its match of the terminating NUL. */
static inline bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

static inline unsigned char lower(unsigned char c)
{
	return is_upper(c) ? c + ('a' - 'A') : c;
}

/* Length of the run of bytes at p (before end) that pred accepts. */
static inline size_t run(const char *p, const char *end,
			 bool (*pred)(unsigned char))
{
	const char *q = p;

	while (q < end && pred((unsigned char)*q))
		q++;
	return (size_t)(q - p);
}

static inline bool has(const char *p, const char *end, const char *lit,
		       size_t n)
{
	return (size_t)(end - p) >= n && !memcmp(p, lit, n);
}

#define HAS(p, end, lit) has((p), (end), (lit), sizeof(lit) - 1)

/* Whether a token may start at p: the byte before is not part of a word. */
static inline bool word_start(const struct span *s, const char *p, bool dash)
{
	unsigned char c;

	if (p == s->lo)
		return true;
	c = (unsigned char)p[-1];
	return dash ? !is_word_dash(c) : !is_word(c);
}

static inline bool seen(const struct scan *sc, enum rule r)
{
	return sc->found & (1u << r);
}

static void report(struct scan *sc, enum rule r)
{
	struct secret_finding *f;

	if (seen(sc, r))
		return;
	sc->found |= 1u << r;
	ALLOC_GROW(sc->out->items, sc->out->nr + 1, sc->out->alloc);
	f = &sc->out->items[sc->out->nr++];
	f->path = xstrdup(sc->path);
	f->line = sc->line;
	f->rule = rule_names[r];
	if (sc->added < INT_MAX)
		sc->added++;
}

static void match_aws_id(struct scan *sc, const struct span *s, const char *p)
{
	static const char *const prefixes[] = {
		"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
	};
	size_t i;

	if (seen(sc, R_AWS_ID) || s->end - p < 20 || !word_start(s, p, false))
		return;
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!memcmp(p, prefixes[i], 4))
			break;
	if (i == ARRAY_SIZE(prefixes) ||
	    run(p + 4, p + 20, is_upper_digit) != 16)
		return;
	if (p + 20 < s->end && is_word((unsigned char)p[20]))
		return;
	report(sc, R_AWS_ID);
}

/* At "gh", "gi" or "gl": GitHub and GitLab tokens. */
static void match_g(struct scan *sc, const struct span *s, const char *p)
{
	const char *end = s->end;

	if (p[1] == 'h') {
		if (seen(sc, R_GITHUB) || end - p < 40 ||
		    !in_set(p[2], "pousr") || p[3] != '_' ||
		    !word_start(s, p, false) ||
		    run(p + 4, p + 40, is_alnum) != 36)
			return;
		if (p + 40 < end && is_word((unsigned char)p[40]))
			return;
		report(sc, R_GITHUB);
	} else if (p[1] == 'i') {
		if (seen(sc, R_GITHUB) || !HAS(p, end, "github_pat_") ||
		    end - p < 93 || !word_start(s, p, false) ||
		    run(p + 11, p + 93, is_word) != 82)
			return;
		if (p + 93 < end && is_word((unsigned char)p[93]))
			return;
		report(sc, R_GITHUB);
	} else {
		if (seen(sc, R_GITLAB) || !HAS(p, end, "glpat-") ||
		    !word_start(s, p, true) ||
		    run(p + 6, end, is_word_dash) < 20)
			return;
		report(sc, R_GITLAB);
	}
}

static void match_xox(struct scan *sc, const struct span *s, const char *p)
{
	if (seen(sc, R_SLACK) || s->end - p < 15 || p[2] != 'x' ||
	    !in_set(p[3], "baprs") || p[4] != '-' || !word_start(s, p, true) ||
	    run(p + 5, s->end, is_alnum_dash) < 10)
		return;
	report(sc, R_SLACK);
}

static void match_webhook(struct scan *sc, const struct span *s, const char *p)
{
	const char *end = s->end;
	size_t n;

	if (seen(sc, R_SLACK) || !HAS(p, end, "hooks.slack.com/services/T"))
		return;
	p += 26;
	n = run(p, end, is_word);
	if (!n || !HAS(p + n, end, "/B"))
		return;
	p += n + 2;
	n = run(p, end, is_word);
	if (!n || !HAS(p + n, end, "/"))
		return;
	p += n + 1;
	if (run(p, end, is_alnum) < 8)
		return;
	report(sc, R_SLACK);
}

static void match_private_key(struct scan *sc, const struct span *s,
			      const char *p)
{
	static const char *const kinds[] = {
		"RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "PGP ",
	};
	const char *end = s->end;
	size_t i;

	if (seen(sc, R_PRIVKEY) || !HAS(p, end, "-----BEGIN "))
		return;
	p += 11;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n = strlen(kinds[i]);

		if (has(p, end, kinds[i], n)) {
			p += n;
			break;
		}
	}
	if (!HAS(p, end, "PRIVATE KEY"))
		return;
	p += 11;
	if (HAS(p, end, " BLOCK"))
		p += 6;
	if (!HAS(p, end, "-----"))
		return;
	report(sc, R_PRIVKEY);
}

static void match_jwt(struct scan *sc, const struct span *s, const char *p)
{
	const char *end = s->end;
	size_t n;
	int seg;

	if (seen(sc, R_JWT) || !word_start(s, p, true))
		return;
	for (seg = 0; seg < 2; seg++) {
		if (!HAS(p, end, "eyJ"))
			return;
		n = run(p + 3, end, is_word_dash);
		if (n < 10 || !HAS(p + 3 + n, end, "."))
			return;
		p += 3 + n + 1;
	}
	if (run(p, end, is_word_dash) < 10)
		return;
	report(sc, R_JWT);
}

static void match_sk(struct scan *sc, const struct span *s, const char *p)
{
	const char *end = s->end, *q;
	size_t n, i;
	bool mixed = false;

	if (end - p < 3 || p[2] != '-' || !word_start(s, p, true))
		return;
	if (HAS(p, end, "sk-ant-")) {
		if (!seen(sc, R_ANTHROPIC) &&
		    run(p + 7, end, is_word_dash) >= 20)
			report(sc, R_ANTHROPIC);
		return;
	}
	if (seen(sc, R_OPENAI))
		return;
	q = p + 3;
	n = run(q, end, is_word_dash);
	if (n < 20)
		return;
	for (i = 0; i < n && !mixed; i++)
		mixed = is_upper_digit((unsigned char)q[i]);
	if (mixed)
		report(sc, R_OPENAI);
}

static double entropy(const char *v, size_t n)
{
	unsigned count[256] = { 0 };
	double h = 0;
	size_t i;

	for (i = 0; i < n; i++)
		count[(unsigned char)v[i]]++;
	for (i = 0; i < 256; i++) {
		double f;

		if (!count[i])
			continue;
		f = (double)count[i] / (double)n;
		h -= f * log2(f);
	}
	return h;
}

static bool contains_ci(const char *v, size_t n, const char *needle)
{
	size_t m = strlen(needle), i, j;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++)
			if (lower((unsigned char)v[i + j]) !=
			    (unsigned char)needle[j])
				break;
		if (j == m)
			return true;
	}
	return false;
}

/*
 * The end of keyword kw matched in key k at i, or 0. In kw, '_' matches
 * one of "_-." or nothing, so api_key covers apikey, api-key and apiKey.
 */
static size_t keyword_at(const char *k, size_t n, size_t i, const char *kw)
{
	for (; *kw; kw++) {
		if (*kw == '_') {
			if (i < n && in_set(k[i], "_-."))
				i++;
			continue;
		}
		if (i >= n || lower((unsigned char)k[i]) != (unsigned char)*kw)
			return 0;
		i++;
	}
	return i;
}

/*
 * Whether kw occurs in the key k; when word_end is set, it must also end a
 * word of k: not be followed by a letter, but at a camelCase boundary
 * (dbPassword, authtoken, tokenValue; not tokenizer, max_tokens).
 */
static bool key_has(const char *k, size_t n, const char *kw, bool word_end)
{
	size_t i, e;

	for (i = 0; i < n; i++) {
		unsigned char a, b;

		if (lower((unsigned char)k[i]) != (unsigned char)kw[0])
			continue;
		e = keyword_at(k, n, i, kw);
		if (!e)
			continue;
		if (!word_end || e == n)
			return true;
		a = (unsigned char)k[e - 1];
		b = (unsigned char)k[e];
		if (!is_alpha(b) || (is_lower(a) && is_upper(b)))
			return true;
	}
	return false;
}

/*
 * The last word of a key: "token_type" -> "type", "apiKeyName" -> "Name",
 * "DB_PASSWORD" -> "PASSWORD". Sets *len; returns its start.
 */
static const char *last_word(const char *k, size_t n, size_t *len)
{
	size_t j = n;

	if (j && is_upper((unsigned char)k[j - 1])) {
		while (j && is_upper_digit((unsigned char)k[j - 1]))
			j--;
	} else {
		while (j && (is_lower((unsigned char)k[j - 1]) ||
			     is_digit((unsigned char)k[j - 1])))
			j--;
		if (j && is_upper((unsigned char)k[j - 1]))
			j--;
	}
	*len = n - j;
	return k + j;
}

static bool credential_key(const char *k, size_t n)
{
	static const char *const words[] = {
		"password", "passwd",	  "secret",   "api_key",
		"token",    "access_key", "auth_key",
	};
	/* Keys that name something about a credential, not the credential. */
	static const char *const about[] = {
		"type",	     "name",	"url",	   "uri",     "endpoint",
		"path",	     "file",	"dir",	   "field",   "header",
		"param",     "length",	"len",	   "size",    "count",
		"hint",	     "prefix",	"format",  "pattern", "regex",
		"label",     "env",	"var",	   "id",      "ttl",
		"expiry",    "expires", "timeout", "version", "encryption",
		"algorithm", "method",	"mode",	   "policy",
	};
	const char *w;
	size_t i, wlen;

	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (key_has(k, n, words[i], true))
			break;
	if (i == ARRAY_SIZE(words))
		return false;
	w = last_word(k, n, &wlen);
	for (i = 0; i < ARRAY_SIZE(about); i++)
		if (wlen == strlen(about[i]) && contains_ci(w, wlen, about[i]))
			return false;
	return true;
}

/* Paths and resource names: "/etc/x/y", "./k", "projects/p/secrets/s/1". */
static bool path_like(const char *v, size_t n)
{
	size_t i, slashes = 0;
	bool upper = false;

	if (has(v, v + n, "./", 2) || has(v, v + n, "../", 3) ||
	    has(v, v + n, "~/", 2))
		return true;
	for (i = 0; i < n; i++) {
		slashes += v[i] == '/';
		upper |= is_upper((unsigned char)v[i]);
	}
	return slashes >= 2 && (v[0] == '/' || !upper);
}

/* Placeholders, templates, variables, URLs and paths. */
static bool placeholder(const char *v, size_t n)
{
	static const char *const needles[] = {
		"example", "changeme", "change_me", "xxxx",	   "****",
		"...",	   "<",	       ">",	    "${",	   "{{",
		"%(",	   "%s",       "your_",	    "your-",	   "yourpass",
		"dummy",   "test",     "sample",    "placeholder", "redacted",
		"fake",	   "foobar",   "insert",    "replace",	   "todo",
		"://",
	};
	size_t i;

	if (n > 1 && v[0] == '$' &&
	    (is_alpha((unsigned char)v[1]) || in_set(v[1], "_{(")))
		return true;
	if (path_like(v, n))
		return true;
	for (i = 0; i < ARRAY_SIZE(needles); i++)
		if (contains_ci(v, n, needles[i]))
			return true;
	return false;
}

/* Bytes that make a bare value an expression or a template, not a secret. */
static bool code_char(unsigned char c)
{
	switch (c) {
	case '(':
	case ')':
	case '[':
	case ']':
	case '{':
	case '}':
	case '<':
	case '>':
	case '$':
	case '%':
		return true;
	default:
		return false;
	}
}

static bool generic_value(const char *v, size_t n, bool quoted)
{
	size_t i, alpha = 0, digit = 0, sym = 0;

	if (n < VALUE_MIN || n > VALUE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (is_blank(c) || (!quoted && code_char(c)))
			return false;
		if (is_alpha(c))
			alpha++;
		else if (is_digit(c))
			digit++;
		else if (!in_set((char)c, "-_./"))
			sym++;
	}
	/*
	 * Identifiers, words and code ("quoted-string", "challengePassword",
	 * "DistributionList.NextMarker", obj.secret_key) have no digit and no
	 * symbol; random strings of 12+ characters rarely lack both. Numbers
	 * (ids, timestamps) have no letter.
	 */
	if (!alpha || (!digit && sym < 2))
		return false;
	if (entropy(v, n) < (n < 16 ? 3.0 : 3.5))
		return false;
	return !placeholder(v, n);
}

static bool aws_secret_value(const char *v, size_t n)
{
	return n == 40 && run(v, v + n, is_b64) == 40 && entropy(v, n) >= 3.5;
}

/* At '=' or ':': KEY [quote] [blanks] OP [blanks] VALUE. */
static void match_assignment(struct scan *sc, const struct span *s,
			     const char *p)
{
	const char *end = s->end, *v, *key;
	size_t off = (size_t)(p - s->lo), klen = 0, vlen;
	char quote = 0;
	bool aws, generic;

	if (seen(sc, R_AWS_SECRET) && seen(sc, R_GENERIC))
		return;
	/* ":=" and "=>" are assignments; "::", "==", "!=", "<=" are not. */
	if (off && (p[-1] == ':' || p[-1] == '=' || p[-1] == '!' ||
		    p[-1] == '<' || p[-1] == '>'))
		return;
	v = p + 1;
	if (v < end && (*v == ':' || (*v == '=' && *p == '=')))
		return;
	if (v < end && ((*p == ':' && *v == '=') || (*p == '=' && *v == '>')))
		v++;

	while (off && is_blank((unsigned char)s->lo[off - 1]))
		off--;
	if (off && is_quote((unsigned char)s->lo[off - 1]))
		off--;
	while (off && klen < KEY_MAX && is_key((unsigned char)s->lo[off - 1]))
		off--, klen++;
	if (!klen)
		return;
	key = s->lo + off;

	while (v < end && is_blank((unsigned char)*v))
		v++;
	if (v < end && is_quote((unsigned char)*v)) {
		const char *q;
		size_t room = (size_t)(end - v - 1);

		quote = *v++;
		q = memchr(v, quote,
			   room < VALUE_MAX + 1 ? room : VALUE_MAX + 1);
		if (!q)
			return;
		vlen = (size_t)(q - v);
	} else {
		for (vlen = 0; v + vlen < end && vlen <= VALUE_MAX; vlen++) {
			unsigned char c = (unsigned char)v[vlen];

			if (is_blank(c) || c == ',' || c == ';' || is_quote(c))
				break;
		}
	}
	/* Cheapest test first: most values in code are short. */
	if (vlen < VALUE_MIN)
		return;
	aws = !seen(sc, R_AWS_SECRET) && vlen == 40 &&
	      (key_has(key, klen, "aws_secret", false) ||
	       key_has(key, klen, "secret_access_key", false));
	generic = !seen(sc, R_GENERIC) && credential_key(key, klen);

	if (aws && aws_secret_value(v, vlen)) {
		report(sc, R_AWS_SECRET);
		return;
	}
	if (generic && generic_value(v, vlen, quote != 0))
		report(sc, R_GENERIC);
}

static inline unsigned trigger(const char *p)
{
	return first[(unsigned char)p[0]] &
	       (second[(unsigned char)p[1]] | T_OP);
}

/*
 * The first position in [p, limit) whose two bytes may open a match, or
 * limit; its trigger bits in *t. This loop is where the time goes.
 */
static inline const char *next_trigger(const char *p, const char *limit,
				       unsigned *t)
{
	/* Four positions per test: a trigger is rare, the branch is not. */
	while (limit - p >= 4 && !(trigger(p) | trigger(p + 1) |
				   trigger(p + 2) | trigger(p + 3)))
		p += 4;
	for (; p < limit; p++) {
		unsigned x = trigger(p);

		if (x) {
			*t = x;
			return p;
		}
	}
	return limit;
}

/*
 * Try every candidate position in [from, limit); matchers read s. limit is
 * at most s->end - 1, so p[1] is always readable.
 */
static void scan_span(struct scan *sc, const struct span *s, const char *from,
		      const char *limit)
{
	const char *p;
	unsigned t = 0;

	if (s->end - from < 2)
		return;
	if (limit > s->end - 1)
		limit = s->end - 1;
	for (p = from; (p = next_trigger(p, limit, &t)) < limit; p++) {
		if (t & T_AWS)
			match_aws_id(sc, s, p);
		if (t & T_GH)
			match_g(sc, s, p);
		if (t & T_XOX)
			match_xox(sc, s, p);
		if (t & T_DASH)
			match_private_key(sc, s, p);
		if (t & T_SK)
			match_sk(sc, s, p);
		if (t & T_EY)
			match_jwt(sc, s, p);
		if (t & T_HO)
			match_webhook(sc, s, p);
		if (t & T_OP)
			match_assignment(sc, s, p);
	}
}

/* A line that ends at end (its '\n' or EOF); candidates from from. */
static void scan_line(struct scan *sc, const char *lo, const char *from,
		      const char *end)
{
	struct span s = { lo, end };

	if (end > from && end[-1] == '\r')
		s.end--;
	scan_span(sc, &s, from, s.end);
}

/* Length of the UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t want, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		want = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		want = 4;
	else
		return 0;
	for (i = 1; i < want; i++) {
		if (i == n)
			return i; /* cut by the end of the sample */
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return want;
}

static bool is_binary(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t n = len < BINARY_CHECK ? len : BINARY_CHECK, i = 0, bad = 0;

	if (memchr(buf, '\0', n))
		return true;
	while (i < n) {
		size_t k = utf8_len(p + i, n - i);

		if (!k) {
			bad++;
			k = 1;
		}
		i += k;
	}
	return bad * 4 > n;
}

void secret_findings_release(struct secret_findings *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		free(f->items[i].path);
	free(f->items);
	f->items = NULL;
	f->nr = f->alloc = 0;
}

const char *secrets_rule_name(size_t i)
{
	return i < R_NR ? rule_names[i] : NULL;
}

int secrets_scan_buffer(const char *path, const char *buf, size_t len,
			struct secret_findings *out)
{
	struct scan sc = { path, out, 1, 0, 0 };
	const char *p = buf, *end = buf + len, *nl;

	if (!len || is_binary(buf, len))
		return 0;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		scan_line(&sc, p, p, nl ? nl : end);
		if (!nl)
			break;
		sc.line++;
		sc.found = 0;
		p = nl + 1;
	}
	return sc.added;
}

int secrets_scan_fd(int fd, const char *relpath, uint64_t max_bytes,
		    struct secret_findings *out, struct strbuf *err)
{
	struct scan sc = { relpath, out, 1, 0, 0 };
	char *buf = xmalloc(WINDOW);
	size_t len = 0, from = 0, pos;
	uint64_t total = 0;
	bool eof = false, checked = false;
	const char *nl;
	int ret = -1;

	for (;;) {
		while (len < WINDOW && !eof) {
			size_t want = WINDOW - len;
			ssize_t n;

			if (max_bytes && total + want > max_bytes)
				want = (size_t)(max_bytes - total);
			if (!want) {
				eof = true;
				break;
			}
			n = read(fd, buf + len, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				strbuf_addf(err, "cannot read '%s': %s",
					    relpath, strerror(errno));
				goto out;
			}
			if (!n)
				eof = true;
			len += (size_t)n;
			total += (uint64_t)n;
		}
		if (!checked) {
			checked = true;
			if (is_binary(buf, len))
				break;
		}
		/*
		 * Complete lines. Only the first one can be the rest of a
		 * long line whose start was scanned already (from > 0).
		 */
		pos = 0;
		while ((nl = memchr(buf + pos, '\n', len - pos))) {
			scan_line(&sc, buf + pos, buf + pos + from, nl);
			from = 0;
			sc.line++;
			sc.found = 0;
			pos = (size_t)(nl - buf) + 1;
		}
		if (eof) {
			if (pos < len)
				scan_line(&sc, buf + pos, buf + pos + from,
					  buf + len);
			break;
		}
		if (pos) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			continue;
		}
		/*
		 * One line fills the window. Scan the candidates that have
		 * OVERLAP bytes after them, keep those bytes (and LOOKBACK
		 * before them) and go on with the same line.
		 */
		{
			struct span s = { buf, buf + len };

			scan_span(&sc, &s, buf + from, buf + len - OVERLAP);
		}
		memmove(buf, buf + len - KEEP, KEEP);
		len = KEEP;
		from = LOOKBACK;
	}
	ret = sc.added;
out:
	free(buf);
	return ret;
}

int secrets_scan_file(int dirfd, const char *name, const char *relpath,
		      struct secret_findings *out, struct strbuf *err)
{
	struct stat st;
	int fd, ret = -1;

	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			strbuf_addf(err, "'%s' is a symbolic link", relpath);
		else
			strbuf_addf(err, "cannot open '%s': %s", relpath,
				    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat '%s': %s", relpath,
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		strbuf_addf(err, "'%s' is not a regular file", relpath);
		goto out;
	}
	ret = secrets_scan_fd(fd, relpath, SECRETS_SCAN_MAX_BYTES, out, err);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
