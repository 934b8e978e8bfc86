#!/bin/sh
# The layering of runner/ (STYLE.md "Errors", sched.c's DESIGN comment):
# the CLI (main.c and cmd-*.c) sits on top of the core (every other
# module). The core never reaches up into it (cmd.h), never prints
# (modules report into struct strbuf *err, an outcome or an observer),
# no two modules include each other in a circle, and every header
# compiles on its own. Read from the source, so it needs no build.
#
# Backends (sandbox.h): outside a backend's own files (sandbox-*.c/h,
# e2b-*.c/h) and the lines of sandbox.c's table that list them, no file
# of runner/ names a backend in its code (comments may): no #include of a
# backend's header (sandbox-*.h, e2b-*.h); no identifier that starts
# with a backend's name (from sandbox.c's table) or sandbox_NAME as a
# whole _-separated part (local_..., sandbox_e2b) or has backend_NAME in
# it (PLAN_BACKEND_LOCAL), any case, or that holds "e2b" or "bwrap"; no string literal that is a backend's name ("local") or holds
# "e2b", "bwrap" or "bubblewrap" in any case. So a new backend is its own
# files and one line in sandbox.c; text for users that lists backends
# comes from the table (sandbox_backend_names).
. "$(dirname "$0")/lib.sh"

cat >"$TRASH_ROOT/layering.py" <<'PY'
import os, re, subprocess, sys

mode, top = sys.argv[1], sys.argv[2]
src = os.path.join(top, 'runner')
files = sorted(f for f in os.listdir(src) if f.endswith(('.c', '.h')))


def cli(f):
    return f in ('main.c', 'cmd.h') or f.startswith('cmd-')


def read(f):
    with open(os.path.join(src, f), errors='replace') as fh:
        return fh.read()


def code_only(text):
    """Comments and string literals blanked, line numbers kept."""
    out = re.sub(r'/\*.*?\*/|//[^\n]*|"(\\.|[^"\\\n])*"|\'(\\.|[^\'\\\n])*\'',
                 lambda m: '""' if m.group(0)[0] == '"' else
                 re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.S)
    return out.split('\n')


def no_comments(text):
    """Comments blanked, strings kept, line numbers kept."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(\\.|[^"\\\n])*"|\'(\\.|[^\'\\\n])*\'',
                  lambda m: m.group(0) if m.group(0)[0] in '"\'' else
                  re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.S)


def store(f):
    return f.startswith('store')


bad = []
if mode == 'cmd-h':
    for f in files:
        if cli(f):
            continue
        for n, line in enumerate(read(f).split('\n'), 1):
            if re.match(r'\s*#\s*include\s+"cmd\.h"', line):
                bad.append('%s:%d: %s' % (f, n, line.strip()))

elif mode == 'prints':
    # Output goes through main.c, cmd-*.c and error.c (die, error,
    # warning) only. Allowed elsewhere, each for its reason:
    allow = [
        # Running out of memory is fatal (STYLE.md "Errors"): xmalloc's
        # message is one write(2) that allocates nothing, and the other
        # allocators that fail (cJSON, curl's lists) die the same way.
        ('xalloc.c', r'\bwrite\(2, msg,'),
        (None, r'\bdie\("[^"]*out of memory'),
        # curl_global_init() runs once under pthread_once(), with no
        # caller to hand an error to; it fails only when libcurl cannot
        # allocate or load its TLS library, when nothing can go on.
        ('http.c', r'\bdie\("cannot initialise libcurl"\)'),
        # The archive's own bytes go to standard output when the caller
        # names "-" as the file (runner archive -o -; signify's xopen).
        ('archive.c', r'\bSTDOUT_FILENO\b'),
    ]
    calls = [
        r'\b(printf|vprintf|puts|putchar|perror)\s*\(',
        r'\b(fprintf|vfprintf|dprintf)\s*\(\s*(stdout|stderr|1|2|'
        r'STDOUT_FILENO|STDERR_FILENO)\b',
        r'\b(fputs|fputc|putc|fwrite)\s*\([^;]*\b(stdout|stderr)\s*\)',
        r'\bwrite\s*\(\s*(1|2|STDOUT_FILENO|STDERR_FILENO)\s*,',
        r'(^|[^\w.>])(error|warning|die|die_errno|die_code|usage_error)'
        r'\s*\(',
        # Any other way to the standard streams (FILE *f = stderr).
        r'\b(stdout|stderr|STDOUT_FILENO|STDERR_FILENO)\b',
    ]
    for f in files:
        if cli(f) or f in ('error.c', 'error.h'):
            continue
        raw = read(f).split('\n')
        for n, line in enumerate(code_only(read(f)), 1):
            if not any(re.search(c, line) for c in calls):
                continue
            if any((w is None or w == f) and re.search(r, raw[n - 1])
                   for w, r in allow):
                continue
            bad.append('%s:%d: %s' % (f, n, raw[n - 1].strip()))

elif mode == 'sql':
    # SQL lives in the store (store*.c): nothing else holds SQL text,
    # calls SQLite or sees <sqlite3.h>, not even through a header it
    # includes. SQL text is a string literal that opens with a
    # statement's first keyword and a blank ("DELETE" alone is HTTP's).
    sql = re.compile(r'"\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|'
                     r'DROP|ALTER|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|'
                     r'PRAGMA|WITH|VACUUM|ATTACH)\s')
    api = re.compile(r'\b(sqlite3\w*|SQLITE_\w+)\b')
    inc = re.compile(r'\s*#\s*include\s+[<"]([^>"]+)[>"]')
    # The headers that bring <sqlite3.h> in: store-internal.h and the
    # like, for store*.c (and tests) only.
    sqlite_h = set(f for f in files if f.endswith('.h') and any(
        inc.match(l) and inc.match(l).group(1) == 'sqlite3.h'
        for l in read(f).split('\n')))
    for f in files:
        if store(f) and (f.endswith('.c') or f != 'store.h'):
            continue
        raw = read(f).split('\n')
        for n, line in enumerate(raw, 1):
            m = inc.match(line)
            if m and (m.group(1) == 'sqlite3.h' or m.group(1) in sqlite_h):
                bad.append('%s:%d: %s' % (f, n, line.strip()))
        for n, line in enumerate(no_comments(read(f)).split('\n'), 1):
            if sql.search(line):
                bad.append('%s:%d: %s' % (f, n, raw[n - 1].strip()))
        for n, line in enumerate(code_only(read(f)), 1):
            if api.search(line) and not inc.match(raw[n - 1]):
                bad.append('%s:%d: %s' % (f, n, raw[n - 1].strip()))
        if f == 'store.h' and re.search(r'\bstore_db\s*\(', read(f)):
            bad.append('store.h: declares store_db()')

elif mode == 'cycles':
    # A module is x.c with x.h. runner.h is left out: it is the prelude
    # every .c includes first (STYLE.md, git's git-compat-util.h), the
    # system headers and the base helpers (xalloc, strbuf, strvec,
    # error), not a module; counting it would put those helpers in a
    # circle with everything by that rule alone.
    mod = lambda f: f.rsplit('.', 1)[0]
    have = set(mod(f) for f in files if f.endswith('.h'))
    edges = {}
    for f in files:
        for line in read(f).split('\n'):
            m = re.match(r'\s*#\s*include\s+"([^"]+)\.h"', line)
            if m and m.group(1) in have and m.group(1) != mod(f) \
                    and m.group(1) != 'runner' and mod(f) != 'runner':
                edges.setdefault(mod(f), set()).add(m.group(1))
    # Tarjan's strongly connected components, iteratively.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    for root in sorted(set(mod(f) for f in files)):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))
    for comp in sccs:
        inside = ['%s -> %s' % (a, b) for a in comp
                  for b in sorted(edges.get(a, ())) if b in comp]
        bad.append('cycle: %s (%s)' % (' <-> '.join(comp), ', '.join(inside)))

elif mode == 'backends':
    own = lambda f: f.startswith(('sandbox-', 'e2b-'))
    table = re.compile(r'\s*(extern\s+const\s+struct\s+sandbox_backend\s+'
                       r'sandbox_\w+;|&sandbox_\w+,)')
    names = []
    if 'sandbox.c' in files:
        names = re.findall(r'&sandbox_(\w+),', read('sandbox.c'))
    if not names:
        bad.append('sandbox.c: no table of backends (&sandbox_NAME,)')
    # Allowed elsewhere, each for its reason:
    allow = [
        # gc's help says in prose what it removes of each backend.
        ('main.c', r'"sandbox\\nroots, and E2B sandboxes by their metadata'),
    ]
    words = re.compile(r'(?i)e2b|bwrap')
    strings_re = re.compile(r'"((\\.|[^"\\\n])*)"')

    def no_comments(text):
        return re.sub(r'/\*.*?\*/|//[^\n]*|"(\\.|[^"\\\n])*"|'
                      r"'(\\.|[^'\\\n])*'",
                      lambda m: m.group(0) if m.group(0)[0] in '"\'' else
                      re.sub(r'[^\n]', ' ', m.group(0)), text,
                      flags=re.S).split('\n')

    for f in files:
        if own(f):
            continue
        text = read(f)
        raw = text.split('\n')
        code = code_only(text)
        strs = no_comments(text)
        for n, line in enumerate(raw, 1):
            why = None
            if f == 'sandbox.c' and table.match(line):
                continue
            if any(w == f and re.search(r, line) for w, r in allow):
                continue
            m = re.match(r'\s*#\s*include\s+"((sandbox|e2b)-[^"]*)"', line)
            if m:
                why = 'includes %s' % m.group(1)
            for t in re.findall(r'\b[A-Za-z_]\w*\b', code[n - 1]):
                low = t.lower()
                if words.search(t) or any(
                        re.match(r'(sandbox_)?%s(_|$)' % x, low) or
                        re.search(r'(^|_)backend_%s(_|$)' % x, low)
                        for x in names):
                    why = why or 'identifier %s' % t
            for m in strings_re.finditer(strs[n - 1]):
                v = m.group(1)
                if v in names or words.search(v) or \
                        re.search(r'(?i)bubblewrap', v):
                    why = why or 'string "%s"' % v
            if why:
                bad.append('%s:%d: %s: %s' % (f, n, why, line.strip()))

elif mode == 'headers':
    cc = os.environ.get('CC', 'cc')
    flags = sys.argv[3].split()
    tmp = sys.argv[4]
    for f in files:
        if not f.endswith('.h'):
            continue
        t = os.path.join(tmp, 'only-' + f[:-2] + '.c')
        with open(t, 'w') as fh:
            fh.write('#include "%s"\n' % f)
        # The flags name runner/ relative to the top, as make does.
        r = subprocess.run([cc] + flags + ['-fsyntax-only', t], cwd=top,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if r.returncode:
            first = [l for l in r.stdout.split('\n') if 'error' in l][:1]
            bad.append('%s does not compile alone: %s'
                       % (f, first[0].strip() if first else r.stdout))

for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

test_expect_success 'only main.c and cmd-*.c include cmd.h' '
	python3 "$TRASH_ROOT/layering.py" cmd-h "$RUNNER_TOP"
'

test_expect_success 'only main.c, cmd-*.c and error.c print' '
	python3 "$TRASH_ROOT/layering.py" prints "$RUNNER_TOP"
'

test_expect_success 'SQL and SQLite stay in the store (store*.c)' '
	python3 "$TRASH_ROOT/layering.py" sql "$RUNNER_TOP"
'

test_expect_success 'no include cycles among the modules of runner/' '
	python3 "$TRASH_ROOT/layering.py" cycles "$RUNNER_TOP"
'

test_expect_success 'outside the backends no file of runner/ names one' '
	python3 "$TRASH_ROOT/layering.py" backends "$RUNNER_TOP"
'

test_expect_success 'every header in runner/ compiles on its own' '
	flags=$(make -s --no-print-directory -C "$RUNNER_TOP" \
		O="$RUNNER_BUILD" print-cflags) &&
	test -n "$flags" &&
	python3 "$TRASH_ROOT/layering.py" headers "$RUNNER_TOP" "$flags" "$TRASH"
'

test_expect_success 'the checks see what they look for' '
	mkdir -p fake/runner &&
	printf "#include \"runner.h\"\n#include \"cmd.h\"\n" >fake/runner/a.c &&
	printf "#include \"b.h\"\nstruct a { int x; };\n" >fake/runner/a.h &&
	printf "#include \"a.h\"\nstatic void f(void)\n{\n\tprintf(\"x\");\n\tfputs(s, stderr);\n\twarning(\"w\");\n\tdie(\"out of memory\");\n\t/* error(x) */\n\tobs->error(ctx);\n\tFILE *f = json ? stderr : out;\n}\n" >fake/runner/b.c &&
	printf "#include \"a.h\"\nsize_t n;\n" >fake/runner/b.h &&
	: >fake/runner/cmd.h &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" cmd-h fake >out &&
	test_grep "^a.c:2: #include \"cmd.h\"" out &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" prints fake >out &&
	test_grep "^b.c:4: " out &&
	test_grep "^b.c:5: " out &&
	test_grep "^b.c:6: " out &&
	test_grep -v "^b.c:7: " out &&
	test_grep -v "^b.c:8: " out &&
	test_grep -v "^b.c:9: " out &&
	test_grep "^b.c:10: " out &&
	printf "#include <sqlite3.h>\nstruct a { int x; };\n" >fake/runner/store-internal.h &&
	printf "#include \"store-internal.h\"\nstatic const char q[] = \"SELECT 1\";\nint n = sqlite3_changes(db);\n" >fake/runner/store-x.c &&
	printf "#include \"store-internal.h\"\nstatic const char *m = \"DELETE\";\n/* \"SELECT x\" */\nstatic const char q[] =\n\t\"  INSERT INTO t\";\nsqlite3 *db;\nint c = SQLITE_OK;\n" >fake/runner/c.c &&
	printf "#include <sqlite3.h>\nsqlite3 *store_db(void);\n" >fake/runner/store.h &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" sql fake >out &&
	test_grep "^c.c:1: " out &&
	test_grep -v "^c.c:2: " out &&
	test_grep -v "^c.c:3: " out &&
	test_grep "^c.c:5: " out &&
	test_grep "^c.c:6: " out &&
	test_grep "^c.c:7: " out &&
	test_grep "^store.h:1: " out &&
	test_grep "^store.h: declares store_db" out &&
	test_grep -v "^store-" out &&
	rm fake/runner/store-internal.h fake/runner/store-x.c fake/runner/c.c \
		fake/runner/store.h &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" cycles fake >out &&
	test_grep "cycle: a <-> b" out &&
	printf "extern const struct sandbox_backend sandbox_local;\nstatic const struct sandbox_backend *const b[] = {\n\t&sandbox_local,\n\t&sandbox_e2b,\n};\n" >fake/runner/sandbox.c &&
	printf "#include \"sandbox-e2b.h\"\n/* the e2b and local backends */\nint x = PLAN_BACKEND_LOCAL;\nconst char *s = \"local\";\nconst char *t = \"a local folder\";\nconst char *u = \"E2B_API_KEY\";\nint local_ok, localtime_r_ok;\nchar *bwrap;\n" >fake/runner/c.c &&
	printf "int e2b_x;\n" >fake/runner/e2b-x.c &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" backends fake >out &&
	test_grep "^c.c:1: includes sandbox-e2b.h" out &&
	test_grep -v "^c.c:2: " out &&
	test_grep "^c.c:3: identifier PLAN_BACKEND_LOCAL" out &&
	test_grep "^c.c:4: string \"local\"" out &&
	test_grep -v "^c.c:5: " out &&
	test_grep "^c.c:6: string \"E2B_API_KEY\"" out &&
	test_grep "^c.c:7: identifier local_ok" out &&
	test_grep "^c.c:8: identifier bwrap" out &&
	test_grep -v "^sandbox.c:" out &&
	test_grep -v "^e2b-x.c:" out &&
	test_must_fail python3 "$TRASH_ROOT/layering.py" headers fake \
		"-std=c11 -iquote runner" "$TRASH" >out &&
	test_grep "^b.h does not compile alone" out
'

test_done
