#include "runner.h"
#include "plan-yaml.h"
#include "quote.h"

#include <yaml.h>

/*
 * libyaml's event API, not its document loader: the loader has no limit
 * on alias expansion and no way to keep our own per-node data. Events
 * come in document order; open collections sit on an explicit stack, so
 * nothing here recurses on input depth.
 */

/* Diagnostics */

void plan_diag_add(struct plan_diag *d, struct plan_loc loc, const char *fmt,
		   ...)
{
	struct strbuf sb = STRBUF_INIT, safe = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	/*
	 * Messages quote plan values (names, ids, keys, patterns): escaped
	 * here, in the one place every diagnostic passes, so a hostile plan
	 * cannot put ESC or BEL on the terminal of whoever validates it.
	 */
	quote_text(&safe, sb.buf, sb.len, 0);
	strbuf_release(&sb);
	ALLOC_GROW(d->v, d->nr + 1, d->alloc);
	d->v[d->nr].loc = loc;
	d->v[d->nr].seq = d->nr;
	d->v[d->nr].msg = strbuf_detach(&safe, NULL);
	d->nr++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct plan_diag_entry *x = a, *y = b;
	if (x->loc.line != y->loc.line)
		return x->loc.line < y->loc.line ? -1 : 1;
	if (x->loc.col != y->loc.col)
		return x->loc.col < y->loc.col ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

void plan_diag_flush(struct plan_diag *d, const char *path, struct strbuf *out)
{
	if (d->nr)
		qsort(d->v, d->nr, sizeof(*d->v), diag_cmp);
	for (size_t i = 0; i < d->nr; i++) {
		/* The same problem seen twice (shared alias) is said once. */
		if (i && d->v[i].loc.line == d->v[i - 1].loc.line &&
		    d->v[i].loc.col == d->v[i - 1].loc.col &&
		    !strcmp(d->v[i].msg, d->v[i - 1].msg))
			continue;
		strbuf_addf(out, "%s:%u:%u: %s\n", path, d->v[i].loc.line,
			    d->v[i].loc.col, d->v[i].msg);
	}
}

void plan_diag_release(struct plan_diag *d)
{
	for (size_t i = 0; i < d->nr; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->nr = d->alloc = 0;
}

/* String map */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void *plan_strmap_get(const struct plan_strmap *m, const char *key)
{
	size_t i;
	if (!m->size)
		return NULL;
	for (i = str_hash(key) & (m->size - 1); m->keys[i];
	     i = (i + 1) & (m->size - 1))
		if (!strcmp(m->keys[i], key))
			return m->values[i];
	return NULL;
}

static void strmap_grow(struct plan_strmap *m)
{
	struct plan_strmap bigger = PLAN_STRMAP_INIT;
	bigger.size = m->size ? m->size * 2 : 64;
	bigger.keys = xcalloc(bigger.size, sizeof(*bigger.keys));
	bigger.values = xcalloc(bigger.size, sizeof(*bigger.values));
	for (size_t i = 0; i < m->size; i++)
		if (m->keys[i])
			plan_strmap_put(&bigger, m->keys[i], m->values[i]);
	plan_strmap_release(m);
	*m = bigger;
}

void *plan_strmap_put(struct plan_strmap *m, const char *key, void *value)
{
	size_t i;
	if ((m->nr + 1) * 2 > m->size)
		strmap_grow(m);
	for (i = str_hash(key) & (m->size - 1); m->keys[i];
	     i = (i + 1) & (m->size - 1))
		if (!strcmp(m->keys[i], key))
			return m->values[i];
	m->keys[i] = key;
	m->values[i] = value;
	m->nr++;
	return NULL;
}

void plan_strmap_release(struct plan_strmap *m)
{
	free(m->keys);
	free(m->values);
	m->keys = NULL;
	m->values = NULL;
	m->nr = m->size = 0;
}

/* Nodes */

struct plan_node *plan_node_get(const struct plan_node *map, const char *key,
				struct plan_node **key_out)
{
	if (key_out)
		*key_out = NULL;
	if (!map || map->type != PLAN_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->nr; i++) {
		if (!strcmp(map->pairs[i].key->str, key)) {
			if (key_out)
				*key_out = map->pairs[i].key;
			return map->pairs[i].value;
		}
	}
	return NULL;
}

void plan_node_describe(const struct plan_node *n, struct strbuf *out)
{
	if (n->type == PLAN_NODE_SEQ) {
		strbuf_addstr(out, n->nr ? "a list" : "an empty list");
	} else if (n->type == PLAN_NODE_MAP) {
		strbuf_addstr(out, n->nr ? "a mapping" : "an empty mapping");
	} else if (n->kind == PLAN_SCALAR_NULL) {
		strbuf_addstr(out, "nothing");
	} else {
		size_t len = strlen(n->str);
		/* Keep messages one short line; cut on a UTF-8 boundary. */
		if (len > 40) {
			len = 37;
			while (len &&
			       ((unsigned char)n->str[len] & 0xc0) == 0x80)
				len--;
			strbuf_addf(out, "'%.*s...'", (int)len, n->str);
		} else {
			strbuf_addf(out, "'%s'", n->str);
		}
	}
}

static struct plan_node *node_new(struct plan_doc *doc,
				  enum plan_node_type type,
				  const yaml_mark_t *mark)
{
	struct plan_node *n = xcalloc(1, sizeof(*n));
	n->type = type;
	n->loc.line = (unsigned)mark->line + 1;
	n->loc.col = (unsigned)mark->column + 1;
	n->weight = 1;
	ALLOC_GROW(doc->all, doc->nr_all + 1, doc->alloc_all);
	doc->all[doc->nr_all++] = n;
	return n;
}

struct plan_node *plan_node_copy(const struct plan_node *n,
				 struct plan_doc *into)
{
	struct plan_node *c = xcalloc(1, sizeof(*c));

	ALLOC_GROW(into->all, into->nr_all + 1, into->alloc_all);
	into->all[into->nr_all++] = c;
	c->type = n->type;
	c->kind = n->kind;
	c->loc = n->loc;
	c->weight = n->weight;
	c->merge_key = n->merge_key;
	if (n->str)
		c->str = xstrdup(n->str);
	if (n->type == PLAN_NODE_SEQ && n->nr) {
		c->items = xcalloc(n->nr, sizeof(*c->items));
		for (size_t i = 0; i < n->nr; i++)
			c->items[i] = plan_node_copy(n->items[i], into);
	} else if (n->type == PLAN_NODE_MAP && n->nr) {
		c->pairs = xcalloc(n->nr, sizeof(*c->pairs));
		for (size_t i = 0; i < n->nr; i++) {
			c->pairs[i].key =
				plan_node_copy(n->pairs[i].key, into);
			c->pairs[i].value =
				plan_node_copy(n->pairs[i].value, into);
		}
	}
	c->nr = c->alloc = n->nr;
	return c;
}

void plan_doc_release(struct plan_doc *doc)
{
	for (size_t i = 0; i < doc->nr_all; i++) {
		struct plan_node *n = doc->all[i];
		free(n->str);
		free(n->items);
		free(n->pairs);
		free(n);
	}
	free(doc->all);
	doc->all = NULL;
	doc->nr_all = doc->alloc_all = 0;
	doc->root = NULL;
}

/* Scalars: YAML 1.2 core schema resolution */

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static bool is_int(const char *s)
{
	if (!strncmp(s, "0o", 2))
		return all_in(s + 2, "01234567");
	if (!strncmp(s, "0x", 2))
		return all_in(s + 2, "0123456789abcdefABCDEF");
	if (*s == '-' || *s == '+')
		s++;
	return all_in(s, "0123456789");
}

static bool is_float(const char *s)
{
	bool digits = false;
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF"))
		return true;
	while (*s >= '0' && *s <= '9') {
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			s++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return !*s;
}

static bool is_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static bool is_bool(const char *s)
{
	static const char *const words[] = { "true",  "True",  "TRUE",
					     "false", "False", "FALSE" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

static enum plan_scalar_kind resolve_plain(const char *s)
{
	if (is_null(s))
		return PLAN_SCALAR_NULL;
	if (is_bool(s))
		return PLAN_SCALAR_BOOL;
	if (is_int(s))
		return PLAN_SCALAR_INT;
	if (is_float(s))
		return PLAN_SCALAR_FLOAT;
	return PLAN_SCALAR_STR;
}

#define STD_TAG "tag:yaml.org,2002:"

static const char *kind_name(enum plan_node_type type)
{
	return type == PLAN_NODE_SCALAR ? "a scalar"
	       : type == PLAN_NODE_SEQ	? "a list"
					: "a mapping";
}

/*
 * Check an explicit tag. Returns 0 and sets *kind for scalars (when the
 * tag says which), or -1 after adding a diagnostic.
 */
static int check_tag(const char *tag, enum plan_node_type type,
		     enum plan_scalar_kind *kind, const char *text,
		     struct plan_loc loc, struct plan_diag *diag)
{
	static const struct {
		const char *name;
		enum plan_node_type type;
		enum plan_scalar_kind kind;
	} tags[] = {
		{ "str", PLAN_NODE_SCALAR, PLAN_SCALAR_STR },
		{ "int", PLAN_NODE_SCALAR, PLAN_SCALAR_INT },
		{ "float", PLAN_NODE_SCALAR, PLAN_SCALAR_FLOAT },
		{ "bool", PLAN_NODE_SCALAR, PLAN_SCALAR_BOOL },
		{ "null", PLAN_NODE_SCALAR, PLAN_SCALAR_NULL },
		{ "seq", PLAN_NODE_SEQ, PLAN_SCALAR_STR },
		{ "map", PLAN_NODE_MAP, PLAN_SCALAR_STR },
	};
	size_t n = strlen(STD_TAG);

	if (!tag || !strcmp(tag, "!"))
		return 0;
	if (!strncmp(tag, STD_TAG, n)) {
		for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
			if (strcmp(tag + n, tags[i].name))
				continue;
			if (tags[i].type != type) {
				plan_diag_add(diag, loc,
					      "tag '!!%s' does not fit %s",
					      tags[i].name, kind_name(type));
				return -1;
			}
			if (type != PLAN_NODE_SCALAR)
				return 0;
			if (tags[i].kind != PLAN_SCALAR_STR &&
			    resolve_plain(text) != tags[i].kind &&
			    !(tags[i].kind == PLAN_SCALAR_FLOAT &&
			      is_int(text))) {
				plan_diag_add(diag, loc,
					      "'%s' is not a valid !!%s", text,
					      tags[i].name);
				return -1;
			}
			*kind = tags[i].kind;
			return 0;
		}
		plan_diag_add(diag, loc, "unsupported tag '!!%s'", tag + n);
		return -1;
	}
	plan_diag_add(diag, loc, "unsupported tag '%s'", tag);
	return -1;
}

/* The parser proper */

struct frame {
	struct plan_node *node;
	struct plan_node *key; /* mappings: key waiting for its value */
	bool skip_value;       /* mappings: the key was bad, drop the value */
};

struct anchor {
	char *name;
	struct plan_node *node;
};

struct parse {
	struct plan_doc *doc;
	struct plan_diag *diag;
	struct frame *stack;
	size_t nr, alloc;
	struct plan_strmap anchors; /* name -> struct anchor * */
	struct anchor **anchor_list;
	size_t nr_anchors, alloc_anchors;
	bool failed;
};

static void add_weight(struct parse *p, struct plan_node *to, uint64_t w,
		       const struct plan_node *via_alias, const char *alias)
{
	to->weight += w;
	if (to->weight > PLAN_MAX_NODES) {
		to->weight = PLAN_MAX_NODES + 1;
		if (p->failed)
			return;
		if (via_alias)
			plan_diag_add(p->diag, via_alias->loc,
				      "alias '*%s' makes the plan expand to "
				      "more than %u nodes",
				      alias, PLAN_MAX_NODES);
		else
			plan_diag_add(p->diag, to->loc,
				      "plan has more than %u nodes",
				      PLAN_MAX_NODES);
		p->failed = true;
	}
}

static void set_anchor(struct parse *p, const char *name,
		       struct plan_node *node)
{
	struct anchor *a = plan_strmap_get(&p->anchors, name);
	if (a) {
		/* YAML lets an anchor be redefined; later aliases see it. */
		a->node = node;
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(name);
	a->node = node;
	ALLOC_GROW(p->anchor_list, p->nr_anchors + 1, p->alloc_anchors);
	p->anchor_list[p->nr_anchors++] = a;
	plan_strmap_put(&p->anchors, a->name, a);
}

/*
 * Merge keys ("<<: *base" or "<<: [*a, *b]"), as YAML 1.1 and most tools
 * do: keys written in the mapping win, then earlier merged mappings win
 * over later ones. Duplicate written keys are reported and dropped.
 */
static void finish_map(struct parse *p, struct plan_node *map)
{
	struct plan_strmap seen = PLAN_STRMAP_INIT;
	struct plan_node_pair *out = NULL;
	size_t nr_out = 0, alloc_out = 0;
	bool has_merge = false;

	for (size_t i = 0; i < map->nr; i++) {
		struct plan_node *k = map->pairs[i].key, *first;
		if (k->merge_key) {
			has_merge = true;
			continue;
		}
		first = plan_strmap_put(&seen, k->str, k);
		if (first) {
			plan_diag_add(p->diag, k->loc,
				      "duplicate key '%s' (first at line %u)",
				      k->str, first->loc.line);
			map->pairs[i].key = NULL;
		}
	}
	if (!has_merge) {
		size_t j = 0;
		for (size_t i = 0; i < map->nr; i++)
			if (map->pairs[i].key)
				map->pairs[j++] = map->pairs[i];
		map->nr = j;
		goto out;
	}
	for (size_t i = 0; i < map->nr; i++) {
		struct plan_node *k = map->pairs[i].key, *v;
		struct plan_node *const *srcs;
		size_t nr_srcs;

		if (!k)
			continue;
		if (!k->merge_key) {
			ALLOC_GROW(out, nr_out + 1, alloc_out);
			out[nr_out++] = map->pairs[i];
			continue;
		}
		v = map->pairs[i].value;
		if (v->type == PLAN_NODE_MAP) {
			srcs = &map->pairs[i].value;
			nr_srcs = 1;
		} else if (v->type == PLAN_NODE_SEQ) {
			srcs = v->items;
			nr_srcs = v->nr;
		} else {
			plan_diag_add(p->diag, v->loc,
				      "merge key '<<' needs a mapping or a "
				      "list of mappings");
			continue;
		}
		for (size_t s = 0; s < nr_srcs; s++) {
			const struct plan_node *src = srcs[s];
			if (src->type != PLAN_NODE_MAP) {
				plan_diag_add(p->diag, src->loc,
					      "merge key '<<' needs a mapping "
					      "or a list of mappings");
				continue;
			}
			for (size_t j = 0; j < src->nr; j++) {
				struct plan_node *mk = src->pairs[j].key;
				if (plan_strmap_put(&seen, mk->str, mk))
					continue;
				ALLOC_GROW(out, nr_out + 1, alloc_out);
				out[nr_out++] = src->pairs[j];
				add_weight(p, map,
					   mk->weight +
						   src->pairs[j].value->weight,
					   NULL, NULL);
			}
		}
	}
	free(map->pairs);
	map->pairs = out;
	map->nr = nr_out;
	map->alloc = alloc_out;
out:
	plan_strmap_release(&seen);
}

/* A finished node goes into its parent (or becomes the root). */
static void attach(struct parse *p, struct plan_node *n,
		   const struct plan_node *alias_at, const char *alias)
{
	struct frame *f;
	struct plan_node *parent;

	if (!p->nr) {
		p->doc->root = n;
		return;
	}
	f = &p->stack[p->nr - 1];
	parent = f->node;
	if (parent->type == PLAN_NODE_SEQ) {
		ALLOC_GROW(parent->items, parent->nr + 1, parent->alloc);
		parent->items[parent->nr++] = n;
		add_weight(p, parent, n->weight, alias_at, alias);
		return;
	}
	if (!f->key && !f->skip_value) {
		if (n->type != PLAN_NODE_SCALAR) {
			plan_diag_add(p->diag,
				      alias_at ? alias_at->loc : n->loc,
				      "a mapping key must be a string, "
				      "found %s",
				      kind_name(n->type));
			f->skip_value = true;
			return;
		}
		f->key = n;
		return;
	}
	if (f->skip_value) {
		f->skip_value = false;
		return;
	}
	ALLOC_GROW(parent->pairs, parent->nr + 1, parent->alloc);
	parent->pairs[parent->nr].key = f->key;
	parent->pairs[parent->nr].value = n;
	parent->nr++;
	add_weight(p, parent, f->key->weight, NULL, NULL);
	add_weight(p, parent, n->weight, alias_at, alias);
	f->key = NULL;
}

static void open_collection(struct parse *p, enum plan_node_type type,
			    const yaml_event_t *ev, const char *tag,
			    const char *anchor)
{
	struct plan_node *n = node_new(p->doc, type, &ev->start_mark);
	enum plan_scalar_kind kind;

	if (p->nr >= PLAN_MAX_DEPTH) {
		plan_diag_add(p->diag, n->loc,
			      "plan nests deeper than %d levels",
			      PLAN_MAX_DEPTH);
		p->failed = true;
		return;
	}
	check_tag(tag, type, &kind, NULL, n->loc, p->diag);
	n->open = true;
	if (anchor)
		set_anchor(p, anchor, n);
	ALLOC_GROW(p->stack, p->nr + 1, p->alloc);
	p->stack[p->nr].node = n;
	p->stack[p->nr].key = NULL;
	p->stack[p->nr].skip_value = false;
	p->nr++;
}

static void close_collection(struct parse *p)
{
	struct plan_node *n = p->stack[--p->nr].node;
	n->open = false;
	if (n->type == PLAN_NODE_MAP)
		finish_map(p, n);
	attach(p, n, NULL, NULL);
}

static void on_scalar(struct parse *p, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct plan_node *n =
		node_new(p->doc, PLAN_NODE_SCALAR, &ev->start_mark);
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	n->str = xstrndup(text, ev->data.scalar.length);
	if (strlen(n->str) != ev->data.scalar.length)
		plan_diag_add(p->diag, n->loc,
			      "a value contains a NUL character");
	if (tag && strcmp(tag, "!")) {
		n->kind = PLAN_SCALAR_STR;
		check_tag(tag, PLAN_NODE_SCALAR, &n->kind, n->str, n->loc,
			  p->diag);
	} else if (plain && !tag) {
		n->kind = resolve_plain(n->str);
		n->merge_key = !strcmp(n->str, "<<");
	} else {
		n->kind = PLAN_SCALAR_STR;
	}
	if (ev->data.scalar.anchor)
		set_anchor(p, (const char *)ev->data.scalar.anchor, n);
	attach(p, n, NULL, NULL);
}

static void on_alias(struct parse *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = plan_strmap_get(&p->anchors, name);
	struct plan_node at = { 0 };

	at.loc.line = (unsigned)ev->start_mark.line + 1;
	at.loc.col = (unsigned)ev->start_mark.column + 1;
	if (!a) {
		plan_diag_add(p->diag, at.loc, "unknown alias '*%s'", name);
		p->failed = true;
		return;
	}
	if (a->node->open) {
		plan_diag_add(p->diag, at.loc,
			      "alias '*%s' refers to a node that contains it",
			      name);
		p->failed = true;
		return;
	}
	attach(p, a->node, &at, name);
}

static struct plan_loc offset_loc(const char *buf, size_t len, size_t off)
{
	struct plan_loc loc = { 1, 1 };
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			loc.line++;
			loc.col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			loc.col++;
		}
	}
	return loc;
}

static void syntax_error(struct parse *p, const yaml_parser_t *parser,
			 const char *buf, size_t len)
{
	struct plan_loc loc;

	if (parser->error == YAML_READER_ERROR) {
		loc = offset_loc(buf, len, parser->problem_offset);
		if (parser->problem_value != -1)
			plan_diag_add(p->diag, loc,
				      "yaml syntax error: %s (byte 0x%02x)",
				      parser->problem, parser->problem_value);
		else
			plan_diag_add(p->diag, loc, "yaml syntax error: %s",
				      parser->problem);
		return;
	}
	if (parser->error == YAML_MEMORY_ERROR) {
		loc.line = loc.col = 1;
		plan_diag_add(p->diag, loc, "yaml parser ran out of memory");
		return;
	}
	loc.line = (unsigned)parser->problem_mark.line + 1;
	loc.col = (unsigned)parser->problem_mark.column + 1;
	if (parser->context &&
	    parser->context_mark.index == parser->problem_mark.index)
		plan_diag_add(p->diag, loc, "yaml syntax error: %s (%s)",
			      parser->problem, parser->context);
	else if (parser->context)
		plan_diag_add(p->diag, loc,
			      "yaml syntax error: %s (%s at line %u, "
			      "column %u)",
			      parser->problem, parser->context,
			      (unsigned)parser->context_mark.line + 1,
			      (unsigned)parser->context_mark.column + 1);
	else
		plan_diag_add(p->diag, loc, "yaml syntax error: %s",
			      parser->problem ? parser->problem
					      : "cannot parse");
}

int plan_yaml_parse(const char *buf, size_t len, struct plan_doc *doc,
		    struct plan_diag *diag)
{
	struct parse p = { 0 };
	yaml_parser_t parser;
	yaml_event_t ev;
	int docs = 0;
	bool done = false;
	int ret = -1;

	p.doc = doc;
	p.diag = diag;
	if (!yaml_parser_initialize(&parser)) {
		struct plan_loc loc = { 1, 1 };
		plan_diag_add(diag, loc, "cannot initialise the yaml parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !p.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&p, &parser, buf, len);
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				struct plan_loc loc = {
					(unsigned)ev.start_mark.line + 1,
					(unsigned)ev.start_mark.column + 1
				};
				plan_diag_add(diag, loc,
					      "a plan is one yaml document, "
					      "found a second one");
				p.failed = true;
			}
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(&p, &ev);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(&p, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			open_collection(
				&p, PLAN_NODE_SEQ, &ev,
				(const char *)ev.data.sequence_start.tag,
				(const char *)ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			open_collection(
				&p, PLAN_NODE_MAP, &ev,
				(const char *)ev.data.mapping_start.tag,
				(const char *)ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			close_collection(&p);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!p.failed)
		ret = 0;
out:
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < p.nr_anchors; i++) {
		free(p.anchor_list[i]->name);
		free(p.anchor_list[i]);
	}
	free(p.anchor_list);
	plan_strmap_release(&p.anchors);
	free(p.stack);
	return ret;
}
