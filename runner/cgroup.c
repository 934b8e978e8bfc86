/*
 * Control groups for task limits; the design is in cgroup.h.
 *
 * Every file here is tiny and written with one write(2): the kernel takes
 * a cgroup file's value from a single write, and reports a refused value
 * (EINVAL, EBUSY) as that write's error.
 */
#define _GNU_SOURCE
#include "runner.h"
#include "cgroup.h"
#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

struct cgroup {
	enum cgroup_mode mode;
	unsigned ctrls;
	size_t nr;
	struct cgroup_hier dirs[CGROUP_MAX_HIER];
	int procs_fds[CGROUP_MAX_HIER];
	int dir_fd; /* v2 */
	bool removed;
};

static const struct {
	unsigned bit;
	const char *name;
} ctrl_names[CGROUP_NR_CTRL] = {
	{ CGROUP_MEMORY, "memory" },   { CGROUP_PIDS, "pids" },
	{ CGROUP_CPU, "cpu" },	       { CGROUP_CPUACCT, "cpuacct" },
	{ CGROUP_FREEZER, "freezer" },
};

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Is word one of the comma-separated items of list? */
static bool in_list(const char *list, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *end = list + len;

	while (list < end) {
		const char *c = memchr(list, ',', (size_t)(end - list));
		size_t n = c ? (size_t)(c - list) : (size_t)(end - list);
		if (n == wl && !memcmp(list, word, wl))
			return true;
		list += n + 1;
	}
	return false;
}

static unsigned ctrls_of_list(const char *list, size_t len)
{
	unsigned m = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ctrl_names); i++)
		if (in_list(list, len, ctrl_names[i].name))
			m |= ctrl_names[i].bit;
	return m;
}

static void add_ctrl_names(struct strbuf *sb, unsigned ctrls)
{
	const char *sep = "";
	for (size_t i = 0; i < ARRAY_SIZE(ctrl_names); i++) {
		if (!(ctrls & ctrl_names[i].bit))
			continue;
		strbuf_addf(sb, "%s%s", sep, ctrl_names[i].name);
		sep = ", ";
	}
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_mount(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 +
				      (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

struct mount_ent {
	char *root, *point;
	const char *fstype, *opts, *superopts;
	size_t fstype_len, opts_len, superopts_len;
};

/* Split one mountinfo line (NUL-free, no newline) into *m. */
static int parse_mount_line(const char *line, size_t len, struct mount_ent *m)
{
	const char *f[32];
	size_t fl[32], n = 0, sep;
	const char *p = line, *end = line + len;

	while (p < end && n < ARRAY_SIZE(f)) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		f[n] = p;
		fl[n] = sp ? (size_t)(sp - p) : (size_t)(end - p);
		n++;
		if (!sp)
			break;
		p = sp + 1;
	}
	for (sep = 6; sep < n; sep++)
		if (fl[sep] == 1 && f[sep][0] == '-')
			break;
	if (n < 7 || sep + 3 >= n)
		return -1;
	m->fstype = f[sep + 1];
	m->fstype_len = fl[sep + 1];
	m->superopts = f[sep + 3];
	m->superopts_len = fl[sep + 3];
	m->opts = f[5];
	m->opts_len = fl[5];
	m->root = unescape_mount(f[3], fl[3]);
	m->point = unescape_mount(f[4], fl[4]);
	return 0;
}

static bool field_is(const char *s, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(s, want, len);
}

/* Has path a ".." component? */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (!p[2] || p[2] == '/'))
			return true;
	return false;
}

/*
 * Where cgroup path (as /proc/self/cgroup says it) is under a mount of
 * root at point; NULL when the mount shows a subtree we are not in.
 */
static char *dir_under_mount(const char *root, const char *point,
			     const char *path)
{
	size_t rl = strlen(root);

	/*
	 * In a cgroup namespace, a cgroup outside the namespace's root reads
	 * "/../x", and so does the root of a mount made outside it.
	 */
	if (has_dotdot(path) || has_dotdot(root))
		return NULL;
	if (!strcmp(root, "/"))
		rl = 0;
	if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/'))
		return NULL;
	return fs_join(point, path + rl);
}

/*
 * The first mount (fstype "cgroup" holding controller ctrl, or "cgroup2"
 * when ctrl is NULL) under which path lies: its directory for path.
 */
static char *find_mount_dir(const char *mountinfo, const char *ctrl,
			    const char *path, bool *nsdelegate, bool *mounted)
{
	const char *p = mountinfo;
	char *dir = NULL;

	while (*p && !dir) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct mount_ent m;

		if (!parse_mount_line(p, len, &m)) {
			bool hit = ctrl ? field_is(m.fstype, m.fstype_len,
						   "cgroup") &&
						   in_list(m.superopts,
							   m.superopts_len,
							   ctrl)
					: field_is(m.fstype, m.fstype_len,
						   "cgroup2");
			if (hit) {
				*mounted = true;
				dir = dir_under_mount(m.root, m.point, path);
				if (dir && nsdelegate)
					*nsdelegate = in_list(m.superopts,
							      m.superopts_len,
							      "nsdelegate") ||
						      in_list(m.opts,
							      m.opts_len,
							      "nsdelegate");
			}
			free(m.root);
			free(m.point);
		}
		p += len + (nl ? 1 : 0);
	}
	return dir;
}

void cgroup_layout_release(struct cgroup_layout *l)
{
	for (size_t i = 0; i < l->nr_v1; i++)
		free(l->v1[i].dir);
	free(l->v2.dir);
	memset(l, 0, sizeof(*l));
}

int cgroup_parse_layout(const char *proc_cgroup, const char *mountinfo,
			struct cgroup_layout *out, struct strbuf *why,
			struct strbuf *err)
{
	const char *p = proc_cgroup;
	int lines = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2;
		char *path;
		unsigned ctrls;

		if (!len)
			goto next;
		c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))
			: NULL;
		if (!c2 || c2 + 1 >= p + len || c2[1] != '/') {
			strbuf_addf(err,
				    "unexpected line in /proc/self/cgroup:"
				    " '%.*s'",
				    (int)len, p);
			cgroup_layout_release(out);
			return -1;
		}
		lines++;
		path = xstrndup(c2 + 1, len - (size_t)(c2 + 1 - p));
		ctrls = ctrls_of_list(c1 + 1, (size_t)(c2 - c1 - 1));
		if (c2 == c1 + 1 && c1 - p == 1 && p[0] == '0') {
			bool mounted = false;
			out->v2.dir = find_mount_dir(mountinfo, NULL, path,
						     &out->v2_nsdelegate,
						     &mounted);
			if (!out->v2.dir && mounted)
				strbuf_addf(why,
					    "%scgroup v2: our cgroup %s "
					    "is outside the mounted tree",
					    why->len ? "; " : "", path);
		} else if (ctrls && out->nr_v1 < CGROUP_MAX_HIER) {
			/* any controller of the line finds its mount */
			const char *name = NULL;
			bool mounted = false;
			char *dir;

			for (size_t i = 0; !name && i < ARRAY_SIZE(ctrl_names);
			     i++)
				if (ctrls & ctrl_names[i].bit)
					name = ctrl_names[i].name;
			dir = find_mount_dir(mountinfo, name, path, NULL,
					     &mounted);
			if (dir) {
				out->v1[out->nr_v1].ctrls = ctrls;
				out->v1[out->nr_v1++].dir = dir;
			} else {
				strbuf_addf(why, "%scgroup v1 %s: ",
					    why->len ? "; " : "", name);
				if (mounted)
					strbuf_addf(why,
						    "our cgroup %s is "
						    "outside the mounted "
						    "tree",
						    path);
				else
					strbuf_addstr(why, "not mounted");
			}
		}
		free(path);
	next:
		p += len + (nl ? 1 : 0);
	}
	if (!lines) {
		strbuf_addstr(err, "/proc/self/cgroup is empty");
		return -1;
	}
	return 0;
}

/* Read a small file of a cgroup into sb (reset first). */
static int read_cg_file(const char *dir, const char *name, struct strbuf *sb)
{
	char path[PATH_MAX];

	strbuf_reset(sb);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return strbuf_read_file(sb, path);
}

/* Write value to dir/name in one write(2); -1 with errno, err set. */
static int write_cg_file(const char *dir, const char *name, const char *value,
			 struct strbuf *err)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	int fd, saved;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	n = write(fd, value, len);
	saved = errno;
	close(fd);
	errno = saved;
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
fail:
	saved = errno;
	if (err)
		strbuf_addf(err, "cannot write '%s' to '%s/%s': %s", value,
			    dir, name, strerror(saved));
	errno = saved;
	return -1;
}

static bool cg_file_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(p + kl + 1, &end, 10);
			if (!errno && end != p + kl + 1 &&
			    (*end == '\n' || !*end)) {
				*out = v;
				return 0;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

/* A whole file that is one number ("max" is UINT64_MAX). */
static int read_cg_u64(const char *dir, const char *name, uint64_t *out)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned long long v;
	char *end;
	int ret = -1;

	strbuf_init_capped(&sb, 4096);
	if (read_cg_file(dir, name, &sb) < 0)
		goto out;
	strbuf_rtrim(&sb);
	if (!strcmp(sb.buf, "max")) {
		*out = UINT64_MAX;
		ret = 0;
		goto out;
	}
	errno = 0;
	v = strtoull(sb.buf, &end, 10);
	if (errno || end == sb.buf || *end)
		goto out;
	*out = v;
	ret = 0;
out:
	strbuf_release(&sb);
	return ret;
}

static int read_cg_keyed(const char *dir, const char *name, const char *key,
			 uint64_t *out)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	strbuf_init_capped(&sb, 65536);
	if (read_cg_file(dir, name, &sb) == 0)
		ret = cgroup_parse_keyed(sb.buf, key, out);
	strbuf_release(&sb);
	return ret;
}

/* Our start time (clock ticks since boot), field 22 of /proc/PID/stat. */
static int proc_start_time(pid_t pid, unsigned long long *out)
{
	char path[64];
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	int field = 2, ret = -1;

	strbuf_init_capped(&sb, 4096);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (strbuf_read_file(&sb, path) < 0)
		goto out;
	p = strrchr(sb.buf, ')'); /* the name may hold anything */
	if (!p)
		goto out;
	p++;
	while (*p && field < 22) {
		if (*p++ == ' ')
			field++;
	}
	if (field == 22 && *p >= '0' && *p <= '9') {
		*out = strtoull(p, NULL, 10);
		ret = 0;
	}
out:
	strbuf_release(&sb);
	return ret;
}

static int pidns_ino(unsigned long long *out)
{
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) < 0)
		return -1;
	*out = (unsigned long long)st.st_ino;
	return 0;
}

void cgroup_host_init(struct cgroup_host *h)
{
	memset(h, 0, sizeof(*h));
	strbuf_init(&h->reason, 0);
}

static void host_clear_dirs(struct cgroup_host *h)
{
	for (size_t i = 0; i < h->nr_hier; i++)
		free(h->hier[i].dir);
	h->nr_hier = 0;
}

void cgroup_host_release(struct cgroup_host *h)
{
	if (h->prepared) {
		for (size_t i = 0; i < h->nr_hier; i++) {
			char *d = fs_join(h->hier[i].dir, h->run_name);
			rmdir(d);
			free(d);
		}
	}
	host_clear_dirs(h);
	free(h->run_name);
	free(h->v2_leaf);
	strbuf_release(&h->reason);
	cgroup_host_init(h);
}

static unsigned v2_ctrls(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned m = 0;

	strbuf_init_capped(&sb, 4096);
	if (read_cg_file(dir, "cgroup.controllers", &sb) == 0) {
		strbuf_rtrim(&sb);
		for (char *p = sb.buf; *p; p++)
			if (*p == ' ')
				*p = ',';
		m = ctrls_of_list(sb.buf, sb.len);
	}
	strbuf_release(&sb);
	return m & (CGROUP_MEMORY | CGROUP_PIDS | CGROUP_CPU);
}

/* Does the v2 cgroup dir hold processes other than us? */
static bool v2_has_others(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	bool others = false;
	long self = (long)getpid();

	strbuf_init_capped(&sb, 1 << 20);
	if (read_cg_file(dir, "cgroup.procs", &sb) < 0) {
		others = true;
		goto out;
	}
	for (const char *p = sb.buf; *p;) {
		if (strtol(p, NULL, 10) != self)
			others = true;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
out:
	strbuf_release(&sb);
	return others;
}

static void v2_probe(struct cgroup_host *h, const struct cgroup_layout *l,
		     unsigned flags, struct strbuf *why)
{
	const char *dir = l->v2.dir;
	unsigned avail, want = CGROUP_MEMORY | CGROUP_PIDS;
	struct strbuf sb = STRBUF_INIT;

	if (!dir) {
		strbuf_addf(why, "%sno cgroup2 mount", why->len ? "; " : "");
		return;
	}
	avail = v2_ctrls(dir);
	if ((avail & want) != want && !(flags & CGROUP_PROBE_V2_BARE)) {
		strbuf_init_capped(&sb, 4096);
		read_cg_file(dir, "cgroup.controllers", &sb);
		strbuf_rtrim(&sb);
		strbuf_addf(why,
			    "%scgroup v2 %s offers no memory and pids "
			    "controllers (cgroup.controllers: %s)",
			    why->len ? "; " : "", dir,
			    sb.len ? sb.buf : "none");
		goto out;
	}
	if (access(dir, W_OK) < 0) {
		strbuf_addf(why, "%scgroup v2 %s is not writable: %s",
			    why->len ? "; " : "", dir, strerror(errno));
		goto out;
	}
	{
		char procs[PATH_MAX];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		if (access(procs, W_OK) < 0) {
			strbuf_addf(why,
				    "%scgroup v2 %s: cannot move "
				    "processes: %s",
				    why->len ? "; " : "", dir,
				    strerror(errno));
			goto out;
		}
	}
	/*
	 * Handing controllers down needs a cgroup without processes (but
	 * the root, which has no cgroup.type): one that holds only us can
	 * be emptied by moving us into a leaf.
	 */
	if ((avail & want) && cg_file_exists(dir, "cgroup.type") &&
	    v2_has_others(dir)) {
		strbuf_init_capped(&sb, 4096);
		read_cg_file(dir, "cgroup.subtree_control", &sb);
		if (!strstr(sb.buf, "memory")) {
			strbuf_addf(
				why,
				"%scgroup v2 %s holds other processes, so "
				"it cannot hand controllers down (run "
				"runner in a cgroup of its own: systemd-run"
				" --user --scope -p Delegate=yes)",
				why->len ? "; " : "", dir);
			goto out;
		}
	}
	h->mode = CGROUP_V2;
	h->ctrls = avail;
	h->hier[0].dir = xstrdup(dir);
	h->hier[0].ctrls = avail;
	h->nr_hier = 1;
	strbuf_addf(&h->reason, "cgroup v2 (");
	if (avail)
		add_ctrl_names(&h->reason, avail);
	else
		strbuf_addstr(&h->reason, "no controllers: nothing limited");
	strbuf_addf(&h->reason, ") under %s%s", dir,
		    l->v2_nsdelegate ? " (nsdelegate)" : "");
out:
	strbuf_release(&sb);
}

static void v1_probe(struct cgroup_host *h, const struct cgroup_layout *l,
		     unsigned flags, struct strbuf *why)
{
	const struct cgroup_hier *mem = NULL;
	unsigned want = CGROUP_MEMORY | CGROUP_PIDS | CGROUP_CPU |
			CGROUP_CPUACCT | CGROUP_FREEZER,
		 missing;

	if (flags & CGROUP_PROBE_NO_FREEZER)
		want &= ~CGROUP_FREEZER;
	for (size_t i = 0; i < l->nr_v1; i++)
		if (l->v1[i].ctrls & CGROUP_MEMORY)
			mem = &l->v1[i];
	if (!mem) {
		strbuf_addf(why, "%sno cgroup v1 memory hierarchy",
			    why->len ? "; " : "");
		return;
	}
	if (!cg_file_exists(mem->dir, "memory.limit_in_bytes")) {
		strbuf_addf(why, "%scgroup v1 %s has no memory.limit_in_bytes",
			    why->len ? "; " : "", mem->dir);
		return;
	}
	if (access(mem->dir, W_OK) < 0) {
		strbuf_addf(why, "%scgroup v1 %s is not writable: %s",
			    why->len ? "; " : "", mem->dir, strerror(errno));
		return;
	}
	h->mode = CGROUP_V1;
	/* in the order of ctrl_names: memory first, whose procs we read */
	for (size_t b = 0; b < ARRAY_SIZE(ctrl_names); b++) {
		for (size_t i = 0; i < l->nr_v1; i++) {
			unsigned c = l->v1[i].ctrls & want;
			if (!(c & ctrl_names[b].bit) || (c & h->ctrls) ||
			    access(l->v1[i].dir, W_OK) < 0)
				continue;
			h->hier[h->nr_hier].dir = xstrdup(l->v1[i].dir);
			h->hier[h->nr_hier++].ctrls = c;
			h->ctrls |= c;
		}
	}
	strbuf_addstr(&h->reason, "cgroup v1 (");
	add_ctrl_names(&h->reason, h->ctrls);
	strbuf_addf(&h->reason, ") under %s", mem->dir);
	missing = want & ~h->ctrls;
	if (missing) {
		strbuf_addstr(&h->reason, "; not writable or not mounted: ");
		add_ctrl_names(&h->reason, missing);
	}
}

enum cgroup_mode cgroup_probe(struct cgroup_host *h, enum cgroup_mode want,
			      unsigned flags)
{
	struct strbuf pc = STRBUF_INIT, mi = STRBUF_INIT, why = STRBUF_INIT;
	struct strbuf err = STRBUF_INIT;
	struct cgroup_layout l = { 0 };

	cgroup_host_release(h);
	strbuf_init_capped(&pc, 1 << 16);
	strbuf_init_capped(&mi, 1 << 24);
	if (strbuf_read_file(&pc, "/proc/self/cgroup") < 0 ||
	    strbuf_read_file(&mi, "/proc/self/mountinfo") < 0) {
		strbuf_addf(&h->reason, "cannot read /proc/self: %s",
			    strerror(errno));
		goto out;
	}
	if (cgroup_parse_layout(pc.buf, mi.buf, &l, &why, &err) < 0) {
		strbuf_addstr(&h->reason, err.buf);
		goto out;
	}
	if (want != CGROUP_V1)
		v2_probe(h, &l, flags, &why);
	if (h->mode == CGROUP_NONE && want != CGROUP_V2)
		v1_probe(h, &l, flags, &why);
	if (h->mode == CGROUP_NONE)
		strbuf_addf(&h->reason, "no writable cgroup: %s", why.buf);
out:
	cgroup_layout_release(&l);
	strbuf_release(&pc);
	strbuf_release(&mi);
	strbuf_release(&why);
	strbuf_release(&err);
	return h->mode;
}

/* "+memory +pids +cpu" for the v2 controllers in ctrls. */
static void v2_ctrl_line(struct strbuf *sb, unsigned ctrls)
{
	static const unsigned bits[] = { CGROUP_MEMORY, CGROUP_PIDS,
					 CGROUP_CPU };
	static const char *const names[] = { "memory", "pids", "cpu" };

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (ctrls & bits[i])
			strbuf_addf(sb, "%s+%s", sb->len ? " " : "", names[i]);
}

/* Enable ctrls in dir's cgroup.subtree_control unless they already are. */
static int v2_delegate(const char *dir, unsigned ctrls, struct strbuf *err)
{
	struct strbuf line = STRBUF_INIT, cur = STRBUF_INIT;
	int ret = 0;

	strbuf_init_capped(&cur, 4096);
	if (read_cg_file(dir, "cgroup.subtree_control", &cur) == 0) {
		for (char *p = cur.buf; *p; p++)
			if (*p == ' ' || *p == '\n')
				*p = ',';
		if ((ctrls_of_list(cur.buf, cur.len) & ctrls) == ctrls)
			goto out;
	}
	v2_ctrl_line(&line, ctrls);
	ret = write_cg_file(dir, "cgroup.subtree_control", line.buf, err);
out:
	strbuf_release(&line);
	strbuf_release(&cur);
	return ret;
}

static int v2_prepare(struct cgroup_host *h, const char *run,
		      struct strbuf *err)
{
	const char *own = h->hier[0].dir;
	struct strbuf e = STRBUF_INIT;
	char *leaf = NULL;
	int ret = -1;

	if (h->ctrls && v2_delegate(own, h->ctrls, &e) < 0) {
		if (errno != EBUSY || v2_has_others(own)) {
			strbuf_addstr(err, e.buf);
			goto out;
		}
		/* We are alone in our cgroup: move into a leaf. */
		strbuf_reset(&e);
		leaf = xstrfmt("%s/%s-main", own, h->run_name);
		if (mkdir(leaf, 0755) < 0) {
			strbuf_addf(err, "cannot create '%s': %s", leaf,
				    strerror(errno));
			goto out;
		}
		if (write_cg_file(leaf, "cgroup.procs", "0", err) < 0 ||
		    v2_delegate(own, h->ctrls, err) < 0) {
			goto out;
		}
		h->v2_leaf = leaf;
		leaf = NULL;
	}
	if (mkdir(run, 0755) < 0) {
		strbuf_addf(err, "cannot create '%s': %s", run,
			    strerror(errno));
		goto out;
	}
	if (h->ctrls && v2_delegate(run, h->ctrls, err) < 0) {
		rmdir(run);
		goto out;
	}
	ret = 0;
out:
	if (leaf)
		rmdir(leaf); /* fails, harmlessly, if we are in it */
	strbuf_release(&e);
	return ret;
}

int cgroup_host_prepare(struct cgroup_host *h, struct strbuf *err)
{
	unsigned long long ns, start;
	size_t made = 0;
	int ret = -1;

	if (h->mode == CGROUP_NONE || h->prepared)
		BUG("cgroup_host_prepare: mode %d, prepared %d", (int)h->mode,
		    (int)h->prepared);
	if (pidns_ino(&ns) < 0 || proc_start_time(getpid(), &start) < 0) {
		strbuf_addf(err, "cannot read /proc/self: %s",
			    strerror(errno));
		return -1;
	}
	free(h->run_name);
	h->run_name =
		xstrfmt("runner-%llu-%ld-%llu", ns, (long)getpid(), start);
	for (; made < h->nr_hier; made++) {
		char *d = fs_join(h->hier[made].dir, h->run_name);
		int r;
		if (h->mode == CGROUP_V2) {
			r = v2_prepare(h, d, err);
		} else {
			r = mkdir(d, 0755);
			if (r < 0)
				strbuf_addf(err, "cannot create '%s': %s", d,
					    strerror(errno));
		}
		free(d);
		if (r < 0)
			goto out;
	}
	h->prepared = true;
	ret = 0;
out:
	if (ret < 0) {
		while (made--) {
			char *d = fs_join(h->hier[made].dir, h->run_name);
			rmdir(d);
			free(d);
		}
	}
	return ret;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 200 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return false;
	return true;
}

static int set_limits_v1(const struct cgroup_hier *d,
			 const struct cgroup_limits *lim, struct strbuf *err)
{
	char v[32];

	if ((d->ctrls & CGROUP_MEMORY) && lim->memory) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->memory);
		if (write_cg_file(d->dir, "memory.limit_in_bytes", v, err) < 0)
			return -1;
		/* memory + swap: without it the task swaps past its limit */
		if (cg_file_exists(d->dir, "memory.memsw.limit_in_bytes") &&
		    write_cg_file(d->dir, "memory.memsw.limit_in_bytes", v,
				  err) < 0)
			return -1;
	}
	if ((d->ctrls & CGROUP_PIDS) && lim->pids) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->pids);
		if (write_cg_file(d->dir, "pids.max", v, err) < 0)
			return -1;
	}
	if ((d->ctrls & CGROUP_CPU) && lim->cpus) {
		/* quota per 100 ms period: 1000 milli-CPUs = 100000 us */
		snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)lim->cpus * 100);
		if (write_cg_file(d->dir, "cpu.cfs_period_us", "100000", err) <
			    0 ||
		    write_cg_file(d->dir, "cpu.cfs_quota_us", v, err) < 0)
			return -1;
	}
	return 0;
}

static int set_limits_v2(const struct cgroup_hier *d,
			 const struct cgroup_limits *lim, struct strbuf *err)
{
	char v[48];

	if ((d->ctrls & CGROUP_MEMORY) && lim->memory) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->memory);
		if (write_cg_file(d->dir, "memory.max", v, err) < 0)
			return -1;
		if (cg_file_exists(d->dir, "memory.swap.max") &&
		    write_cg_file(d->dir, "memory.swap.max", "0", err) < 0)
			return -1;
	}
	if ((d->ctrls & CGROUP_MEMORY) &&
	    cg_file_exists(d->dir, "memory.oom.group") &&
	    write_cg_file(d->dir, "memory.oom.group", "1", err) < 0)
		return -1;
	if ((d->ctrls & CGROUP_PIDS) && lim->pids) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->pids);
		if (write_cg_file(d->dir, "pids.max", v, err) < 0)
			return -1;
	}
	if ((d->ctrls & CGROUP_CPU) && lim->cpus) {
		snprintf(v, sizeof(v), "%" PRIu64 " 100000",
			 (uint64_t)lim->cpus * 100);
		if (write_cg_file(d->dir, "cpu.max", v, err) < 0)
			return -1;
	}
	return 0;
}

static void cgroup_rmdirs(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->nr; i++)
		if (cg->dirs[i].dir)
			rmdir(cg->dirs[i].dir);
}

int cgroup_create(const struct cgroup_host *h, const char *name,
		  const struct cgroup_limits *lim, struct cgroup **out,
		  struct strbuf *err)
{
	struct cgroup *cg;
	int ret = -1;

	*out = NULL;
	if (!h->prepared)
		BUG("cgroup_create: host not prepared");
	if (!name_ok(name)) {
		strbuf_addf(err, "invalid cgroup name '%s'", name);
		return -1;
	}
	cg = xcalloc(1, sizeof(*cg));
	cg->mode = h->mode;
	cg->ctrls = h->ctrls;
	for (size_t i = 0; i < CGROUP_MAX_HIER; i++)
		cg->procs_fds[i] = -1;
	cg->dir_fd = -1;
	for (size_t i = 0; i < h->nr_hier; i++) {
		char *d;
		if (h->mode == CGROUP_V1 && h->hier[i].ctrls == CGROUP_CPU &&
		    !lim->cpus)
			continue;
		d = xstrfmt("%s/%s/%s", h->hier[i].dir, h->run_name, name);
		if (mkdir(d, 0755) < 0) {
			strbuf_addf(err, "cannot create '%s': %s", d,
				    strerror(errno));
			free(d);
			goto out;
		}
		cg->dirs[cg->nr].dir = d;
		cg->dirs[cg->nr++].ctrls = h->hier[i].ctrls;
	}
	for (size_t i = 0; i < cg->nr; i++) {
		char path[PATH_MAX];
		if ((h->mode == CGROUP_V2 ? set_limits_v2 : set_limits_v1)(
			    &cg->dirs[i], lim, err) < 0)
			goto out;
		snprintf(path, sizeof(path), "%s/cgroup.procs",
			 cg->dirs[i].dir);
		cg->procs_fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fds[i] < 0) {
			strbuf_addf(err, "cannot open '%s': %s", path,
				    strerror(errno));
			goto out;
		}
	}
	if (cg->mode == CGROUP_V2) {
		cg->dir_fd = open(cg->dirs[0].dir,
				  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->dir_fd < 0) {
			strbuf_addf(err, "cannot open '%s': %s",
				    cg->dirs[0].dir, strerror(errno));
			goto out;
		}
	}
	*out = cg;
	ret = 0;
out:
	if (ret < 0) {
		cgroup_rmdirs(cg);
		cgroup_free(cg);
	}
	return ret;
}

size_t cgroup_procs_fds(const struct cgroup *cg, const int **fds)
{
	*fds = cg->procs_fds;
	return cg->nr;
}

int cgroup_join_fds(const int *fds, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		ssize_t n;
		do
			n = write(fds[i], "0", 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

int cgroup_dir_fd(const struct cgroup *cg)
{
	return cg->dir_fd;
}

size_t cgroup_nr_dirs(const struct cgroup *cg)
{
	return cg->nr;
}

const char *cgroup_dir(const struct cgroup *cg, size_t i)
{
	return i < cg->nr ? cg->dirs[i].dir : NULL;
}

static const char *dir_with(const struct cgroup *cg, unsigned ctrl)
{
	for (size_t i = 0; i < cg->nr; i++)
		if (cg->dirs[i].ctrls & ctrl)
			return cg->dirs[i].dir;
	return NULL;
}

int cgroup_read_usage(const struct cgroup *cg, struct cgroup_usage *u,
		      struct strbuf *err)
{
	const char *mem = dir_with(cg, CGROUP_MEMORY);
	const char *pids = dir_with(cg, CGROUP_PIDS);
	const char *what = NULL;
	uint64_t v;
	int ret = 0;

	memset(u, 0, sizeof(*u));
	if (cg->mode == CGROUP_V1) {
		const char *acct = dir_with(cg, CGROUP_CPUACCT);
		if (mem) {
			if (read_cg_u64(mem, "memory.max_usage_in_bytes",
					&u->memory_peak) < 0)
				what = "memory.max_usage_in_bytes";
			u->oom_known = read_cg_keyed(mem, "memory.oom_control",
						     "oom_kill",
						     &u->oom_kills) == 0;
			/* memsw is charged first: it fails first */
			if (read_cg_u64(mem, "memory.failcnt", &v) == 0)
				u->memory_hits += v;
			if (read_cg_u64(mem, "memory.memsw.failcnt", &v) == 0)
				u->memory_hits += v;
		}
		if (acct) {
			if (read_cg_u64(acct, "cpuacct.usage", &v) == 0)
				u->cpu_usec = v / 1000;
			else
				what = "cpuacct.usage";
		}
	} else {
		const char *d = cg->dirs[0].dir;
		if (mem) {
			read_cg_u64(d, "memory.peak", &u->memory_peak);
			u->oom_known = read_cg_keyed(d, "memory.events",
						     "oom_kill",
						     &u->oom_kills) == 0;
			read_cg_keyed(d, "memory.events", "max",
				      &u->memory_hits);
		}
		if (read_cg_keyed(d, "cpu.stat", "usage_usec", &u->cpu_usec) <
		    0)
			what = "cpu.stat";
	}
	if (pids) {
		read_cg_u64(pids, "pids.peak", &u->pids_peak);
		read_cg_keyed(pids, "pids.events", "max", &u->pids_hits);
	}
	if (what) {
		strbuf_addf(err, "cannot read %s of '%s': %s", what,
			    cg->dirs[0].dir, strerror(errno));
		ret = -1;
	}
	return ret;
}

bool cgroup_usage_oom(const struct cgroup_usage *u, int term_signal)
{
	if (u->oom_known)
		return u->oom_kills > 0;
	return u->memory_hits > 0 && term_signal == SIGKILL;
}

/* The pids in dir/cgroup.procs (at most max); -1 when unreadable. */
static int read_procs(const char *dir, pid_t *pids, size_t max, size_t *nr)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	*nr = 0;
	strbuf_init_capped(&sb, 1 << 22);
	if (read_cg_file(dir, "cgroup.procs", &sb) < 0)
		goto out;
	for (const char *p = sb.buf; *p;) {
		long pid = strtol(p, NULL, 10);
		if (pid > 0 && *nr < max)
			pids[(*nr)++] = (pid_t)pid;
		else if (pid > 0)
			(*nr)++; /* counted, not stored */
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	return ret;
}

int cgroup_nr_procs(const struct cgroup *cg, struct strbuf *err)
{
	size_t nr;

	if (read_procs(cg->dirs[0].dir, NULL, 0, &nr) < 0) {
		strbuf_addf(err, "cannot read '%s/cgroup.procs': %s",
			    cg->dirs[0].dir, strerror(errno));
		return -1;
	}
	return (int)nr;
}

#define KILL_BATCH 256

/*
 * SIGKILL what dir/cgroup.procs lists, safely without a freezer: open a
 * pidfd for each pid, read the list again, and signal through the pidfd
 * only the pids still listed, so a pid that was recycled meanwhile (its
 * process exited, another took the number) is not hit. Returns how many
 * were listed, or -1.
 */
static int kill_listed(const char *dir)
{
	pid_t pids[KILL_BATCH], again[KILL_BATCH];
	int fds[KILL_BATCH];
	size_t nr, nr2;

	if (read_procs(dir, pids, KILL_BATCH, &nr) < 0)
		return -1;
	if (nr > KILL_BATCH)
		nr = KILL_BATCH; /* the rest next round */
	for (size_t i = 0; i < nr; i++)
		fds[i] = (int)syscall(SYS_pidfd_open, pids[i], 0);
	if (read_procs(dir, again, KILL_BATCH, &nr2) < 0)
		nr2 = 0;
	if (nr2 > KILL_BATCH)
		nr2 = KILL_BATCH;
	for (size_t i = 0; i < nr; i++) {
		bool listed = false;
		for (size_t j = 0; j < nr2 && !listed; j++)
			listed = again[j] == pids[i];
		if (fds[i] >= 0) {
			if (listed)
				syscall(SYS_pidfd_send_signal, fds[i], SIGKILL,
					NULL, 0);
			close(fds[i]);
		}
	}
	return (int)nr;
}

/* v1 freezer: freeze, kill every member, thaw. */
static void kill_frozen(const char *fz)
{
	pid_t pids[KILL_BATCH];
	struct strbuf st = STRBUF_INIT;
	size_t nr;

	strbuf_init_capped(&st, 64);
	if (write_cg_file(fz, "freezer.state", "FROZEN", NULL) < 0)
		goto out;
	/* FREEZING until every task stopped; a task in D state delays it */
	for (int i = 0; i < 200; i++) {
		if (read_cg_file(fz, "freezer.state", &st) < 0 ||
		    !strncmp(st.buf, "FROZEN", 6))
			break;
		sleep_us(i < 20 ? 500 : 5000);
	}
	do {
		if (read_procs(fz, pids, KILL_BATCH, &nr) < 0)
			break;
		for (size_t i = 0; i < nr && i < KILL_BATCH; i++)
			kill(pids[i], SIGKILL); /* frozen: cannot exit yet */
	} while (nr > KILL_BATCH);
	write_cg_file(fz, "freezer.state", "THAWED", NULL);
out:
	strbuf_release(&st);
}

int cgroup_kill(struct cgroup *cg, struct strbuf *err)
{
	const char *fz = cg->mode == CGROUP_V1 ? dir_with(cg, CGROUP_FREEZER)
					       : NULL;
	const char *d = cg->dirs[0].dir;
	bool v2_kill = cg->mode == CGROUP_V2;
	int64_t waited_us = 0;
	size_t nr = 0;

	for (int round = 0;; round++) {
		if (read_procs(d, NULL, 0, &nr) < 0) {
			strbuf_addf(err, "cannot read '%s/cgroup.procs': %s",
				    d, strerror(errno));
			return -1;
		}
		if (!nr)
			return 0;
		if (waited_us > 5000000)
			break;
		if (v2_kill &&
		    write_cg_file(d, "cgroup.kill", "1", NULL) < 0) {
			v2_kill = false; /* before Linux 5.14 */
		}
		if (!v2_kill) {
			if (fz && round % 8 == 0)
				kill_frozen(fz);
			else
				kill_listed(d);
		}
		/* SIGKILLed processes exit within microseconds to ms */
		long us = round < 10 ? 200 : round < 50 ? 2000 : 20000;
		sleep_us(us);
		waited_us += us;
	}
	strbuf_addf(err, "%zu processes still in '%s' after SIGKILL", nr, d);
	return -1;
}

int cgroup_remove(struct cgroup *cg, struct strbuf *err)
{
	int ret = 0;

	if (cg->removed)
		return 0;
	if (cgroup_kill(cg, err) < 0)
		ret = -1;
	for (size_t i = 0; i < cg->nr; i++) {
		int64_t waited = 0;
		long us = 100;
		while (rmdir(cg->dirs[i].dir) < 0) {
			if (errno == ENOENT)
				break;
			if (errno != EBUSY || waited > 2000000) {
				if (ret == 0)
					strbuf_addf(err,
						    "cannot remove '%s': %s",
						    cg->dirs[i].dir,
						    strerror(errno));
				ret = -1;
				break;
			}
			sleep_us(us);
			waited += us;
			us = us < 20000 ? us * 2 : us;
		}
	}
	if (!ret)
		cg->removed = true;
	return ret;
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < CGROUP_MAX_HIER; i++)
		if (cg->procs_fds[i] >= 0)
			close(cg->procs_fds[i]);
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	for (size_t i = 0; i < cg->nr; i++)
		free(cg->dirs[i].dir);
	free(cg);
}

/*
 * Parse "runner-<ns>-<pid>-<start>" (with an optional "-main"): 0 and
 * the three numbers, or -1 for a name that is not ours.
 */
static int parse_run_name(const char *name, unsigned long long *ns, long *pid,
			  unsigned long long *start)
{
	const char *p = name;
	char *end;

	if (strncmp(p, "runner-", 7))
		return -1;
	p += 7;
	if (*p < '0' || *p > '9')
		return -1;
	*ns = strtoull(p, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	*pid = strtol(end + 1, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9' || *pid <= 0)
		return -1;
	*start = strtoull(end + 1, &end, 10);
	if (*end && strcmp(end, "-main"))
		return -1;
	return 0;
}

/* Kill what is in dir and below, then remove them, deepest first. */
static int remove_tree(const char *dir, int depth, int *removed,
		       struct strbuf *err)
{
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (depth > 4)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		char *sub;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = fs_join(dir, de->d_name);
		if (remove_tree(sub, depth + 1, removed, err) < 0)
			ret = -1;
		free(sub);
	}
	closedir(d);
	/* a runner that died in kill_frozen() left its tasks frozen */
	if (cg_file_exists(dir, "freezer.state"))
		write_cg_file(dir, "freezer.state", "THAWED", NULL);
	for (int i = 0; i < 500; i++) {
		if (rmdir(dir) == 0) {
			if (removed)
				(*removed)++;
			return ret;
		}
		if (errno == ENOENT)
			return ret;
		if (errno != EBUSY)
			break;
		if (kill_listed(dir) < 0)
			break;
		sleep_us(i < 10 ? 500 : 10000);
	}
	if (!err->len)
		strbuf_addf(err, "cannot remove '%s': %s", dir,
			    strerror(errno));
	return -1;
}

int cgroup_cleanup_stale(const struct cgroup_host *h, int *removed,
			 struct strbuf *err)
{
	unsigned long long ns, our_start = 0;
	int ret = 0, n = 0;

	if (pidns_ino(&ns) < 0) {
		strbuf_addf(err, "cannot read /proc/self/ns/pid: %s",
			    strerror(errno));
		return -1;
	}
	proc_start_time(getpid(), &our_start);
	for (size_t i = 0; i < h->nr_hier; i++) {
		DIR *d = opendir(h->hier[i].dir);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			unsigned long long dns, start, now;
			long pid;
			char *sub;

			if (de->d_type != DT_DIR ||
			    parse_run_name(de->d_name, &dns, &pid, &start) <
				    0 ||
			    dns != ns)
				continue;
			if (pid == (long)getpid() && start == our_start)
				continue;
			if (proc_start_time((pid_t)pid, &now) == 0 &&
			    now == start)
				continue; /* that runner is alive */
			sub = fs_join(h->hier[i].dir, de->d_name);
			if (remove_tree(sub, 0, &n, err) < 0)
				ret = -1;
			free(sub);
		}
		closedir(d);
	}
	if (removed)
		*removed = n;
	return ret;
}

void cgroup_fallback_rlimits(const struct cgroup_host *h,
			     const struct cgroup_limits *lim,
			     struct cgroup_rlimits *rl)
{
	unsigned c = h->mode == CGROUP_NONE ? 0 : h->ctrls;

	rl->as = (c & CGROUP_MEMORY) ? 0 : lim->memory;
	rl->nproc = (c & CGROUP_PIDS) ? 0 : lim->pids;
}

void cgroup_note(const struct cgroup_host *h, const struct cgroup_limits *lim,
		 struct strbuf *out)
{
	unsigned c = h->mode == CGROUP_NONE ? 0 : h->ctrls;
	bool any = h->mode != CGROUP_NONE;
	const char *sep = "";
	char buf[32];

	if (lim->memory && !(c & CGROUP_MEMORY)) {
		cgroup_format_size(lim->memory, buf, sizeof(buf));
		strbuf_addf(out,
			    "memory: %s enforced as an address-space "
			    "limit: %s",
			    buf,
			    any ? "no memory controller"
				: "no writable cgroup");
		sep = "; ";
	}
	if (lim->pids && !(c & CGROUP_PIDS)) {
		strbuf_addf(out,
			    "%spids: %" PRIu64 " enforced as a per-user "
			    "process limit: %s",
			    sep, lim->pids,
			    any ? "no pids controller" : "no writable cgroup");
		sep = "; ";
	}
	if (lim->cpus && !(c & CGROUP_CPU)) {
		cgroup_format_cpus(lim->cpus, buf, sizeof(buf));
		strbuf_addf(out, "%scpus: %s not enforced: %s", sep, buf,
			    any ? "no cpu controller" : "no writable cgroup");
	}
}

void cgroup_oom_reason(const struct cgroup_limits *lim, struct strbuf *out)
{
	char buf[32];

	cgroup_format_size(lim->memory, buf, sizeof(buf));
	strbuf_addf(out, "out of memory (memory: %s)", buf);
}

void cgroup_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes && u < 3 && !(bytes % 1024)) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%" PRIu64, bytes);
	else
		snprintf(buf, size, "%" PRIu64 "%c", bytes, units[u]);
}

void cgroup_format_cpus(uint32_t milli, char *buf, size_t size)
{
	unsigned frac = milli % 1000;
	int digits = 3;

	if (!frac) {
		snprintf(buf, size, "%u", milli / 1000);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, size, "%u.%0*u", milli / 1000, digits, frac);
}

int cgroup_parse_cpus(const char *s, uint32_t *milli)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > 1000000)
			return -1;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 3)
				return -1;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		for (int i = digits; i < 3; i++)
			frac *= 10;
	}
	if (*p || (!whole && !frac) || whole * 1000 + frac > UINT32_MAX)
		return -1;
	*milli = (uint32_t)(whole * 1000 + frac);
	return 0;
}
