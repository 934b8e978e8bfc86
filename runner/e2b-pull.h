#ifndef E2B_PULL_H
#define E2B_PULL_H

struct sandbox;
struct strbuf;
struct ws_changes;
struct ws_manifest;
struct ws_pull_opts;

/*
 * Pull a task's changes back from an e2b sandbox with ws_diff()'s rules
 * (ws.h): list the workspace (e2b-tree.h), compare the listing with base
 * the way ws_diff() compares a local tree (through its struct
 * ws_pull_filter, with the same notes and caps), then fetch the changed
 * regular files that opts->pull wants, and that fit opts->pull_limit, as one
 * tar.gz made in the sandbox. That tar is read entry by entry: only the files
 * asked for, each within its listed size, written through ws_pulled (O_EXCL,
 * no link followed) under opts->dest. Everything the sandbox sends is
 * untrusted.
 *
 * Records every change in out (sorted by path). Returns 0, or -1 with a
 * message when the sandbox could not be listed or read, or dest cannot
 * be written. One thread at a time per sandbox.
 */
int e2b_pull(struct sandbox *sb, const struct ws_manifest *base,
	     const struct ws_pull_opts *opts, struct ws_changes *out,
	     struct strbuf *err);

#endif
