#ifndef WS_SECRETS_H
#define WS_SECRETS_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/*
 * Credential scanning of workspace files before they leave the machine
 * (DESIGN.md, "A task's life", step 2). The snapshot calls
 * secrets_scan_file() on every file it is about to upload and refuses the
 * upload, naming file and line, when a finding comes back (unless the plan
 * says `secret_scan: warn|off`).
 *
 * A finding is (path, line, rule) only: the matched text is never copied,
 * stored or returned, so a finding can be logged and recorded anywhere.
 * At most one finding is reported per (line, rule).
 *
 * Text is scanned line by line ('\n'; a '\r' before it is ignored, so line
 * numbers are right for CRLF files). No rule matches across lines. The
 * rules (name: what matches):
 *
 *  aws-access-key-id      AKIA, ASIA, AGPA, AIDA, AROA, ANPA, ANVA or AIPA
 *                         and 16 [A-Z0-9], as a whole word (not preceded or
 *                         followed by [A-Za-z0-9_])
 *  aws-secret-access-key  an assignment (see below) whose key contains
 *                         aws_secret_access_key, aws_secret or
 *                         secret_access_key to a value of exactly 40
 *                         [A-Za-z0-9/+=] with entropy >= 3.5 bits/char
 *  github-token           ghp_, gho_, ghu_, ghs_ or ghr_ and exactly 36
 *                         [A-Za-z0-9]; github_pat_ and exactly 82
 *                         [A-Za-z0-9_]; as a whole word
 *  gitlab-token           glpat- and at least 20 [A-Za-z0-9_-]
 *  slack-token            xox[baprs]- and at least 10 [A-Za-z0-9-]; or a
 *                         webhook hooks.slack.com/services/T.../B.../X
 *                         (segments [A-Za-z0-9_], the last one >= 8)
 *  private-key            -----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED |
 *                         PGP )?PRIVATE KEY( BLOCK)?-----
 *  jwt                    eyJ[A-Za-z0-9_-]{10,}.eyJ[A-Za-z0-9_-]{10,}.
 *                         [A-Za-z0-9_-]{10,}
 *  anthropic-api-key      sk-ant- and at least 20 [A-Za-z0-9_-]
 *  openai-api-key         sk- (not sk-ant-) and at least 20 [A-Za-z0-9_-]
 *                         of which one at least is a digit or an upper-case
 *                         letter (so kebab-case words such as
 *                         "sk-button-primary-large" do not match)
 *  generic-secret-assignment
 *                         an assignment whose key names a credential (see
 *                         below) to a value that looks random (see below)
 *
 * The token rules above (all but the two assignment rules) must start a
 * word: the byte before must not be [A-Za-z0-9_], nor '-' for the rules
 * whose alphabet has '-' (gitlab, slack, jwt, anthropic, openai), so that
 * "risk-assessment-..." or "xAKIA..." never match.
 *
 * Assignments: KEY, an optional closing quote, optional blanks, then '=',
 * ':', ':=' or '=>' (not '::' or '=='), optional blanks, then a value that
 * is either quoted ('"', '\'' or '`', up to the matching quote on the same
 * line) or bare (up to a blank, ',', ';' or a quote). KEY is the run of
 * [A-Za-z0-9_.-] just before (at most 128 bytes of it).
 *
 * A credential key contains one of password, passwd, secret, api_key,
 * token, access_key, auth_key, case-insensitively, where '_' stands for
 * '_', '-', '.' or nothing (so apikey, api-key, accessKey match), at
 * the end of a word of the key: not followed by a letter, except at a
 * camelCase boundary (dbPassword, authtoken, tokenValue match; tokenizer,
 * max_tokens, secretary do not). A key whose last word says it is about
 * a credential rather than the credential is not one: type, name, url,
 * uri, endpoint, path, file, dir, field, header, param, length, len, size,
 * count, hint, prefix, format, pattern, regex, label, env, var, id, ttl,
 * expiry, expires, timeout, version, encryption, algorithm, method, mode,
 * policy (token_type, PASSWORD_FILE, secretName).
 *
 * A generic value counts when:
 *  - it is 12 to 1024 bytes long and holds no blank;
 *  - it has a letter, and a digit or two symbols (bytes other than
 *    [A-Za-z0-9-_./]): identifiers, words and code ("quoted-string",
 *    "DistributionList.Next", obj.secret_key) have neither, and a random
 *    string of 12+ characters rarely lacks both (a letters-only secret is
 *    the price: it is not reported); numbers (ids, times) have no letter;
 *  - when bare (unquoted), it has none of ()[]{}<>$% (code, templates);
 *  - its Shannon entropy over bytes is >= 3.5 bits/char, or >= 3.0 when it
 *    is shorter than 16 bytes (a 12-byte string cannot reach much more than
 *    log2(12) = 3.58, and one repeated character already drops it to 3.4);
 *  - it is not a placeholder, a variable, a URL or a path: it does not
 *    start with '$' followed by a letter, '_', '{' or '(', nor with "./",
 *    "../" or "~/"; it does not have two '/' and start with '/' or lack
 *    upper-case letters (/etc/x/y, projects/p/secrets/s/1); and it
 *    contains none of, ignoring case: example, changeme, change_me, xxxx,
 *    ****, ..., <, >, ${, {{, %(, %s, your_, your-, yourpass, dummy, test,
 *    sample, placeholder, redacted, fake, foobar, insert, replace, todo,
 *    ://.
 * So `password = ""`, `password: ${DB_PASSWORD}` and
 * `password=aaaaaaaaaaaaaaa` do not match. An assignment reported as
 * aws-secret-access-key is not reported again as generic.
 *
 * The other rules do not look for placeholders: AWS's documented example
 * key id (AKIA...EXAMPLE) is reported like any other.
 *
 * Binary content is skipped (no findings, not an error): a file is binary
 * when its first 8 KiB hold a NUL byte (git's rule) or when more than a
 * quarter of the bytes there are not part of a structurally valid UTF-8
 * sequence (Latin-1 text has a few such bytes and is still scanned).
 * The file name plays no part: x.bin with text in it is scanned.
 *
 * Limits: files are read through a 256 KiB window, so memory stays small
 * whatever the file size. A line longer than the window is scanned in
 * pieces that overlap by 16 KiB; a match longer than that overlap that
 * straddles two pieces (only a huge JWT could be) may be missed.
 * secrets_scan_file() reads at most SECRETS_SCAN_MAX_BYTES of a file; the
 * rest of a larger file is not scanned.
 *
 * Thread safety: no global state; any number of threads may scan at once,
 * each into its own struct secret_findings.
 */

/*
 * The version of the rules above. It changes whenever a rule, a threshold
 * or a limit changes what is found, so that a cache of "this file had no
 * findings" verdicts (the hash cache) keyed by it is invalidated then.
 */
#define SECRETS_RULES_VERSION 2

/* Bytes of a file that secrets_scan_file() reads: 4 MiB. */
#define SECRETS_SCAN_MAX_BYTES (4u << 20)

struct secret_finding {
	char *path;	  /* owned by the findings list */
	unsigned line;	  /* 1-based */
	const char *rule; /* static string, e.g. "aws-access-key-id" */
};

struct secret_findings {
	struct secret_finding *items; /* in the order found */
	size_t nr, alloc;
};

#define SECRET_FINDINGS_INIT \
	{                    \
		NULL, 0, 0   \
	}

/* Free every finding's path and the array; f is empty and reusable after. */
void secret_findings_release(struct secret_findings *f);

/*
 * The name of rule i (0-based, in the order of the list above), or NULL
 * past the last one. The strings are static: findings point at them.
 */
const char *secrets_rule_name(size_t i);

/*
 * Scan buf[0..len), a file's content (need not be NUL-terminated), and
 * append what is found to out, with a copy of path (borrowed) as the path.
 * Binary content is skipped. Returns the number of findings appended.
 * Never fails.
 */
int secrets_scan_buffer(const char *path, const char *buf, size_t len,
			struct secret_findings *out);

/*
 * Read fd from its current offset to EOF, or to max_bytes (0: no limit),
 * through the bounded window, and append the findings to out as
 * secrets_scan_buffer would, recording relpath (borrowed) as the path.
 * fd is not closed. Returns the number of findings appended, or -1 with a
 * message in err if reading fails (out keeps what was found before).
 */
int secrets_scan_fd(int fd, const char *relpath, uint64_t max_bytes,
		    struct secret_findings *out, struct strbuf *err);

/*
 * Scan the regular file name, relative to the directory dirfd (AT_FDCWD
 * for the current one), reading at most SECRETS_SCAN_MAX_BYTES. relpath is
 * only recorded in findings and messages (the workspace-relative path).
 * The file is opened with O_NOFOLLOW and O_NONBLOCK: a symbolic link, a
 * fifo or any other non-regular file is refused, never followed or waited
 * on. Returns the number of findings appended, or -1 with a message in err
 * ("cannot open 'a/b': ...", "'a/b' is a symbolic link", "'a/b' is not a
 * regular file", "cannot read 'a/b': ...").
 */
int secrets_scan_file(int dirfd, const char *name, const char *relpath,
		      struct secret_findings *out, struct strbuf *err);

#endif
