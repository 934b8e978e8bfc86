#!/bin/sh
# The workspace secret scanner end to end, through secrets-tool: generated
# trees and files, every rule, binary detection by content, paths, line
# numbers with CRLF, links, the 4 MiB cap, and a 50 MB file in bounded
# memory.
. "$(dirname "$0")/lib.sh"

ST="$RUNNER_BUILD/tests/secrets-tool"

# Fake credentials, assembled at run time so that this script holds none.
A=AKIA
AWS_ID="${A}IOSFODNN7EXAMPLE"
AWS_SK="wJalrXUtnFEMI/K7MDENG/""bPxRfiCYEXAMPLEKEY"
GH="ghp_""u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"
PAT="github_pat_""IBXuDL7DxtpYlSXpfKtHF4_vUCsMehGAkWvj7FAc9QeWJKY40"
PAT="${PAT}uvSwMFLZDe1f8rESQedUStPKR0CsTy4Qw"
GL="glpat-""b8DwkNhFdnXsiVpzz63F"
SLACK="xoxb-""123456789012-1234567890123-aBcD"
HOOK="https://hooks.slack.com/services/""T0ABCDEF1/B0ABCDEF2/6PwZPf1Qh6yY"
PK="-----BEGIN"" RSA PRIVATE KEY-----"
JWT="eyJ""hbGciOiJIUzI1NiJ9.eyJ""zdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fw"
ANT="sk-ant-""api03-fkCzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIx"
OAI="sk-proj-""NKu8iS2G8NPRVdD53X83RZJzzzzgEOzdmenCkhvMd"
PW="Xk9mP2vL""5qR8wZtB"

test_expect_success 'a clean tree: no output, exit 0' '
	mkdir -p ws/src &&
	printf "hello\n" >ws/README.md &&
	printf "x = 1\npassword = \"\"\n" >ws/src/main.py &&
	"$ST" scan ws >out &&
	test_must_fail test -s out
'

# all.txt: one positive line for every rule, after a comment line.
make_all() {
	{
		echo "# credentials" &&
		echo "id = $AWS_ID" &&
		echo "aws_secret_access_key = $AWS_SK" &&
		echo "token $GH" &&
		echo "pat $PAT" &&
		echo "gl $GL" &&
		echo "slack $SLACK" &&
		echo "hook: $HOOK" &&
		echo "$PK" &&
		echo "Authorization: Bearer $JWT" &&
		echo "key $ANT" &&
		echo "key $OAI" &&
		echo "password = \"$PW\""
	} >all.txt
}

test_expect_success 'every rule, one a line, named with its line' '
	make_all &&
	test_expect_code 1 "$ST" scan all.txt >out &&
	cat >expect <<-\EOF &&
	all.txt:2: aws-access-key-id
	all.txt:3: aws-secret-access-key
	all.txt:4: github-token
	all.txt:5: github-token
	all.txt:6: gitlab-token
	all.txt:7: slack-token
	all.txt:8: slack-token
	all.txt:9: private-key
	all.txt:10: jwt
	all.txt:11: anthropic-api-key
	all.txt:12: openai-api-key
	all.txt:13: generic-secret-assignment
	EOF
	test_cmp expect out &&
	test_expect_code 1 "$ST" scan --buffer all.txt >out2 &&
	test_cmp expect out2
'

test_expect_success 'findings never contain the secret' '
	make_all &&
	test_expect_code 1 "$ST" scan all.txt >out 2>err &&
	for s in "$AWS_ID" "$AWS_SK" "$GH" "$PAT" "$GL" "$SLACK" "$HOOK" \
		"$JWT" "$ANT" "$OAI" "$PW"; do
		! grep -F -e "$s" out err ||
		{ echo "secret leaked" >&2; false; } || return 1
	done
'

test_expect_success 'near misses are not reported' '
	{
		echo "id = ${A}IOSFODNN7EXAMPL" &&
		echo "id = x$AWS_ID" &&
		echo "id = ${AWS_ID}Z" &&
		echo "token ${GH}x" &&
		echo "token my$GH" &&
		echo "gl glpat-""b8DwkNhFdnXsiVpzz63" &&
		echo "-----BEGIN"" PUBLIC KEY-----" &&
		echo "key sk-ant-""fkCzJr4i0B3JrTAwR4y" &&
		echo "class=\"sk-""button-primary-large-variant\"" &&
		echo "see the high-risk-""assessment-2024-and-more" &&
		echo "password = \"\"" &&
		echo "password: \${DB_PASSWORD}" &&
		echo "password=aaaaaaaaaaaaaaa" &&
		echo "password = \"changeme-Xk9mP2\"" &&
		echo "api_key = \"<your-api-key-1>\"" &&
		echo "max_tokens = \"$PW\""
	} >near.txt &&
	"$ST" scan near.txt >out &&
	test_must_fail test -s out
'

test_expect_success 'a tree: nested paths, CRLF lines, binary by content' '
	mkdir -p ws/src/app/conf ws/empty &&
	printf "a: 1\nb: 2\ngh: $GH\n" >ws/src/app/conf/settings.yml &&
	printf "one\r\ntwo\r\n\r\nkey $ANT\r\nfive\r\n" >ws/crlf.txt &&
	printf "text, not binary\nid $AWS_ID\n" >ws/x.bin &&
	printf "\177ELF\000\001id $AWS_ID\n" >ws/blob.dat &&
	printf "\000" >ws/nul-only &&
	: >ws/empty.txt &&
	(cd ws && test_expect_code 1 "$ST" scan .) >out &&
	cat >expect <<-\EOF &&
	crlf.txt:4: anthropic-api-key
	src/app/conf/settings.yml:3: github-token
	x.bin:2: aws-access-key-id
	EOF
	test_cmp expect out &&
	test_expect_code 1 "$ST" scan ws/ >out &&
	sed "s|^|ws/|" expect >expect.ws &&
	test_cmp expect.ws out &&
	test_expect_code 1 "$ST" scan ws/src/app/conf/settings.yml >out &&
	echo "ws/src/app/conf/settings.yml:3: github-token" >expect &&
	test_cmp expect out
'

test_expect_success 'a file with a NUL byte and a key is skipped' '
	printf "id $AWS_ID\n\000\n" >nul.txt &&
	"$ST" scan nul.txt >out &&
	test_must_fail test -s out &&
	"$ST" scan --buffer nul.txt >out &&
	test_must_fail test -s out
'

test_expect_success 'links are never followed' '
	mkdir -p out-of-tree ws &&
	echo "id $AWS_ID" >out-of-tree/secret.txt &&
	ln -s ../out-of-tree/secret.txt ws/link.txt &&
	ln -s ../out-of-tree ws/linkdir &&
	"$ST" scan ws >out &&
	test_must_fail test -s out &&
	test_expect_code 2 "$ST" scan ws/link.txt >out 2>err &&
	test_grep "is a symbolic link" err &&
	test_must_fail test -s out
'

test_expect_success 'a fifo is refused, not waited on' '
	mkfifo pipe &&
	test_expect_code 2 "$ST" scan pipe 2>err &&
	test_grep "'"'"'pipe'"'"' is not a regular file" err
'

test_expect_success 'an error does not stop the others' '
	echo "id $AWS_ID" >ok.txt &&
	test_expect_code 2 "$ST" scan missing.txt ok.txt >out 2>err &&
	test_grep "cannot open '"'"'missing.txt'"'"'" err &&
	echo "ok.txt:1: aws-access-key-id" >expect &&
	test_cmp expect out
'

test_expect_success 'only the first 4 MiB of a file are scanned' '
	{
		echo "id $AWS_ID" &&
		yes "lorem ipsum dolor sit amet, they asked: x = 1" |
			head -n 100000 &&
		echo "token $GH"
	} >big.txt &&
	test $(wc -c <big.txt) -gt 4194304 &&
	test_expect_code 1 "$ST" scan big.txt >out &&
	echo "big.txt:1: aws-access-key-id" >expect &&
	test_cmp expect out &&
	test_expect_code 1 "$ST" scan --max-bytes 0 big.txt >out &&
	echo "big.txt:100002: github-token" >>expect &&
	test_cmp expect out
'

test_expect_success 'a 1 MB line: keys in it and after it are found' '
	{
		printf "start " &&
		yes "lorem ipsum dolor sit amet, " | head -n 20000 |
			tr -d "\n" &&
		printf " $AWS_ID " &&
		yes "consectetur adipiscing elit, " | head -n 20000 |
			tr -d "\n" &&
		printf "\r\n$PK\n"
	} >long.txt &&
	test_expect_code 1 "$ST" scan long.txt >out &&
	cat >expect <<-\EOF &&
	long.txt:1: aws-access-key-id
	long.txt:2: private-key
	EOF
	test_cmp expect out
'

test_expect_success 'a 50 MB file in bounded memory' '
	{
		echo "id $AWS_ID" &&
		yes "lorem ipsum dolor sit amet, they asked: x = 1" |
			head -n 1100000 &&
		echo "token $GH"
	} >50mb.txt &&
	echo "id $AWS_ID" >small.txt &&
	test_expect_code 1 "$ST" scan --max-bytes 0 --stats small.txt \
		>/dev/null 2>small.stats &&
	test_expect_code 1 "$ST" scan --max-bytes 0 --stats 50mb.txt \
		>out 2>big.stats &&
	cat >expect <<-\EOF &&
	50mb.txt:1: aws-access-key-id
	50mb.txt:1100002: github-token
	EOF
	test_cmp expect out &&
	small=$(sed -n "s/.*vmhwm_kb=\([0-9]*\).*/\1/p" small.stats) &&
	big=$(sed -n "s/.*vmhwm_kb=\([0-9]*\).*/\1/p" big.stats) &&
	cat big.stats &&
	test "$big" -lt $((small + 4096))
'

test_done
