#include "runner.h"
#include "runref.h"
#include "store.h"

int runref_resolve(struct store *st, const char *ref, char **id,
		   struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	struct strvec found = STRVEC_INIT;
	int ret = -1;

	*id = NULL;
	if (!strcmp(ref, "last")) {
		if (sqlite3_prepare_v2(db,
				       "SELECT id FROM runs ORDER BY started_at"
				       " DESC, id DESC LIMIT 1",
				       -1, &s, NULL) != SQLITE_OK)
			goto sqlfail;
	} else {
		if (!*ref || strpbrk(ref, "%_")) {
			strbuf_addf(err, "'%s' is not a run id", ref);
			goto out;
		}
		if (sqlite3_prepare_v2(db,
				       "SELECT id FROM runs WHERE id = ?1 OR"
				       " substr(id, 1, length(?1)) = ?1"
				       " ORDER BY (id = ?1) DESC, id LIMIT 6",
				       -1, &s, NULL) != SQLITE_OK)
			goto sqlfail;
		sqlite3_bind_text(s, 1, ref, -1, SQLITE_TRANSIENT);
	}
	for (;;) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			goto sqlfail;
		strvec_push(&found, (const char *)sqlite3_column_text(s, 0));
	}
	if (!found.nr) {
		if (!strcmp(ref, "last"))
			strbuf_addstr(err, "there are no runs yet in this "
					   "state (see --state)");
		else
			strbuf_addf(err,
				    "no run '%s'; 'runner runs' lists "
				    "them",
				    ref);
		goto out;
	}
	if (found.nr > 1 && strcmp(found.v[0], ref)) {
		strbuf_addf(err, "'%s' matches several runs:", ref);
		for (size_t i = 0; i < found.nr && i < 5; i++)
			strbuf_addf(err, " %s", found.v[i]);
		if (found.nr > 5)
			strbuf_addstr(err, " ...");
		strbuf_addstr(err, "; give more of the id");
		goto out;
	}
	*id = xstrdup(found.v[0]);
	ret = 0;
	goto out;
sqlfail:
	strbuf_addf(err, "cannot read runs: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	strvec_clear(&found);
	return ret;
}
