#include "runner.h"
#include "quote.h"
#include "timeutil.h"

#include <cJSON.h>

/*
 * The valid UTF-8 sequence at s (NUL-terminated or not: a NUL fails the
 * continuation test): its length, or 0 when s[0] does not start one.
 */
static size_t utf8_seq(const unsigned char *s, size_t left, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t v, min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool quote_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t quote_utf8_partial_tail(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = p[len - back];
		size_t need;
		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? back : 0;
	}
	return 0;
}

static bool unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

static void add_escape(struct strbuf *sb, unsigned char c)
{
	static const char letters[] = "abtnvfr";
	if (c >= '\a' && c <= '\r') {
		strbuf_addch(sb, '\\');
		strbuf_addch(sb, letters[c - '\a']);
	} else {
		strbuf_addf(sb, "\\%03o", c);
	}
}

static void escape(struct strbuf *sb, const char *s, size_t len, int flags)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_seq(p + i, len - i, &cp);

		if (!n) {
			add_escape(sb, p[i++]);
			continue;
		}
		if ((flags & QUOTE_KEEP_LINES) && (cp == '\n' || cp == '\t')) {
			strbuf_addch(sb, (int)cp);
		} else if (unsafe(cp)) {
			for (size_t k = 0; k < n; k++)
				add_escape(sb, p[i + k]);
		} else if ((flags & QUOTE_C_STYLE) &&
			   (cp == '"' || cp == '\\')) {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (int)cp);
		} else {
			strbuf_add(sb, p + i, n);
		}
		i += n;
	}
}

bool quote_path_needed(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name);
	uint32_t cp;

	/* " x" and "x " would not show where the name starts or ends. */
	if (len && (name[0] == ' ' || name[len - 1] == ' '))
		return true;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (!n || unsafe(cp) || cp == '"' || cp == '\\')
			return true;
		i += n;
	}
	return false;
}

void quote_path(struct strbuf *sb, const char *name)
{
	if (!quote_path_needed(name)) {
		strbuf_addstr(sb, name);
		return;
	}
	strbuf_addch(sb, '"');
	escape(sb, name, strlen(name), QUOTE_C_STYLE);
	strbuf_addch(sb, '"');
}

char *quote_path_dup(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	quote_path(&sb, name ? name : "");
	return strbuf_detach(&sb, NULL);
}

void quote_text(struct strbuf *sb, const char *s, size_t len, int flags)
{
	escape(sb, s, len, flags & (QUOTE_KEEP_LINES | QUOTE_C_STYLE));
}

char *quote_text_dup(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	if (s)
		quote_text(&sb, s, strlen(s), 0);
	return strbuf_detach(&sb, NULL);
}

void quote_utf8_fix(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (!n) {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			i++;
			continue;
		}
		strbuf_add(sb, p + i, n);
		i += n;
	}
}

cJSON *quote_json_checked(cJSON *item)
{
	if (!item)
		die("out of memory building JSON");
	return item;
}

static void add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (!cJSON_AddItemToObject(obj, key, quote_json_checked(item)))
		die("out of memory building JSON");
}

void quote_json_add_name(cJSON *obj, const char *key, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	char *k;

	if (quote_utf8_valid(name, strlen(name))) {
		add_item(obj, key, cJSON_CreateString(name));
		return;
	}
	quote_utf8_fix(&sb, name);
	add_item(obj, key, cJSON_CreateString(sb.buf));
	strbuf_reset(&sb);
	quote_base64(&sb, name, strlen(name));
	k = xstrfmt("%s_b64", key);
	add_item(obj, k, cJSON_CreateString(sb.buf));
	free(k);
	strbuf_release(&sb);
}

int quote_json_get_name(const cJSON *obj, const char *key, struct strbuf *out)
{
	char *k = xstrfmt("%s_b64", key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, k);
	size_t start = out->len;
	int ret = -1;

	free(k);
	if (!cJSON_IsString(v))
		return -1;
	if (!b) {
		strbuf_addstr(out, v->valuestring);
		return 0;
	}
	if (cJSON_IsString(b) && !quote_unbase64(out, b->valuestring) &&
	    !memchr(out->buf + start, '\0', out->len - start))
		ret = 0;
	if (ret)
		strbuf_setlen(out, start);
	return ret;
}

cJSON *quote_json_text(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *j;

	if (quote_utf8_valid(s, strlen(s)))
		return quote_json_checked(cJSON_CreateString(s));
	quote_utf8_fix(&sb, s);
	j = quote_json_checked(cJSON_CreateString(sb.buf));
	strbuf_release(&sb);
	return j;
}

void quote_json_add_text(cJSON *obj, const char *key, const char *s)
{
	add_item(obj, key, quote_json_text(s));
}

void quote_json_add_text_or_null(cJSON *obj, const char *key, const char *s)
{
	if (s)
		quote_json_add_text(obj, key, s);
	else
		add_item(obj, key, quote_json_checked(cJSON_CreateNull()));
}

void quote_json_add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[40];

	if (!ms) {
		add_item(obj, key, quote_json_checked(cJSON_CreateNull()));
		return;
	}
	time_iso8601_utc(ms, buf, sizeof(buf));
	add_item(obj, key, quote_json_checked(cJSON_CreateString(buf)));
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void quote_base64(struct strbuf *sb, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = len - i;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		strbuf_addch(sb, b64[v >> 18 & 63]);
		strbuf_addch(sb, b64[v >> 12 & 63]);
		strbuf_addch(sb, left > 1 ? b64[v >> 6 & 63] : '=');
		strbuf_addch(sb, left > 2 ? b64[v & 63] : '=');
	}
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int quote_unbase64(struct strbuf *sb, const char *s)
{
	size_t len = strlen(s), start = sb->len;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		bool last = i + 4 == len;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64_val(s[i + k])) < 0)
				goto bad;
		}
		strbuf_addch(sb, v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			strbuf_addch(sb, (v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			strbuf_addch(sb, (v[2] & 3) << 6 | v[3]);
	}
	return 0;
bad:
	strbuf_setlen(sb, start);
	return -1;
}
