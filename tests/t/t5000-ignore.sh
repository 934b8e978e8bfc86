#!/bin/sh
# The workspace ignore matcher (runner/ws-ignore.c) against git itself.
#
# Each test builds a tree with .gitignore files at several levels, makes
# it a git repository and compares, path by path, what
# build/tests/ignore-tool says with three git oracles:
#   git check-ignore --no-index -v -n -z --stdin  every file and directory,
#                                                  inside ignored ones too
#   git ls-files -o --exclude-standard             the files a walk keeps
#   git ls-files -o -i --exclude-standard          the files it drops
# The trees are hand-written hard cases plus trees from a seeded
# pseudo-random generator (its own LCG in awk, so every awk gives the same
# trees). They must agree on every path.
. "$(dirname "$0")/lib.sh"

IGNORE_TOOL="$RUNNER_BUILD/tests/ignore-tool"
# No system or user git configuration (core.excludesFile, ignoreCase).
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL
unset XDG_CONFIG_HOME GIT_DIR GIT_WORK_TREE
LC_ALL=C
export LC_ALL

# lines FILE LINE...: write each LINE to FILE with "\n" after it. printf
# keeps trailing spaces and backslashes exactly as written.
lines() {
	f=$1 &&
	shift &&
	mkdir -p "$(dirname "$f")" &&
	printf '%s\n' "$@" >"$f"
}

# files PATH...: create empty files (and their directories).
files() {
	for f in "$@"; do
		mkdir -p "$(dirname "$f")" && : >"$f" || return 1
	done
}

# git_verdicts RAW: "VERDICT<TAB>PATH" lines from check-ignore -v -n -z
# output. A path is ignored when the deciding pattern is not a "!" one.
git_verdicts() {
	tr '\0' '\n' <"$1" | awk '
		NR % 4 == 1 { src = $0 }
		NR % 4 == 3 { pat = $0 }
		NR % 4 == 0 {
			v = (src != "" && substr(pat, 1, 1) != "!") ? 1 : 0
			print v "\t" $0
		}' | sort
}

# check_tree DIR [PATTERN...]: DIR is the root of a tree. Compare
# ignore-tool's verdicts with git's for every path in it. PATTERNs are
# plan `exclude` entries; git has no such thing for check-ignore, so with
# them the walk is checked against ls-files --exclude (git's command-line
# excludes, which also apply on top of .gitignore). Leaves DIR.all (the
# tool's verdicts), DIR.raw and DIR.git (git's) behind.
check_tree() {
	dir=$1 &&
	shift &&
	check_all "$dir" &&
	check_walk "$dir" "$@" &&
	check_ls_files "$dir" "$@"
}

# check_all DIR: ignore-tool all against check-ignore, on every path
# including those inside ignored directories.
check_all() {
	out=$PWD/$1
	(
		cd "$1" || exit 1
		if ! test -d .git; then
			git init -q . && : >.git/info/exclude || exit 1
		fi
		"$IGNORE_TOOL" all . >"$out.all" || exit 1
		test -s "$out.all" || { echo "no paths in $1"; exit 1; }
		cut -f3 "$out.all" | tr '\n' '\0' >"$out.paths" || exit 1
		st=0
		git check-ignore --no-index -v -n -z --stdin <"$out.paths" \
			>"$out.raw" 2>"$out.err" || st=$?
		# git warns about a .gitignore that is a symlink, and skips
		# it; so do we (silently)
		grep -v "^warning: unable to access .*symbolic links" \
			"$out.err" >"$out.err2" || :
		if test "$st" -gt 1 || test -s "$out.err2"; then
			echo "git check-ignore failed ($st):"
			cat "$out.err"
			exit 1
		fi
		git_verdicts "$out.raw" >"$out.git" &&
		cut -f1,3 "$out.all" | sort >"$out.tool" &&
		test_cmp "$out.git" "$out.tool"
	)
}

# check_walk DIR [PATTERN...]: the walk sees exactly the paths that are
# not inside an excluded directory, with the verdicts "all" gives them.
check_walk() {
	out=$PWD/$1 &&
	shift &&
	n=$# &&
	for p in "$@"; do
		set -- "$@" -x "$p" || return 1
	done &&
	shift $n &&
	"$IGNORE_TOOL" all "$out" "$@" >"$out.allx" &&
	awk -F'\t' '{
		n = split($3, c, "/"); p = ""; skip = 0
		for (i = 1; i < n; i++) {
			p = (i == 1) ? c[1] : p "/" c[i]
			if (p in ex)
				skip = 1
		}
		if (!skip)
			print
		if ($1 == 1 && $2 == "d")
			ex[$3] = 1
	}' "$out.allx" >"$out.walk-expect" &&
	"$IGNORE_TOOL" walk "$out" "$@" >"$out.walk" &&
	test_cmp "$out.walk-expect" "$out.walk"
}

# check_ls_files DIR [PATTERN...]: git ls-files -o (kept files) and
# -o -i (dropped files, also inside ignored directories) against the
# tool's walk and all outputs.
check_ls_files() {
	out=$PWD/$1 &&
	shift &&
	n=$# &&
	for p in "$@"; do
		set -- "$@" "--exclude=$p" || return 1
	done &&
	shift $n &&
	(
		cd "$out" &&
		git ls-files -z -o --exclude-standard "$@" >"$out.lso" &&
		tr '\0' '\n' <"$out.lso" | sort >"$out.kept-git" &&
		awk -F'\t' '$1 == 0 && $2 != "d" { print $3 }' "$out.walk" |
			sort >"$out.kept-tool" &&
		test_cmp "$out.kept-git" "$out.kept-tool" &&
		git ls-files -z -o -i --exclude-standard "$@" >"$out.lsi" &&
		tr '\0' '\n' <"$out.lsi" | sort >"$out.drop-git" &&
		awk -F'\t' '$1 == 1 && $2 != "d" { print $3 }' "$out.allx" |
			sort >"$out.drop-tool" &&
		test_cmp "$out.drop-git" "$out.drop-tool"
	)
}

# verdict DIR PATH: the tool's verdict for PATH (from DIR.all).
verdict() {
	P=$2 awk -F'\t' '$3 == ENVIRON["P"] { print $1; found = 1 }
		END { if (!found) print "missing" }' "$1.all"
}

# expect DIR VERDICT PATH...: spot checks, so that a test also fails if
# git and the tool were both to go wrong the same way.
expect() {
	d=$1 &&
	want=$2 &&
	shift 2 &&
	for p in "$@"; do
		got=$(verdict "$d" "$p") &&
		if test "$got" != "$want"; then
			echo "expected $want for '$p', got $got"
			return 1
		fi || return 1
	done
}

# ---------------------------------------------------------------------
# Hand-written hard cases

make_syntax_tree() {
	lines t/.gitignore \
		'# a comment: nothing below matches "#"' \
		'' \
		'\#hash' \
		'\!bang' \
		'!x.o' \
		'*.o' \
		'!keep.o' \
		'trail\ ' \
		'spaces   ' \
		'\*star' \
		'q?m' \
		'[a-c]x' \
		'[!a]y' \
		'[^b]z' \
		'[0-9][0-9]' \
		'log[s-u].txt' \
		'w[[:digit:]]' \
		'' \
		'/rootonly' \
		'mid/path' \
		'**/deep' \
		'lead/**' \
		'a/**/b' \
		'*.log' \
		'!important.log' \
		'dironly/' \
		'esc\\back' &&
	files t/#hash t/!bang t/bang t/x.o t/sub/x.o t/keep.o t/sub/keep.o \
		"t/trail " t/trail t/spaces "t/spaces " "t/*star" t/xstar \
		t/qam t/qm t/ax t/bx t/dx t/ay t/by t/az t/bz t/42 t/4a \
		t/logs.txt t/logt.txt t/logv.txt t/w1 t/wx \
		t/rootonly t/sub/rootonly t/mid/path t/x/mid/path t/deep \
		t/x/y/deep t/lead/a/b t/lead/c t/a/b t/a/x/y/b t/a/xb \
		t/a.log t/important.log t/sub/important.log t/dironly/f \
		t/sub/dironly "t/esc\\back" t/escback
}

test_expect_success GIT 'syntax: escapes, classes, spaces, anchors, **' '
	make_syntax_tree &&
	check_tree t &&
	expect t 1 "#hash" "!bang" sub/x.o "trail " spaces "*star" qam \
		ax bx by az 42 logs.txt logt.txt w1 rootonly mid/path deep \
		x/y/deep lead/a/b lead/c a/b a/x/y/b a.log dironly dironly/f \
		"esc\\back" &&
	expect t 0 bang keep.o sub/keep.o trail "spaces " xstar qm dx ay \
		bz 4a logv.txt wx sub/rootonly x/mid/path a/xb \
		important.log sub/important.log sub/dironly escback &&
	expect t 1 x.o
'

make_crlf_tree() {
	mkdir -p t/crlf t/bom t/noeol &&
	printf '*.o\r\n!keep.o\r\nsp  \r\n\r\n# c\r\n/anch\r\n' \
		>t/crlf/.gitignore &&
	printf '\357\273\277first\nsecond\n' >t/bom/.gitignore &&
	printf 'last' >t/noeol/.gitignore &&
	files t/crlf/a.o t/crlf/keep.o t/crlf/sp t/crlf/anch t/crlf/d/anch \
		t/crlf/x.o t/bom/first t/bom/second t/noeol/last \
		t/noeol/lastx \
		t/a.o t/first
}

test_expect_success GIT 'CRLF, a UTF-8 BOM, no newline at the end' '
	make_crlf_tree &&
	check_tree t &&
	expect t 1 crlf/a.o crlf/x.o crlf/sp crlf/anch bom/first \
		bom/second noeol/last &&
	expect t 0 crlf/keep.o crlf/d/anch noeol/lastx a.o first
'

make_reinclude_tree() {
	lines t/.gitignore \
		'build/' \
		'!build/keep.txt' \
		'out/*' \
		'!out/keep.txt' \
		'!out/sub/' \
		'logs/**' \
		'!logs/keep/' \
		'*.tmp' \
		'*.dat' \
		'!a.dat' \
		'p/' \
		'q' \
		'!q/' &&
	lines t/sub/.gitignore '!keep.tmp' '!/build' &&
	lines t/p/.gitignore '!x' &&
	lines t/deny/.gitignore '*' '!allowed' '!*/' &&
	files t/build/keep.txt t/build/other t/out/keep.txt t/out/other \
		t/out/sub/f t/out/sub2/f t/logs/keep/f t/logs/other \
		t/x.tmp t/keep.tmp t/sub/keep.tmp t/sub/x.tmp \
		t/sub/build/f t/a.dat t/b.dat t/sub/a.dat t/p/x t/p/y \
		t/q/f t/r/q t/deny/allowed t/deny/other t/deny/d/allowed \
		t/deny/d/other
}

test_expect_success GIT '! re-includes, but not inside an excluded directory' '
	make_reinclude_tree &&
	check_tree t &&
	expect t 1 build build/keep.txt out/other out/sub2 out/sub2/f \
		logs/keep/f logs/other x.tmp sub/x.tmp b.dat p p/x p/y \
		r/q deny/other deny/d/other &&
	expect t 0 out out/keep.txt out/sub out/sub/f logs logs/keep \
		sub/keep.tmp sub/build sub/build/f a.dat sub/a.dat q q/f \
		deny/allowed deny/d deny/d/allowed &&
	expect t 1 keep.tmp
'

make_nested_tree() {
	lines t/.gitignore '*.c' 'top/' &&
	lines t/a/.gitignore '/x' 'y/z' '**/w' '!keep.c' 'sub/' &&
	lines t/a/b/.gitignore '!/x' 'x' '!*.c' '/sub/' &&
	lines t/ab/.gitignore 'nothing' &&
	files t/x t/a/x t/a/b/x t/a/b/c/x t/y/z t/a/y/z t/a/b/y/z t/w \
		t/a/w t/a/q/r/w t/keep.c t/a/keep.c t/a/k.c t/a/b/k.c \
		t/a/b/c/k.c t/ab/x t/ab/w t/a/sub/f t/a/b/sub/f t/a/c/sub/f \
		t/a/top/f t/abc/y/z
}

test_expect_success GIT 'nested .gitignore files, relative to their dir' '
	make_nested_tree &&
	check_tree t &&
	expect t 1 a/x a/y/z a/w a/q/r/w a/k.c a/b/x a/b/c/x a/sub \
		a/b/sub a/c/sub a/top &&
	expect t 0 x a/b/y/z w ab/x ab/w a/keep.c a/b/k.c a/b/c/k.c y/z \
		abc/y/z &&
	expect t 1 keep.c
'

make_links_tree() {
	lines t/.gitignore 'ldir/' 'lfile' 'real/' '!real/' &&
	mkdir -p t/real t/sub t/gi/.gitignore &&
	files t/real/f t/lfile.target t/gi/x &&
	ln -s real t/ldir &&
	ln -s lfile.target t/lfile &&
	lines t/other-ignore 'x' '*' &&
	ln -s ../other-ignore t/sub/.gitignore &&
	files t/sub/x
}

test_expect_success GIT 'symlinks are not directories and not followed' '
	make_links_tree &&
	check_tree t &&
	expect t 0 ldir real real/f sub/x sub/.gitignore gi gi/x &&
	expect t 1 lfile
'

make_quirks_tree() {
	lines t/.gitignore \
		'foo**/bar' \
		'a/b**' \
		'!a/bx/' \
		'x/**y/z' \
		'foo//' \
		'/' \
		'!' \
		'abc\' \
		'[' \
		'un[closed' \
		'[[:alpha:]]1' \
		'[[:bogus:]]2' \
		'a[]b' \
		'[]]br' \
		'[!]]bs' \
		'mid/**/**/end' \
		'***/triple' \
		'st**ar' &&
	files t/foox/y/bar t/foo/bar t/a/bc t/a/bx/c t/a/b/c t/x/a/b/y/z \
		t/x/aby/z t/foo/x "t/abc\\" t/abc t/[ t/un[closed t/a1 t/11 \
		t/b2 t/a[]b t/]br t/xbs t/]bs t/mid/end t/mid/a/b/end \
		t/p/q/triple t/triple t/stxxar t/st/ar
}

test_expect_success GIT 'quirks: ** after a literal prefix, odd brackets' '
	make_quirks_tree &&
	check_tree t &&
	expect t 1 foox/y/bar foo/bar a/bc a/bx/c a/b a/b/c x/aby/z a1 \
		]br xbs mid/end mid/a/b/end p/q/triple triple stxxar &&
	expect t 0 a/bx x/a/b/y/z foo foo/x "abc\\" abc [ un[closed 11 b2 \
		a[]b ]bs st st/ar
'

# Chains of "**" links make git's matcher (and ours, before it starts
# remembering) backtrack exponentially; these are small enough for git.
make_chains_tree() {
	chain8='**/**/**/**/**/**/**/**'
	lines t/.gitignore "$chain8/b" "!$chain8/a/**/c" "$chain8/?/d*/" &&
	p=t &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
		p=$p/a &&
		files $p/x || return 1
	done &&
	files $p/b $p/c $p/d1/f t/a/a/b/c t/a/c t/a/a/a/dx/y t/b/dd
}

test_expect_success GIT 'chains of ** links: fast, and as git says' '
	make_chains_tree &&
	check_tree t &&
	expect t 1 a/a/a/a/a/a/a/a/a/a/a/a/a/b a/a/b a/a/b/c a/a/a/dx \
		a/a/a/dx/y a/a/a/a/a/a/a/a/a/a/a/a/a/d1 b b/dd &&
	expect t 0 a/a/a/a/a/a/a/a/a/a/a/a/a/c a/a/a/a/a/a/a/a/a/a/a/a/a/x \
		a/c
'

test_expect_success GIT 'plan excludes apply on top of .gitignore' '
	lines t/.gitignore "*.log" "!keep.log" "!build/" &&
	files t/a.log t/keep.log t/sub/keep.log t/build/x t/src/m.o \
		t/src/n.c t/node_modules/p/q.js t/lib/a t/x/lib/b &&
	check_tree t "keep.log" "build/" "*.o" "node_modules/" "/lib" &&
	"$IGNORE_TOOL" walk t -x keep.log -x build/ -x "*.o" \
		-x node_modules/ -x /lib >walk &&
	cat >expect <<-\EOF &&
	0	f	.gitignore
	1	f	a.log
	1	d	build
	1	f	keep.log
	1	d	lib
	1	d	node_modules
	0	d	src
	1	f	src/m.o
	0	f	src/n.c
	0	d	sub
	1	f	sub/keep.log
	0	d	x
	0	d	x/lib
	0	f	x/lib/b
	EOF
	test_cmp expect walk
'

test_expect_success GIT 'a "!" exclude entry undoes an earlier one only' '
	files t/a.log t/keep.log &&
	lines t/.gitignore "a.log" &&
	"$IGNORE_TOOL" walk t -x "*.log" -x "!*.log" >walk &&
	printf "0\tf\t.gitignore\n1\tf\ta.log\n0\tf\tkeep.log\n" >expect &&
	test_cmp expect walk
'

test_expect_success 'ignore-tool reports errors' '
	test_expect_code 2 "$IGNORE_TOOL" &&
	test_expect_code 2 "$IGNORE_TOOL" walk . -x &&
	test_expect_code 1 "$IGNORE_TOOL" walk does-not-exist 2>err &&
	test_grep "does-not-exist" err
'

# ---------------------------------------------------------------------
# Pseudo-random trees

# gen_tree SEED DIR: a tree of up to ~4 levels from a small vocabulary
# (spaces, '#', '!', glob characters, a backslash in names) and a
# .gitignore in the root and in about 40% of the directories, with
# patterns made of the same names, wildcards, anchors, "**", '!',
# escapes, comments, blank lines, trailing spaces, CRLF and BOMs.
gen_tree() {
	seed=$1
	dir=$2
	mkdir -p "$dir.stage" "$dir" || return 1
	awk -v seed="$seed" -v stage="$dir.stage" '
	function rnd(n) {
		seed = (seed * 16807) % 2147483647
		return seed % n
	}
	function pick() { return V[1 + rnd(nv)] }
	function gen(d, depth,    n, i, name, p) {
		dirs[++ndirs] = d
		n = 3 + rnd(6)
		for (i = 0; i < n; i++) {
			name = pick()
			p = d == "" ? name : d "/" name
			if (p in seen)
				continue
			seen[p] = 1
			if (depth < 4 && rnd(5) < 2) {
				print "D\t" p
				gen(p, depth + 1)
			} else {
				print "F\t" p
			}
		}
	}
	function esc(s,    out, i, c, n) {
		out = ""
		n = length(s)
		for (i = 1; i <= n; i++) {
			c = substr(s, i, 1)
			if (index("*?[\\", c) || (i == 1 && index("#!", c)) ||
			    (c == " " && i == n))
				out = out "\\"
			out = out c
		}
		return out
	}
	function segment(    r, name, k) {
		r = rnd(14)
		if (r == 0)
			return "*"
		if (r == 1)
			return "**"
		name = pick()
		if (r == 2)
			return "*" substr(name, 2)
		if (r == 3)
			return substr(name, 1, length(name) - 1) "*"
		if (r == 4) {
			k = 1 + rnd(length(name))
			return substr(name, 1, k - 1) "?" substr(name, k + 1)
		}
		if (r == 5)
			return "[a-c]" substr(name, 2)
		if (r == 6)
			return "[!a]" substr(name, 2)
		if (r == 7)
			return "[^" substr(name, 1, 1) "]" substr(name, 2)
		if (r == 8 || r == 9)
			return esc(name)
		return name
	}
	function genline(    r, nseg, i, s) {
		r = rnd(20)
		if (r == 0)
			return "# comment " rnd(100)
		if (r == 1)
			return ""
		nseg = 1 + (rnd(3) == 0) + (rnd(4) == 0)
		s = ""
		for (i = 0; i < nseg; i++)
			s = s (i ? "/" : "") segment()
		if (rnd(5) == 0)
			s = "/" s
		if (rnd(5) == 0)
			s = s "/"
		if (rnd(4) == 0)
			s = "!" s
		if (rnd(10) == 0)
			s = s "  "
		return s
	}
	BEGIN {
		nv = split("a|b|c|ab|abc|foo|bar|build|src|lib|doc|x.o|" \
			"y.c|z.h|a.log|keep.log|keep|tmp|out|.hidden|" \
			"sp ace|trail |#hash|!bang|st*r|q?m|[br]|Ab|" \
			"x.tar.gz|-dash|42|back\\slash|deep|node_modules", \
			V, "|")
		for (i = 0; i < 5; i++)
			rnd(2)	# mix small seeds
		gen("", 0)
		for (i = 1; i <= ndirs; i++) {
			if (i > 1 && rnd(5) >= 2)
				continue
			f = stage "/gi." i
			eol = rnd(5) == 0 ? "\r\n" : "\n"
			if (rnd(10) == 0)
				printf "\357\273\277" >f
			n = 1 + rnd(10)
			for (j = 1; j <= n; j++) {
				printf "%s", genline() >f
				if (j < n || rnd(3))
					printf "%s", eol >f
			}
			close(f)
			print "G\t" i "\t" dirs[i]
		}
	}' >"$dir.list" || return 1
	while IFS= read -r line; do
		kind=${line%%	*}
		rest=${line#*	}
		case $kind in
		D) mkdir -p -- "$dir/$rest" ;;
		F) : >"$dir/$rest" ;;
		G)
			n=${rest%%	*}
			d=${rest#*	}
			if test -n "$d"; then
				cp "$dir.stage/gi.$n" "$dir/$d/.gitignore"
			else
				cp "$dir.stage/gi.$n" "$dir/.gitignore"
			fi ;;
		esac || return 1
	done <"$dir.list"
}

test_expect_success 'the generator is deterministic' '
	gen_tree 7 one &&
	gen_tree 7 two &&
	(cd one && find . -print | sort && cat $(find . -name .gitignore |
		sort)) >one.txt &&
	(cd two && find . -print | sort && cat $(find . -name .gitignore |
		sort)) >two.txt &&
	test_cmp one.txt two.txt &&
	test "$(wc -l <one.txt)" -gt 10
'

# Excludes for some of the random trees (git --exclude takes a pattern
# as is, without a .gitignore line's trailing-space and comment rules, so
# these have neither).
EXCLUDES="*.o|build/|/lib|src/**/x.o|[a-c]*|sp ace|x.*|doc|**/tmp|a/b"

nth_exclude() {
	echo "$EXCLUDES" | cut -d"|" -f"$1"
}

# check_random_trees FIRST LAST: generate and check trees FIRST..LAST;
# every third one also gets two plan excludes.
check_random_trees() {
	total=0 ign=0 neg=0 s=$1 last=$2
	while test "$s" -le "$last"; do
		seed=$((s * 7919))
		gen_tree $seed r$s || return 1
		set --
		if test $((s % 3)) = 0; then
			set -- "$(nth_exclude $((s % 10 + 1)))" \
				"$(nth_exclude $(((s / 3) % 10 + 1)))"
		fi
		if ! check_tree r$s "$@"; then
			echo "tree r$s (seed $seed) differs; excludes: $*"
			return 1
		fi
		total=$((total + $(wc -l <r$s.git)))
		ign=$((ign + $(grep -c "^1" r$s.git || :)))
		neg=$((neg + $(tr '\0' '\n' <r$s.raw | grep -c "^!" || :)))
		s=$((s + 1))
	done
	echo "# paths $total, ignored $ign, decided by a '!' line $neg"
	# the generator must exercise the interesting cases
	test $total -gt 3000 && test $ign -gt 500 &&
	test $((total - ign)) -gt 500 && test $neg -gt 50
}

test_expect_success GIT 'random trees: every path agrees with git' '
	check_random_trees 1 60
'

test_done
