/*
 * The parts of the cgroup module that need no cgroup: reading the layout
 * from /proc/self/cgroup and /proc/self/mountinfo as real hosts write
 * them, the keyed files, sizes, CPUs and the fallback notes. The real
 * cgroups are tested by t3100-cgroup.sh.
 */
#include "runner.h"
#include "cgroup.h"
#include "tap.h"

#include <signal.h>

/* This development machine: cgroup v1, one mount per controller. */
static const char here_cgroup[] =
	"9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
	"4:memory:/process_api/8a2f\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n"
	"0::/\n";
static const char here_mounts[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
	"rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup "
	"rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
	"rw,memory\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup "
	"rw,freezer\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup "
	"rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
	"rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
	"rw\n";

/* A systemd host with the unified hierarchy, a user's delegated scope. */
static const char user_cgroup[] =
	"0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
	"run-r1.scope\n";
static const char user_mounts[] =
	"24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs "
	"sysfs rw\n"
	"28 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime "
	"shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/* Debian 10 style: cpu and cpuacct on one hierarchy, systemd hybrid. */
static const char comount_cgroup[] =
	"12:pids:/user.slice/user-1000.slice/session-2.scope\n"
	"4:cpu,cpuacct:/user.slice\n"
	"3:memory:/user.slice/user-1000.slice/session-2.scope\n"
	"1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
	"0::/user.slice/user-1000.slice/session-2.scope\n";
static const char comount_mounts[] =
	"25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs "
	"tmpfs ro,mode=755\n"
	"26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime "
	"shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
	"30 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,"
	"relatime shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
	"31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime "
	"shared:12 - cgroup cgroup rw,memory\n"
	"33 25 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime "
	"shared:14 - cgroup cgroup rw,pids\n";

/*
 * A Docker container without a cgroup namespace (v1): the hierarchies
 * are bind mounts of the container's own subtree, read-only.
 */
static const char docker_cgroup[] =
	"11:memory:/docker/0123abcd\n10:pids:/docker/0123abcd\n"
	"2:cpu,cpuacct:/docker/0123abcd\n";
static const char docker_mounts[] =
	"700 699 0:64 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs rw,mode=755\n"
	"701 700 0:32 /docker/0123abcd /sys/fs/cgroup/memory ro,nosuid "
	"master:15 - cgroup cgroup rw,memory\n"
	"702 700 0:36 /docker/0123abcd /sys/fs/cgroup/pids ro,nosuid "
	"master:19 - cgroup cgroup rw,pids\n"
	"703 700 0:29 /docker/0123abcdef /sys/fs/cgroup/cpu,cpuacct ro "
	"master:12 - cgroup cgroup rw,cpu,cpuacct\n";

/*
 * In a cgroup namespace, a process moved outside the namespace's root
 * sees "/../x"; a mount made outside shows root "/..".
 */
static const char ns_cgroup[] = "0::/../sibling\n";
static const char ns_mounts[] =
	"100 99 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

/* Octal escapes in the mount point; two mounts, the first elsewhere. */
static const char esc_cgroup[] = "5:memory:/a/b\n0::/x\n";
static const char esc_mounts[] =
	"40 31 0:32 /other /mnt/m1 rw - cgroup cgroup rw,memory\n"
	"41 31 0:32 /a /mnt/cg\\040memory\\134x rw - cgroup cgroup "
	"rw,memory\n"
	"42 31 0:33 / /mnt/v2\\011tab rw,relatime shared:1 master:2 - cgroup2 "
	"none rw\n";

struct layout_case {
	const char *name;
	const char *cgroup, *mounts;
	int ret;
	const char *v1[CGROUP_MAX_HIER]; /* "ctrls-bits:dir" in file order */
	const char *v2;
	bool nsdelegate;
	const char *why; /* substring; NULL: why stays empty */
};

static const struct layout_case layout_cases[] = {
	{ "this machine (v1, one controller per mount)",
	  here_cgroup,
	  here_mounts,
	  0,
	  { "2:/sys/fs/cgroup/pids", "16:/sys/fs/cgroup/freezer",
	    "1:/sys/fs/cgroup/memory/process_api/8a2f",
	    "8:/sys/fs/cgroup/cpuacct", "4:/sys/fs/cgroup/cpu" },
	  "/sys/fs/cgroup/unified",
	  false,
	  NULL },
	{ "systemd unified, user scope",
	  user_cgroup,
	  user_mounts,
	  0,
	  { 0 },
	  "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/"
	  "app.slice/run-r1.scope",
	  true,
	  NULL },
	{ "hybrid with cpu,cpuacct co-mounted",
	  comount_cgroup,
	  comount_mounts,
	  0,
	  { "2:/sys/fs/cgroup/pids/user.slice/user-1000.slice/"
	    "session-2.scope",
	    "12:/sys/fs/cgroup/cpu,cpuacct/user.slice",
	    "1:/sys/fs/cgroup/memory/user.slice/user-1000.slice/"
	    "session-2.scope" },
	  "/sys/fs/cgroup/unified/user.slice/user-1000.slice/session-2.scope",
	  true,
	  NULL },
	{ "docker bind mounts of our subtree; a mount of another subtree",
	  docker_cgroup,
	  docker_mounts,
	  0,
	  { "1:/sys/fs/cgroup/memory", "2:/sys/fs/cgroup/pids" },
	  NULL,
	  false,
	  "cgroup v1 cpu: our cgroup /docker/0123abcd is outside" },
	{ "cgroup namespace, our cgroup outside its root",
	  ns_cgroup,
	  ns_mounts,
	  0,
	  { 0 },
	  NULL,
	  false,
	  "cgroup v2: our cgroup /../sibling is outside the mounted tree" },
	{ "escaped mount points, first mount of another subtree",
	  esc_cgroup,
	  esc_mounts,
	  0,
	  { "1:/mnt/cg memory\\x/b" },
	  "/mnt/v2\ttab/x",
	  false,
	  NULL },
	{ "a controller that is not mounted",
	  "3:memory:/\n",
	  "22 27 0:21 / /proc rw - proc proc rw\n",
	  0,
	  { 0 },
	  NULL,
	  false,
	  "cgroup v1 memory: not mounted" },
	{ "garbage", "hello\n", here_mounts, -1, { 0 }, NULL, false, NULL },
	{ "empty /proc/self/cgroup",
	  "",
	  here_mounts,
	  -1,
	  { 0 },
	  NULL,
	  false,
	  NULL },
};

static void test_layout(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(layout_cases); i++) {
		const struct layout_case *c = &layout_cases[i];
		struct cgroup_layout l;
		struct strbuf why = STRBUF_INIT, err = STRBUF_INIT;
		size_t want_nr = 0;
		int ret = cgroup_parse_layout(c->cgroup, c->mounts, &l, &why,
					      &err);

		is_int(ret, c->ret, "layout %s: returns %d", c->name, c->ret);
		if (ret < 0) {
			ok(err.len > 0, "layout %s: says why: %s", c->name,
			   err.buf);
			goto next;
		}
		while (want_nr < CGROUP_MAX_HIER && c->v1[want_nr])
			want_nr++;
		is_int(l.nr_v1, want_nr, "layout %s: %zu v1 hierarchies",
		       c->name, want_nr);
		for (size_t j = 0; j < l.nr_v1 && j < want_nr; j++) {
			char *got =
				xstrfmt("%u:%s", l.v1[j].ctrls, l.v1[j].dir);
			is_str(got, c->v1[j], "layout %s: v1 #%zu", c->name,
			       j);
			free(got);
		}
		is_str(l.v2.dir, c->v2, "layout %s: v2", c->name);
		is_int(l.v2_nsdelegate, c->nsdelegate, "layout %s: nsdelegate",
		       c->name);
		if (c->why)
			ok(strstr(why.buf, c->why), "layout %s: why '%s'",
			   c->name, why.buf);
		else
			is_str(why.buf, "", "layout %s: nothing to say",
			       c->name);
		cgroup_layout_release(&l);
	next:
		strbuf_release(&why);
		strbuf_release(&err);
	}
}

static void test_keyed(void)
{
	static const char oom_control[] =
		"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	static const char events[] = "low 0\nhigh 0\nmax 12\noom 1\n"
				     "oom_kill 1\noom_group_kill 0\n";
	static const char cpu_stat[] =
		"usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"
		"nr_periods 0";
	uint64_t v = 99;

	ok(!cgroup_parse_keyed(oom_control, "oom_kill", &v) && v == 3,
	   "oom_kill, not oom_kill_disable, in memory.oom_control");
	ok(!cgroup_parse_keyed(events, "max", &v) && v == 12,
	   "max in memory.events");
	ok(!cgroup_parse_keyed(events, "oom_kill", &v) && v == 1,
	   "oom_kill in memory.events, not oom_group_kill");
	ok(!cgroup_parse_keyed(cpu_stat, "usage_usec", &v) && v == 1234567,
	   "usage_usec in cpu.stat");
	ok(!cgroup_parse_keyed(cpu_stat, "nr_periods", &v) && v == 0,
	   "a last line without newline");
	v = 99;
	ok(cgroup_parse_keyed("oom_kill_disable 0\nunder_oom 0\n", "oom_kill",
			      &v) < 0 &&
		   v == 99,
	   "no oom_kill line (kernels before 4.13): -1, nothing written");
	ok(cgroup_parse_keyed("max x\n", "max", &v) < 0,
	   "a value that is not a number");
	ok(cgroup_parse_keyed("", "max", &v) < 0, "an empty file");
}

static void test_sizes(void)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} rows[] = {
		{ 0, "0" },
		{ 1000, "1000" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1536, "1536" },
		{ 65536, "64K" },
		{ 268435456, "256M" },
		{ 1610612736, "1536M" },
		{ 2147483648ULL, "2G" },
		{ 1099511627776ULL, "1T" },
		{ 1125899906842624ULL, "1024T" },
		{ 2147483649ULL, "2147483649" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		cgroup_format_size(rows[i].bytes, buf, sizeof(buf));
		is_str(buf, rows[i].want, "size %" PRIu64, rows[i].bytes);
	}
}

static void test_cpus(void)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t milli;
		const char *out;
	} rows[] = {
		{ "0.5", 0, 500, "0.5" },
		{ "2", 0, 2000, "2" },
		{ "1.25", 0, 1250, "1.25" },
		{ "1.250", 0, 1250, "1.25" },
		{ "0.001", 0, 1, "0.001" },
		{ "0.01", 0, 10, "0.01" },
		{ "16", 0, 16000, "16" },
		{ "0", -1, 0, NULL },
		{ "0.0", -1, 0, NULL },
		{ "0.0005", -1, 0, NULL },
		{ "", -1, 0, NULL },
		{ ".5", -1, 0, NULL },
		{ "1.", -1, 0, NULL },
		{ "-1", -1, 0, NULL },
		{ "1e3", -1, 0, NULL },
		{ "2 ", -1, 0, NULL },
		{ "1000001", -1, 0, NULL },
		{ "1000000", 0, 1000000000, "1000000" },
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint32_t m = 7;
		int ret = cgroup_parse_cpus(rows[i].in, &m);
		is_int(ret, rows[i].ret, "cpus '%s' parses: %d", rows[i].in,
		       rows[i].ret);
		if (ret) {
			is_int(m, 7, "cpus '%s': nothing written", rows[i].in);
			continue;
		}
		is_int(m, rows[i].milli, "cpus '%s' is %u milli", rows[i].in,
		       rows[i].milli);
		cgroup_format_cpus(m, buf, sizeof(buf));
		is_str(buf, rows[i].out, "cpus %u formats", m);
	}
}

static void test_notes(void)
{
	struct cgroup_host none = CGROUP_HOST_INIT, v1 = CGROUP_HOST_INIT;
	struct cgroup_limits all = { 2147483648ULL, 1024, 500 };
	struct cgroup_limits mem = { 268435456, 0, 0 };
	struct cgroup_rlimits rl;
	struct strbuf sb = STRBUF_INIT;

	cgroup_note(&none, &mem, &sb);
	is_str(sb.buf,
	       "memory: 256M enforced as an address-space limit: no "
	       "writable cgroup",
	       "no cgroup: memory becomes RLIMIT_AS, said so");
	strbuf_reset(&sb);
	cgroup_note(&none, &all, &sb);
	is_str(sb.buf,
	       "memory: 2G enforced as an address-space limit: no writable "
	       "cgroup; pids: 1024 enforced as a per-user process limit: no "
	       "writable cgroup; cpus: 0.5 not enforced: no writable cgroup",
	       "no cgroup: every limit said");
	cgroup_fallback_rlimits(&none, &all, &rl);
	ok(rl.as == all.memory && rl.nproc == 1024,
	   "no cgroup: RLIMIT_AS and RLIMIT_NPROC from memory and pids");

	v1.mode = CGROUP_V1;
	v1.ctrls = CGROUP_MEMORY | CGROUP_PIDS | CGROUP_CPUACCT;
	strbuf_reset(&sb);
	cgroup_note(&v1, &all, &sb);
	is_str(sb.buf, "cpus: 0.5 not enforced: no cpu controller",
	       "v1 without cpu: only cpus said");
	cgroup_fallback_rlimits(&v1, &all, &rl);
	ok(rl.as == 0 && rl.nproc == 0,
	   "v1 with memory and pids: no rlimits (RLIMIT_AS would kill Bun)");
	v1.ctrls |= CGROUP_CPU;
	strbuf_reset(&sb);
	cgroup_note(&v1, &all, &sb);
	is_str(sb.buf, "", "every limit held: nothing said");
	strbuf_reset(&sb);
	cgroup_note(&none, &(struct cgroup_limits){ 0 }, &sb);
	is_str(sb.buf, "", "no limits: nothing said, even without cgroup");

	strbuf_reset(&sb);
	cgroup_oom_reason(&all, &sb);
	is_str(sb.buf, "out of memory (memory: 2G)", "the OOM reason");
	strbuf_release(&sb);
	cgroup_host_release(&none);
	cgroup_host_release(&v1);
}

static void test_usage_oom(void)
{
	struct cgroup_usage u = { .oom_known = true, .oom_kills = 1 };

	ok(cgroup_usage_oom(&u, 0),
	   "an OOM kill counts even if the task's first process survived");
	u.oom_kills = 0;
	u.memory_hits = 5;
	ok(!cgroup_usage_oom(&u, SIGKILL),
	   "limit hit (reclaim) and a SIGKILL from elsewhere: not OOM");
	u.oom_known = false;
	ok(cgroup_usage_oom(&u, SIGKILL),
	   "old kernel: limit hit and SIGKILL reads as OOM");
	ok(!cgroup_usage_oom(&u, 0), "old kernel: limit hit, exit 0: not OOM");
}

int main(void)
{
	test_layout();
	test_keyed();
	test_sizes();
	test_cpus();
	test_notes();
	test_usage_oom();
	return done_testing();
}
