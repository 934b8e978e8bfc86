#include "runner.h"
#include "mask.h"

/* One string to hide: a value, one of its lines, a JSON-escaped form. */
struct form {
	char *s;
	size_t len;
	uint32_t key;	/* its first 4 bytes, when it has 4 */
	uint32_t next;	/* the next form in its hash bucket, or NONE */
	uint32_t value; /* the index of the value it is a form of */
	bool scan; /* looked for in files: from MASK_MIN_PART characters */
};

#define NONE UINT32_MAX

/*
 * Forms of 4 bytes or more are found through a hash of their first 4
 * bytes (each bucket's chain longest first), behind a bitmap of their
 * first 2 that rejects most positions at once; the few shorter ones
 * (only short whole values) are tried one by one.
 */
struct mask {
	struct form *forms; /* longest first */
	size_t nr, alloc;
	unsigned char pair[65536 / 8]; /* a bit per first 2 bytes of a form */
	uint32_t *heads;	       /* nr_heads buckets, a power of 2 */
	unsigned bits;
	size_t nr_short; /* forms[nr - nr_short .. nr) are under 4 bytes */
	size_t longest;
	size_t longest_scan; /* the longest form with scan set */
	char **names;	     /* of the values, or NULL (mask_new) */
	size_t nr_values;
	uint32_t cur;  /* the value whose forms are being added */
	bool cur_long; /* it has MASK_MIN_PART characters or more */
	/* The stream: pending.buf[off..len) is held back. */
	struct strbuf pending;
	size_t off;
	size_t covered; /* held bytes already hidden by the last "***" */
};

static void add_form(struct mask *m, const char *s, size_t len)
{
	struct form *f;
	if (!len)
		return;
	ALLOC_GROW(m->forms, m->nr + 1, m->alloc);
	f = &m->forms[m->nr++];
	f->s = xstrndup(s, len);
	f->len = len;
	f->value = m->cur;
	f->scan = m->cur_long;
}

/* s as a JSON string's contents; with slash, "/" is "\/" too. */
static void json_escape(struct strbuf *sb, const char *s, size_t len,
			bool slash)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			strbuf_addstr(sb, "\\\"");
			break;
		case '\\':
			strbuf_addstr(sb, "\\\\");
			break;
		case '\n':
			strbuf_addstr(sb, "\\n");
			break;
		case '\r':
			strbuf_addstr(sb, "\\r");
			break;
		case '\t':
			strbuf_addstr(sb, "\\t");
			break;
		case '\b':
			strbuf_addstr(sb, "\\b");
			break;
		case '\f':
			strbuf_addstr(sb, "\\f");
			break;
		case '/':
			strbuf_addstr(sb, slash ? "\\/" : "/");
			break;
		default:
			if (c < 0x20) {
				strbuf_addstr(sb, "\\u00");
				strbuf_addch(sb, hex[c >> 4]);
				strbuf_addch(sb, hex[c & 15]);
			} else {
				strbuf_addch(sb, c);
			}
		}
	}
}

/* s itself, and its JSON-escaped forms where they differ. */
static void add_with_json(struct mask *m, const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	add_form(m, s, len);
	json_escape(&sb, s, len, false);
	if (sb.len != len || memcmp(sb.buf, s, len))
		add_form(m, sb.buf, sb.len);
	if (memchr(s, '/', len)) {
		strbuf_reset(&sb);
		json_escape(&sb, s, len, true);
		add_form(m, sb.buf, sb.len);
	}
	strbuf_release(&sb);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Every line of v long enough to be worth hiding on its own. Lines end
 * at a newline or at a backslash-n (a PEM key inside a JSON string).
 */
static void add_lines(struct mask *m, const char *v, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t a = i, b, next;
		while (i < len && v[i] != '\n' &&
		       !(v[i] == '\\' && i + 1 < len && v[i + 1] == 'n'))
			i++;
		b = i;
		next = i < len ? (v[i] == '\n' ? i + 1 : i + 2) : len;
		while (a < b && blank(v[a]))
			a++;
		while (b > a && blank(v[b - 1]))
			b--;
		if (b - a >= MASK_MIN_PART && b - a < len) {
			m->cur_long = true;
			add_with_json(m, v + a, b - a);
		}
		i = next;
	}
}

static int form_cmp(const void *x, const void *y)
{
	const struct form *a = x, *b = y;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return memcmp(a->s, b->s, a->len);
}

/* The bit of the pair bitmap for the 2 bytes at s. */
static unsigned pair_index(const char *s)
{
	return (unsigned)(unsigned char)s[0] << 8 | (unsigned char)s[1];
}

static uint32_t load4(const char *s)
{
	uint32_t k;
	memcpy(&k, s, 4);
	return k;
}

static uint32_t bucket(const struct mask *m, uint32_t key)
{
	return (uint32_t)(key * 2654435761u) >> (32 - m->bits);
}

/* Sort longest first, drop duplicates, chain into the hash buckets. */
static void index_forms(struct mask *m)
{
	size_t kept = 0, nr_heads;

	if (m->nr)
		qsort(m->forms, m->nr, sizeof(*m->forms), form_cmp);
	for (size_t i = 0; i < m->nr; i++) {
		if (kept && !form_cmp(&m->forms[kept - 1], &m->forms[i])) {
			if (m->forms[i].scan && !m->forms[kept - 1].scan) {
				m->forms[kept - 1].scan = true;
				m->forms[kept - 1].value = m->forms[i].value;
			}
			free(m->forms[i].s);
			continue;
		}
		m->forms[kept++] = m->forms[i];
	}
	m->nr = kept;
	if (m->nr >= NONE)
		BUG("%zu secret forms to mask", m->nr);
	m->longest = m->nr ? m->forms[0].len : 0;
	for (size_t i = 0; i < m->nr && !m->longest_scan; i++)
		if (m->forms[i].scan)
			m->longest_scan = m->forms[i].len;
	for (m->bits = 6; (1u << m->bits) < 2 * m->nr && m->bits < 30;)
		m->bits++;
	nr_heads = (size_t)1 << m->bits;
	m->heads = xmalloc(nr_heads * sizeof(*m->heads));
	for (size_t i = 0; i < nr_heads; i++)
		m->heads[i] = NONE;
	/* Shortest first onto the front: each chain ends up longest first. */
	for (size_t i = m->nr; i-- > 0;) {
		struct form *f = &m->forms[i];
		uint32_t h;
		if (f->len < 4) {
			m->nr_short++;
			continue;
		}
		f->key = load4(f->s);
		m->pair[pair_index(f->s) >> 3] |=
			(unsigned char)(1u << (pair_index(f->s) & 7));
		h = bucket(m, f->key);
		f->next = m->heads[h];
		m->heads[h] = (uint32_t)i;
	}
}

struct mask *mask_new_named(const struct strvec *values,
			    const struct strvec *names)
{
	struct mask *m = xcalloc(1, sizeof(*m));
	size_t nr = values ? values->nr : 0;

	if (names && names->nr != nr)
		BUG("%zu names for %zu secret values", names->nr, nr);
	if (nr >= NONE)
		BUG("%zu secret values", nr);
	strbuf_init(&m->pending, 0);
	m->nr_values = nr;
	if (names) {
		m->names = xcalloc(nr ? nr : 1, sizeof(*m->names));
		for (size_t i = 0; i < nr; i++)
			m->names[i] = xstrdup(names->v[i]);
	}
	for (size_t i = 0; i < nr; i++) {
		const char *v = values->v[i];
		size_t len = strlen(v);
		if (!len)
			continue;
		m->cur = (uint32_t)i;
		m->cur_long = len >= MASK_MIN_VALUE;
		add_with_json(m, v, len);
		add_lines(m, v, len);
	}
	index_forms(m);
	return m;
}

struct mask *mask_new(const struct strvec *values)
{
	return mask_new_named(values, NULL);
}

void mask_free(struct mask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr; i++)
		free(m->forms[i].s);
	free(m->forms);
	free(m->heads);
	for (size_t i = 0; m->names && i < m->nr_values; i++)
		free(m->names[i]);
	free(m->names);
	strbuf_release(&m->pending);
	free(m);
}

/* Length of the longest form that starts at s (which has n bytes). */
static size_t match_at(const struct mask *m, const char *s, size_t n)
{
	/* Most positions: no form starts with these 2 bytes. */
	if (n >= 4 &&
	    (m->pair[pair_index(s) >> 3] & (1u << (pair_index(s) & 7)))) {
		uint32_t key = load4(s);
		for (uint32_t i = m->heads[bucket(m, key)]; i != NONE;
		     i = m->forms[i].next) {
			const struct form *f = &m->forms[i];
			if (f->key == key && f->len <= n &&
			    !memcmp(f->s + 4, s + 4, f->len - 4))
				return f->len;
		}
	}
	for (size_t i = m->nr - m->nr_short; i < m->nr; i++) {
		const struct form *f = &m->forms[i];
		if (f->len <= n && !memcmp(f->s, s, f->len))
			return f->len;
	}
	return 0;
}

/* A form looked for in files that starts at s (n bytes), or NULL. */
static const struct form *scan_at(const struct mask *m, const char *s,
				  size_t n)
{
	uint32_t key;

	/* Every such form has MASK_MIN_PART (>= 4) bytes: it is hashed. */
	if (n < MASK_MIN_PART ||
	    !(m->pair[pair_index(s) >> 3] & (1u << (pair_index(s) & 7))))
		return NULL;
	key = load4(s);
	for (uint32_t i = m->heads[bucket(m, key)]; i != NONE;
	     i = m->forms[i].next) {
		const struct form *f = &m->forms[i];
		if (f->scan && f->key == key && f->len <= n &&
		    !memcmp(f->s + 4, s + 4, f->len - 4))
			return f;
	}
	return NULL;
}

static const char *name_of(const struct mask *m, const struct form *f)
{
	return m->names ? m->names[f->value] : "(unnamed)";
}

/* The first form that starts in buf[0..starts) and ends by buf[n]. */
static const struct form *scan_span(const struct mask *m, const char *buf,
				    size_t n, size_t starts)
{
	for (size_t i = 0; i < starts; i++) {
		const struct form *f = scan_at(m, buf + i, n - i);
		if (f)
			return f;
	}
	return NULL;
}

const char *mask_find(const struct mask *m, const void *buf, size_t len)
{
	const struct form *f;
	if (!m || !m->longest_scan)
		return NULL;
	f = scan_span(m, buf, len, len);
	return f ? name_of(m, f) : NULL;
}

struct mask_scan {
	const struct mask *m;
	struct strbuf tail; /* the stream's last (longest form - 1) bytes */
	size_t keep;
};

struct mask_scan *mask_scan_new(const struct mask *m)
{
	struct mask_scan *s = xcalloc(1, sizeof(*s));
	s->m = m;
	s->keep = m && m->longest_scan ? m->longest_scan - 1 : 0;
	strbuf_init(&s->tail, 0);
	return s;
}

void mask_scan_free(struct mask_scan *s)
{
	if (!s)
		return;
	strbuf_release(&s->tail);
	free(s);
}

void mask_scan_break(struct mask_scan *s)
{
	strbuf_setlen(&s->tail, 0);
}

const char *mask_scan_feed(struct mask_scan *s, const void *data, size_t len)
{
	const char *buf = data;
	const struct form *f = NULL;
	size_t old = s->tail.len;

	if (!s->keep || !len)
		return NULL;
	/* A form that starts in the tail and ends in buf. */
	if (old) {
		strbuf_add(&s->tail, buf, len < s->keep ? len : s->keep);
		f = scan_span(s->m, s->tail.buf, s->tail.len, old);
		strbuf_setlen(&s->tail, old);
	}
	/* One that starts and ends in buf; one that goes on is the tail's. */
	if (!f)
		f = scan_span(s->m, buf, len, len);
	if (f)
		return name_of(s->m, f);
	if (len >= s->keep) {
		strbuf_setlen(&s->tail, 0);
		strbuf_add(&s->tail, buf + len - s->keep, s->keep);
	} else {
		strbuf_add(&s->tail, buf, len);
		if (s->tail.len > s->keep) {
			size_t drop = s->tail.len - s->keep;
			memmove(s->tail.buf, s->tail.buf + drop, s->keep);
			strbuf_setlen(&s->tail, s->keep);
		}
	}
	return NULL;
}

/*
 * Mask buf[0..n), emitting buf[0..limit); the first *cover bytes are
 * already hidden (the "***" is out), and on return *cover says how many
 * bytes past limit are. Every byte before limit is checked for a form
 * starting there, inside a hidden stretch too, so overlapping forms make
 * one "***" over all of them. A form starting before limit always fits
 * in buf (see mask.h).
 */
static void mask_span(const struct mask *m, const char *buf, size_t n,
		      size_t limit, size_t *cover, struct strbuf *out,
		      int *capped)
{
	size_t end = *cover, start = *cover;

	for (size_t i = 0; i < limit; i++) {
		size_t len = match_at(m, buf + i, n - i);
		if (!len || i + len <= end)
			continue;
		if (i >= end && (strbuf_add(out, buf + start, i - start) < 0 ||
				 strbuf_addstr(out, "***") < 0))
			*capped = 1;
		end = i + len;
		start = end;
	}
	if (start < limit && strbuf_add(out, buf + start, limit - start) < 0)
		*capped = 1;
	*cover = end > limit ? end - limit : 0;
}

int mask_feed(struct mask *m, const char *data, size_t len, bool final,
	      struct strbuf *out)
{
	struct strbuf *p = &m->pending;
	size_t hold, limit, held;
	int capped = 0;

	if (!m->longest) {
		if (strbuf_add(out, data, len) < 0)
			return -1;
		return 0;
	}
	/* Move the held bytes down only when that costs less than the rest. */
	if (m->off && m->off >= p->len - m->off) {
		memmove(p->buf, p->buf + m->off, p->len - m->off);
		strbuf_setlen(p, p->len - m->off);
		m->off = 0;
	}
	strbuf_add(p, data, len);
	held = p->len - m->off;
	hold = final ? 0 : m->longest - 1;
	limit = held > hold ? held - hold : 0;
	mask_span(m, p->buf + m->off, held, limit, &m->covered, out, &capped);
	m->off += limit;
	if (m->off == p->len) {
		strbuf_setlen(p, 0);
		m->off = 0;
	}
	return capped ? -1 : 0;
}

char *mask_string(const struct mask *m, const char *s)
{
	struct strbuf out = STRBUF_INIT;
	size_t n = strlen(s), cover = 0;
	int capped = 0;

	if (!m || !m->longest)
		return xstrdup(s);
	mask_span(m, s, n, n, &cover, &out, &capped);
	return strbuf_detach(&out, NULL);
}

void mask_in_place(const struct mask *m, char **s)
{
	char *masked;
	if (!*s)
		return;
	masked = mask_string(m, *s);
	free(*s);
	*s = masked;
}

size_t mask_held(const struct mask *m)
{
	return m->pending.len - m->off;
}

size_t mask_nr_forms(const struct mask *m)
{
	return m->nr;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *mask_value_problem(const char *value)
{
	if (!*value)
		return "is empty: there is nothing to mask";
	if (strlen(value) < MASK_MIN_VALUE)
		return "is shorter than " STR(
			MASK_MIN_VALUE) " characters: "
					"it is masked, and so are the same characters "
					"inside unrelated words of the output";
	return NULL;
}
