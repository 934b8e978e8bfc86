#include "runner.h"
#include "mask.h"

struct mask {
	struct strvec values;
	size_t longest;
	struct strbuf pending;
};

struct mask *mask_new(const struct strvec *values)
{
	struct mask *m = xcalloc(1, sizeof(*m));
	strvec_init(&m->values);
	strbuf_init(&m->pending, 0);
	for (size_t i = 0; values && i < values->nr; i++) {
		size_t len = strlen(values->v[i]);
		if (!len)
			continue;
		strvec_push(&m->values, values->v[i]);
		if (len > m->longest)
			m->longest = len;
	}
	return m;
}

void mask_free(struct mask *m)
{
	if (!m)
		return;
	strvec_clear(&m->values);
	strbuf_release(&m->pending);
	free(m);
}

/* Length of the longest value that starts at s (which has n bytes). */
static size_t match_at(const struct mask *m, const char *s, size_t n)
{
	size_t best = 0;
	for (size_t i = 0; i < m->values.nr; i++) {
		const char *v = m->values.v[i];
		size_t len = strlen(v);
		if (len <= n && len > best && *v == *s && !memcmp(v, s, len))
			best = len;
	}
	return best;
}

/*
 * Mask buf[0..n), emitting up to limit; returns where it stopped. A
 * match that starts before limit always fits in buf (see mask.h).
 */
static size_t mask_span(const struct mask *m, const char *buf, size_t n,
			size_t limit, struct strbuf *out, int *capped)
{
	size_t i = 0, start = 0;
	while (i < limit) {
		size_t len = match_at(m, buf + i, n - i);
		if (!len) {
			i++;
			continue;
		}
		if (strbuf_add(out, buf + start, i - start) < 0 ||
		    strbuf_addstr(out, "***") < 0)
			*capped = 1;
		i += len;
		start = i;
	}
	if (strbuf_add(out, buf + start, i - start) < 0)
		*capped = 1;
	return i;
}

int mask_feed(struct mask *m, const char *data, size_t len, bool final,
	      struct strbuf *out)
{
	struct strbuf *p = &m->pending;
	size_t hold, limit, used;
	int capped = 0;

	if (!m->longest) {
		if (strbuf_add(out, data, len) < 0)
			return -1;
		return 0;
	}
	strbuf_add(p, data, len);
	hold = final ? 0 : m->longest - 1;
	limit = p->len > hold ? p->len - hold : 0;
	used = mask_span(m, p->buf, p->len, limit, out, &capped);
	memmove(p->buf, p->buf + used, p->len - used);
	strbuf_setlen(p, p->len - used);
	return capped ? -1 : 0;
}

char *mask_string(const struct mask *m, const char *s)
{
	struct strbuf out = STRBUF_INIT;
	int capped = 0;
	size_t n = strlen(s);
	mask_span(m, s, n, n, &out, &capped);
	return strbuf_detach(&out, NULL);
}
