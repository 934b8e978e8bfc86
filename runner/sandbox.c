#include "runner.h"
#include "sandbox.h"

/*
 * The backends built in, found by name. This table is the one place
 * outside a backend's own files that names one (t0200-layering): a new
 * backend adds its line here and nothing else outside its files.
 */
extern const struct sandbox_backend sandbox_local;
extern const struct sandbox_backend sandbox_e2b;

static const struct sandbox_backend *const backends[] = {
	&sandbox_local, /* the default: first */
	&sandbox_e2b,
};

size_t sandbox_backend_count(void)
{
	return ARRAY_SIZE(backends);
}

const struct sandbox_backend *sandbox_backend_at(size_t i)
{
	return i < ARRAY_SIZE(backends) ? backends[i] : NULL;
}

const struct sandbox_backend *sandbox_backend_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

void sandbox_backend_names(struct strbuf *out, const char *sep,
			   const char *last)
{
	size_t nr = ARRAY_SIZE(backends);

	for (size_t i = 0; i < nr; i++)
		strbuf_addf(out, "%s%s",
			    i == 0	  ? ""
			    : i + 1 == nr ? last
					  : sep,
			    backends[i]->name);
}

struct sandbox_leftover *sandbox_leftovers_add(struct sandbox_leftovers *l,
					       const char *id,
					       const char *run_id,
					       const char *what, bool kills)
{
	struct sandbox_leftover *o;

	ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	o = &l->v[l->nr++];
	memset(o, 0, sizeof(*o));
	o->id = xstrdup(id);
	o->run_id = xstrdup(run_id);
	o->what = xstrdup(what);
	o->done = kills ? "killed" : "removed";
	o->would = kills ? "would kill" : "would remove";
	return o;
}

void sandbox_leftovers_release(struct sandbox_leftovers *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->v[i].id);
		free(l->v[i].run_id);
		free(l->v[i].what);
	}
	free(l->v);
	l->v = NULL;
	l->nr = l->alloc = 0;
}
