#ifndef PLAN_YAML_H
#define PLAN_YAML_H

#include "plan.h"

/*
 * Internal to plan-yaml.c and plan-validate.c: a YAML document as a tree
 * of nodes that remember where they were written, and the list of
 * diagnostics that plan_load() turns into "FILE:LINE:COL: message" lines.
 */

/*
 * Diagnostics, collected (never stopping at the first) and printed in
 * file order: sorted by line and column, ties in the order they were
 * added.
 */
struct plan_diag_entry {
	struct plan_loc loc;
	size_t seq;
	char *msg;
};

struct plan_diag {
	struct plan_diag_entry *v;
	size_t nr, alloc;
};

#define PLAN_DIAG_INIT     \
	{                  \
		NULL, 0, 0 \
	}

void plan_diag_add(struct plan_diag *d, struct plan_loc loc, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
/* Append every entry, sorted, as "PATH:LINE:COL: message\n". */
void plan_diag_flush(struct plan_diag *d, const char *path,
		     struct strbuf *out);
void plan_diag_release(struct plan_diag *d);

enum plan_node_type { PLAN_NODE_SCALAR, PLAN_NODE_SEQ, PLAN_NODE_MAP };

/*
 * What a scalar resolves to under the YAML 1.2 core schema: quoted
 * scalars and !!str are strings; plain ones may be null (empty, ~, null),
 * bool (true/false), int or float. "yes", "on" and the like are strings.
 */
enum plan_scalar_kind {
	PLAN_SCALAR_STR,
	PLAN_SCALAR_INT,
	PLAN_SCALAR_FLOAT,
	PLAN_SCALAR_BOOL,
	PLAN_SCALAR_NULL,
};

struct plan_node;

struct plan_node_pair {
	struct plan_node *key; /* always a scalar */
	struct plan_node *value;
};

/*
 * Aliases are resolved by sharing: an alias points at the anchored node,
 * so the tree is a DAG and a node's loc is where the anchor was written.
 * Every node is owned by its struct plan_doc.
 */
struct plan_node {
	enum plan_node_type type;
	enum plan_scalar_kind kind; /* scalars */
	struct plan_loc loc;
	char *str;		      /* scalars: the text, unescaped */
	struct plan_node **items;     /* sequences */
	struct plan_node_pair *pairs; /* mappings, duplicate keys dropped */
	size_t nr;		      /* items or pairs */
	size_t alloc;
	uint64_t weight; /* expanded node count */
	bool merge_key;	 /* a plain "<<" */
	bool open;	 /* collection still being read */
};

struct plan_doc {
	struct plan_node *root; /* NULL for an empty document */
	struct plan_node **all;
	size_t nr_all, alloc_all;
};

#define PLAN_DOC_INIT            \
	{                        \
		NULL, NULL, 0, 0 \
	}

/*
 * Limits on what a plan may be. Larger files, deeper nesting and aliases
 * expanding past the node limit ("billion laughs") are errors.
 */
#define PLAN_MAX_FILE_SIZE (8u << 20)
#define PLAN_MAX_DEPTH 64
#define PLAN_MAX_NODES 1000000

/*
 * Parse buf (len bytes, one YAML document) into doc. Syntax errors,
 * duplicate mapping keys, unknown tags, unknown or recursive aliases and
 * the limits above are added to diag. Returns 0 when the document was
 * read completely (doc->root may still be NULL: an empty document),
 * -1 when it was not (doc holds whatever was built; release it).
 * Duplicate keys are reported but do not fail the parse.
 */
int plan_yaml_parse(const char *buf, size_t len, struct plan_doc *doc,
		    struct plan_diag *diag);
void plan_doc_release(struct plan_doc *doc);
/*
 * A deep copy of n whose nodes into owns (what an alias shared is
 * copied for each use: n's weight bounds the size).
 */
struct plan_node *plan_node_copy(const struct plan_node *n,
				 struct plan_doc *into);

/*
 * A string -> pointer hash map (open addressing). Keys are borrowed: they
 * must outlive the map. Values must not be NULL (NULL means "absent").
 */
struct plan_strmap {
	const char **keys;
	void **values;
	size_t nr, size;
};

#define PLAN_STRMAP_INIT         \
	{                        \
		NULL, NULL, 0, 0 \
	}

void *plan_strmap_get(const struct plan_strmap *m, const char *key);
/* Insert key unless present; returns the value already there, or NULL. */
void *plan_strmap_put(struct plan_strmap *m, const char *key, void *value);
void plan_strmap_release(struct plan_strmap *m);

/* Value of key in a mapping node, or NULL; *key_out gets the key node. */
struct plan_node *plan_node_get(const struct plan_node *map, const char *key,
				struct plan_node **key_out);
/*
 * "a list", "an empty list", "a mapping", "an empty mapping", "'text'"
 * (shortened), "nothing": what a node is, for messages.
 */
void plan_node_describe(const struct plan_node *n, struct strbuf *out);

#endif
