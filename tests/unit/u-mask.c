#include "runner.h"
#include "mask.h"
#include "tap.h"

/* Feed text in chunks of the given size and return the masked whole. */
static char *feed_chunks(struct mask *m, const char *text, size_t chunk)
{
	struct strbuf out = STRBUF_INIT;
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i += chunk) {
		size_t len = n - i < chunk ? n - i : chunk;
		mask_feed(m, text + i, len, false, &out);
	}
	mask_feed(m, "", 0, true, &out);
	return strbuf_detach(&out, NULL);
}

int main(void)
{
	struct strvec secrets = STRVEC_INIT;
	const char *text = "key=sk-ant-SECRET1 and again sk-ant-SECRET1, "
			   "short hunter2 end";
	const char *want = "key=*** and again ***, short *** end";
	struct mask *m;
	char *s;

	strvec_push(&secrets, "sk-ant-SECRET1");
	strvec_push(&secrets, "hunter2");
	strvec_push(&secrets, "");
	m = mask_new(&secrets);
	for (size_t chunk = 1; chunk <= 20; chunk++) {
		s = feed_chunks(m, text, chunk);
		is_str(s, want, "masked across chunk boundaries of %zu", chunk);
		free(s);
	}
	s = mask_string(m, "hunter2hunter2");
	is_str(s, "******", "adjacent occurrences");
	free(s);
	mask_free(m);

	m = mask_new(NULL);
	s = feed_chunks(m, "nothing to hide", 3);
	is_str(s, "nothing to hide", "no secrets: passes through");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);
	return done_testing();
}
