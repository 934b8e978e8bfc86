#include "runner.h"
#include "runref.h"
#include "store-runs.h"

int runref_resolve(struct store *st, const char *ref, char **id,
		   struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	struct strvec found = STRVEC_INIT;
	int ret = -1;

	*id = NULL;
	if (strcmp(ref, "last") && (!*ref || strpbrk(ref, "%_"))) {
		strbuf_addf(err, "'%s' is not a run id", ref);
		goto out;
	}
	if (store_runs_match(st, strcmp(ref, "last") ? ref : NULL, &found,
			     &msg) < 0) {
		strbuf_addf(err, "cannot read runs: %s", msg.buf);
		goto out;
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
out:
	strbuf_release(&msg);
	strvec_clear(&found);
	return ret;
}
