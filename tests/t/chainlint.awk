# Chain lint for test bodies (git's t/chainlint idea, as a small lexer).
#
# A test body is one &&-chain: every command's status must reach the end,
# or a failing check in the middle is silently passed over. This reads a
# body on stdin and reports, one line each, every place where the chain
# is broken:
#   - two commands separated by a newline or ";" with no && (or ||, |)
#     between them, at any depth (top level, if/then/else, loops,
#     subshells, { } groups, case arms);
#   - a loop whose body does not end in "|| return N" / "|| exit N"
#     (a failure in any iteration but the last would be lost), or
#     that is piped into another command;
#   - what hides a status without breaking the chain: a pipeline whose
#     left side is the program under test (runner, test-tool, ...),
#     'wait' without a pid, 'local/export x=$(cmd)'.
# "&" is a break too; start a background job as "{ cmd & } &&".
# A { } or ( ) group right after || is a failure handler
# ("|| { echo why; exit 1; }") and is not linted inside.
# Exits 1 when it found anything, else 0.
#
# The lexer knows quotes ('...', "...", \x), $( ), $(( )), ` `, ${ },
# comments, here-documents (<<EOF, <<-EOF, quoted delimiters) and case
# patterns; that is all a test body needs.

function emit(type, val, line) {
	ntok++
	ttype[ntok] = type
	tval[ntok] = val
	tline[ntok] = line
}

function flush_word() {
	if (word != "" || wordq) {
		emit("W", word, wline)
		if (want_delim) {
			heredoc[++nheredoc] = word
			heredoc_strip[nheredoc] = want_delim_strip
			want_delim = 0
		}
	}
	word = ""
	wordq = 0
}

# Skip from position i (just after "$(" or "`" or "${") to the end of
# the construct, honouring nested quotes; returns the index of the last
# character of the construct.
function skip_nested(i, endch,    depth, c, c2) {
	depth = 1
	while (i <= n) {
		c = substr(text, i, 1)
		if (c == "\n")
			lineno++
		if (c == "\\") {
			i += 2
			continue
		}
		if (endch == "`") {
			if (c == "`")
				return i
			i++
			continue
		}
		if (c == "'") {
			i = index_from(i + 1, "'")
			i++
			continue
		}
		if (c == "\"") {
			i = skip_dq(i + 1)
			i++
			continue
		}
		c2 = substr(text, i, 2)
		if (c2 == "$(" || c2 == "${") {
			i = skip_nested(i + 2, c2 == "$(" ? ")" : "}")
			i++
			continue
		}
		if (endch == ")" && c == "(")
			depth++
		else if (c == endch) {
			depth--
			if (depth == 0)
				return i
		}
		i++
	}
	return n
}

# Index of the next s at or after i, counting newlines passed.
function index_from(i, s,    j, tmp) {
	j = index(substr(text, i), s)
	if (j == 0) {
		tmp = substr(text, i)
		lineno += gsub(/\n/, "\n", tmp)
		return n
	}
	tmp = substr(text, i, j - 1)
	lineno += gsub(/\n/, "\n", tmp)
	return i + j - 1
}

# From just after an opening ", the index of the closing ".
function skip_dq(i,    c, c2) {
	while (i <= n) {
		c = substr(text, i, 1)
		if (c == "\n")
			lineno++
		if (c == "\\") {
			i += 2
			continue
		}
		if (c == "\"")
			return i
		c2 = substr(text, i, 2)
		if (c2 == "$(" || c2 == "${") {
			i = skip_nested(i + 2, c2 == "$(" ? ")" : "}")
		} else if (c == "`") {
			i = skip_nested(i + 1, "`")
		}
		i++
	}
	return n
}

# At a newline with here-documents pending: skip their bodies. i is the
# index of the newline; returns the index of the last newline skipped.
function skip_heredocs(i,    k, line, e, d) {
	for (k = 1; k <= nheredoc; k++) {
		d = heredoc[k]
		gsub(/["'\\]/, "", d)
		while (i < n) {
			e = index(substr(text, i + 1), "\n")
			if (e == 0) {
				line = substr(text, i + 1)
				i = n
			} else {
				line = substr(text, i + 1, e - 1)
				i = i + e
			}
			lineno++
			if (heredoc_strip[k])
				sub(/^\t+/, "", line)
			if (line == d)
				break
		}
	}
	nheredoc = 0
	return i
}

function lex(    i, j, c, c2, c3) {
	n = length(text)
	lineno = 1
	word = ""
	wordq = 0
	ntok = 0
	nheredoc = 0
	want_delim = 0
	for (i = 1; i <= n; i++) {
		c = substr(text, i, 1)
		c2 = substr(text, i, 2)
		if (word == "" && !wordq)
			wline = lineno
		if (c == "\\") {
			if (substr(text, i + 1, 1) == "\n") {
				lineno++
				i++
				continue
			}
			word = word substr(text, i, 2)
			i++
			continue
		}
		if (c == "'") {
			j = index_from(i + 1, "'")
			word = word substr(text, i, j - i + 1)
			wordq = 1
			i = j
			continue
		}
		if (c == "\"") {
			j = skip_dq(i + 1)
			word = word substr(text, i, j - i + 1)
			wordq = 1
			i = j
			continue
		}
		if (c2 == "$(" || c2 == "${") {
			j = skip_nested(i + 2, c2 == "$(" ? ")" : "}")
			word = word substr(text, i, j - i + 1)
			i = j
			continue
		}
		if (c == "`") {
			j = skip_nested(i + 1, "`")
			word = word substr(text, i, j - i + 1)
			i = j
			continue
		}
		if (c == "#" && word == "" && !wordq) {
			while (i < n && substr(text, i + 1, 1) != "\n")
				i++
			continue
		}
		if (c == " " || c == "\t") {
			flush_word()
			continue
		}
		if (c == "\n") {
			flush_word()
			emit("NL", "\n", lineno)
			if (nheredoc)
				i = skip_heredocs(i)
			lineno++
			continue
		}
		if (c == "<" || c == ">") {
			# A redirection stays part of the word stream.
			if (substr(text, i, 3) == "<<-") {
				flush_word()
				want_delim = 1
				want_delim_strip = 1
				i += 2
				continue
			}
			if (c2 == "<<") {
				flush_word()
				want_delim = 1
				want_delim_strip = 0
				i += 1
				continue
			}
			word = word c
			c3 = substr(text, i + 1, 1)
			if (c3 == "&" || c3 == ">" || c3 == "|") {
				word = word c3
				i++
			}
			continue
		}
		if (c2 == "&&" || c2 == "||" || c2 == ";;") {
			flush_word()
			emit("OP", c2, lineno)
			i++
			continue
		}
		if (c == "|" || c == ";" || c == "&" || c == "(" || c == ")") {
			flush_word()
			emit("OP", c, lineno)
			continue
		}
		word = word c
	}
	flush_word()
}

function is_opener(k) {
	if (ttype[k] == "OP")
		return tval[k] == "(" || tval[k] == ";;" || tval[k] == "&&" ||
		    tval[k] == "||" || tval[k] == "|" || patclose[k]
	return tval[k] == "then" || tval[k] == "do" || tval[k] == "else" ||
	    tval[k] == "{" || tval[k] == "in" || tval[k] == "!"
}

function is_closer(k) {
	if (ttype[k] == "OP")
		return tval[k] == ")" || tval[k] == ";;"
	return tval[k] == "then" || tval[k] == "do" || tval[k] == "fi" ||
	    tval[k] == "done" || tval[k] == "esac" || tval[k] == "}" ||
	    tval[k] == "else" || tval[k] == "elif"
}

function is_reserved(w) {
	return w == "if" || w == "then" || w == "else" || w == "elif" ||
	    w == "fi" || w == "do" || w == "done" || w == "for" ||
	    w == "while" || w == "until" || w == "case" || w == "esac" ||
	    w == "{" || w == "}" || w == "!" || w == "in"
}

function is_sep(k) {
	return ttype[k] == "NL" ||
	    (ttype[k] == "OP" && (tval[k] == ";" || tval[k] == "&"))
}

function problem(line, msg) {
	if (handler_depth)
		return
	printf("chain lint: line %d: %s\n", line, msg)
	printf("    %s\n", lines[line])
	bad = 1
}

# Walk the tokens; a separator (newline, ";" or "&") between two
# commands must sit next to a reserved word or operator that makes it
# part of a compound command.
function check(    k, p, q, pattern, ncase, cmdpos, first, firstline) {
	pattern = 0
	ncase = 0
	nloop = 0
	cmdpos = 1
	ngroup = 0
	handler_depth = 0
	for (k = 1; k <= ntok; k++) {
		if ((ttype[k] == "W" && tval[k] == "{" && cmdpos) ||
		    (ttype[k] == "OP" && tval[k] == "(" && !pattern)) {
			p = k - 1
			while (p >= 1 && ttype[p] == "NL")
				p--
			handler = (cmdpos && p >= 1 && ttype[p] == "OP" &&
			    tval[p] == "||")
			group[++ngroup] = handler
			gopen[ngroup] = k
			handler_depth += handler
		} else if ((ttype[k] == "W" && tval[k] == "}" && cmdpos) ||
		    (ttype[k] == "OP" && tval[k] == ")" && !pattern &&
		    ngroup)) {
			if (ngroup) {
				handler_depth -= group[ngroup]
				gstart[k] = gopen[ngroup] + 1
				ngroup--
			}
		}
		if (ttype[k] == "W" && tval[k] == "esac" &&
		    (cmdpos || pattern)) {
			ncase--
			pattern = 0
			cmdpos = 0
			continue
		}
		if (pattern) {
			if (ttype[k] == "OP" && tval[k] == ")") {
				patclose[k] = 1
				pattern = 0
				cmdpos = 1
			}
			continue
		}
		if (ttype[k] == "W" && cmdpos && !is_reserved(tval[k])) {
			first = tval[k]
			firstline = tline[k]
			if (first == "wait" && (k == ntok || ttype[k + 1] != "W"))
				problem(tline[k], "'wait' without a pid " \
				    "returns 0 whatever the job did: " \
				    "wait $pid")
		}
		if (ttype[k] == "W" && (first == "local" || first == "export" ||
		    first == "readonly") && tval[k] ~ /=["]?[$][(]/)
			problem(tline[k], "'" first " x=$(cmd)' hides " \
			    "cmd's failure: assign first, then " first)
		if (ttype[k] == "W") {
			if (cmdpos && tval[k] == "case") {
				casestate[++ncase] = 1
				cmdpos = 0
			} else if (ncase && casestate[ncase] == 1 &&
			    tval[k] == "in") {
				casestate[ncase] = 2
				pattern = 1
			} else if (cmdpos && (tval[k] == "for" ||
			    tval[k] == "while" || tval[k] == "until")) {
				loopline[++nloop] = tline[k]
				cmdpos = 0
			} else if (cmdpos && tval[k] == "done") {
				if (k < ntok && ttype[k + 1] == "OP" &&
				    tval[k + 1] == "|")
					problem(tline[k], "a loop piped into " \
					    "another command loses its " \
					    "failures: write to a file first")
				check_loop_end(k)
				nloop--
				cmdpos = 0
			} else {
				cmdpos = (tval[k] == "then" || tval[k] == "do" ||
				    tval[k] == "else" || tval[k] == "{" ||
				    tval[k] == "!" || tval[k] == "if" ||
				    tval[k] == "elif" || tval[k] == "while" ||
				    tval[k] == "until")
			}
			continue
		}
		if (tval[k] == ";;") {
			pattern = 1
			continue
		}
		if (ttype[k] == "OP" && tval[k] == "|" && first ~ \
		    /^("?[$]RUNNER"?|"?[$]TEST_TOOL"?|runner|test_expect_code|test_must_fail|test-tool)$/)
			problem(firstline, "a pipeline hides the exit status " \
			    "of '" first "': write its output to a file, " \
			    "then read that")
		if (ttype[k] == "OP" || is_sep(k))
			first = ""
		if (is_sep(k)) {
			if (k > 1 && is_sep(k - 1)) {
				cmdpos = 1
				continue
			}
			p = k - 1
			while (p >= 1 && ttype[p] == "NL")
				p--
			q = k + 1
			while (q <= ntok && is_sep(q) && tval[q] != "&")
				q++
			if (p >= 1 && q <= ntok && !is_opener(p) &&
			    !is_closer(q) && !ends_in_jump(p)) {
				if (tval[k] == "&")
					problem(tline[p], "background job " \
					    "breaks the &&-chain after '" \
					    tval[p] "': write { cmd & } &&")
				else
					problem(tline[p], "broken &&-chain: " \
					    "no && after '" tval[p] "'")
			}
			cmdpos = 1
			continue
		}
		cmdpos = (tval[k] != ")")
	}
}

# Does the and-or list ending at p end in "|| exit/return/continue/break
# [N]"? Then nothing after it runs with its status: no && is needed.
function ends_in_jump(p,    w) {
	w = p
	if (ttype[w] == "W" && tval[w] ~ /^[0-9]+$/ && w > 1)
		w--
	return ttype[w] == "W" && (tval[w] == "exit" || tval[w] == "return" ||
	    tval[w] == "continue" || tval[w] == "break") && w > 1 &&
	    ttype[w - 1] == "OP" && tval[w - 1] == "||"
}

# The last command of a loop body (before the "done" at k) must pass a
# failure on: "... || return N", "... || exit N", or be one of those.
function check_loop_end(k,    p, q, r) {
	p = k - 1
	while (p >= 1 && is_sep(p))
		p--
	for (q = p; q >= 1; q--) {
		if (gstart[q]) {
			q = gstart[q]
			continue
		}
		if (ttype[q] == "NL" && q > 1 && ttype[q - 1] == "OP" &&
		    (tval[q - 1] == "&&" || tval[q - 1] == "||" ||
		     tval[q - 1] == "|"))
			continue
		if (is_sep(q) || (ttype[q] == "W" && tval[q] == "do"))
			break
		if (ttype[q] == "OP" && tval[q] == "||") {
			r = q + 1
			while (r < ntok && ttype[r] == "NL")
				r++
			if (((tval[r] == "return" || tval[r] == "exit") &&
			    tval[r + 1] != "0") || tval[r] == "{" ||
			    tval[r] == "(")
				return
		}
		if (ttype[q] == "W" && (tval[q] == "return" ||
		    tval[q] == "exit" || tval[q] == "continue" ||
		    tval[q] == "break") && (q == 1 || is_sep(q - 1) ||
		    tval[q - 1] == "do" || tval[q - 1] == "then" ||
		    tval[q - 1] == "else" || tval[q - 1] == "&&"))
			return
	}
	problem(tline[p], "loop (line " loopline[nloop] ") ends without " \
	    "'|| return 1': a failure before the last iteration is lost")
}

{ text = text $0 "\n"; lines[NR] = $0 }

END {
	lex()
	check()
	exit bad
}
