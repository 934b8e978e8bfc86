#ifndef RUNREF_H
#define RUNREF_H

struct store;
struct strbuf;

/*
 * Resolve what a user typed for RUN: a full id, a unique prefix of one,
 * or "last" (the most recently started run). On success *id is a new
 * string the caller frees. -1 with a message that says what to do
 * (unknown, or ambiguous listing the candidates).
 */
int runref_resolve(struct store *st, const char *ref, char **id,
		   struct strbuf *err);

#endif
