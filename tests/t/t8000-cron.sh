#!/bin/sh
# Cron schedules (runner/cron.c) through build/tests/cron-tool, and
# `runner next` on the plans in tests/fixtures/cron/.
#
# Expected fire times were worked out by hand; the oracles used are GNU
# date (TZ=ZONE date -d @SECONDS), for the time zone conversion, and, when
# python3 has zoneinfo, a brute-force minute-by-minute reference of the
# same DST rules on seeded random schedules around real DST transitions.
. "$(dirname "$0")/lib.sh"

CRON_TOOL="$RUNNER_BUILD/tests/cron-tool"
CRON_FIX="$FIXTURES/cron"
export CRON_TOOL CRON_FIX

# check_next EXPR TZ FROM: the next fire times, one a line, must be the
# lines on stdin (as many as there are).
check_next() {
	cat >expect &&
	"$CRON_TOOL" next "$1" "$2" "$3" "$(wc -l <expect)" >actual &&
	test_cmp expect actual
}

test_expect_success 'parse errors name the column of the bad token' '
	while IFS="|" read -r expr msg; do
		case $msg in
		OK) code=0 ;;
		*) code=1 ;;
		esac &&
		test_expect_code $code "$CRON_TOOL" parse "$expr" >actual &&
		echo "$msg" >expect &&
		test_cmp expect actual || return 1
	done <<-\EOF
	0 2 * * 1-5|OK
	@Weekly|OK
	0 x * * *|3: hour: bad number '"'"'x'"'"'
	60 * * * *|1: minute: 60 is out of range 0-59
	0 0 * BOGUS *|7: month: unknown name '"'"'BOGUS'"'"' (use JAN-DEC or 1-12)
	0 0 * * 1,,5|11: day-of-week: empty list element
	0 0 * *|8: missing day-of-week field (expected 5 fields: minute hour day-of-month month day-of-week)
	0 0 * * * *|11: too many fields: a schedule has 5 (minute hour day-of-month month day-of-week), no seconds and no command
	*/0 * * * *|3: minute: step 0 (a step is at least 1)
	5-1 * * * *|1: minute: range 5-1 is reversed (write it from low to high)
	@often|1: unknown macro '"'"'@often'"'"' (use @yearly, @monthly, @weekly, @daily or @hourly)
	EOF
'

test_expect_success 'a parse error exits 1' '
	test_expect_code 1 "$CRON_TOOL" parse "61 * * * *" >out &&
	test_grep "^1: minute: 61 is out of range" out
'

test_expect_success 'names, ranges, steps and 7 as Sunday become bitsets' '
	"$CRON_TOOL" dump "0,30 9-17/4 */10 jan-MAR/2 fri-7" >actual &&
	cat >expect <<-\EOF &&
	minute: 0,30
	hour: 9,13,17
	dom: 1,11,21,31
	month: 1,3
	dow: 0,5,6
	flags: DOM_STAR
	EOF
	test_cmp expect actual
'

test_expect_success 'Europe/Berlin spring forward: fixed times once at 03:00' '
	check_next "30 2 * * *" Europe/Berlin 2026-03-28T12:00Z <<-\EOF &&
	2026-03-29T03:00:00+02:00
	2026-03-30T02:30:00+02:00
	EOF
	check_next "0 2 * * *" Europe/Berlin 2026-03-28T12:00Z <<-\EOF
	2026-03-29T03:00:00+02:00
	2026-03-30T02:00:00+02:00
	EOF
'

test_expect_success 'Europe/Berlin spring forward: wildcards skip the gap' '
	check_next "*/15 * * * *" Europe/Berlin 2026-03-29T01:40+01:00 <<-\EOF
	2026-03-29T01:45:00+01:00
	2026-03-29T03:00:00+02:00
	2026-03-29T03:15:00+02:00
	EOF
'

test_expect_success 'Europe/Berlin fall back: fixed once, wildcards twice' '
	check_next "30 2 * * *" Europe/Berlin 2026-10-24T12:00Z <<-\EOF &&
	2026-10-25T02:30:00+02:00
	2026-10-26T02:30:00+01:00
	EOF
	check_next "*/30 * * * *" Europe/Berlin 2026-10-25T01:50+02:00 <<-\EOF
	2026-10-25T02:00:00+02:00
	2026-10-25T02:30:00+02:00
	2026-10-25T02:00:00+01:00
	2026-10-25T02:30:00+01:00
	2026-10-25T03:00:00+01:00
	EOF
'

test_expect_success 'America/New_York, 2026-03-08 and 2026-11-01' '
	check_next "30 2 * * *" America/New_York 2026-03-07T12:00Z <<-\EOF &&
	2026-03-08T03:00:00-04:00
	2026-03-09T02:30:00-04:00
	EOF
	check_next "@hourly" America/New_York 2026-03-08T00:30-05:00 <<-\EOF &&
	2026-03-08T01:00:00-05:00
	2026-03-08T03:00:00-04:00
	EOF
	check_next "30 1 * * *" America/New_York 2026-10-31T12:00Z <<-\EOF &&
	2026-11-01T01:30:00-04:00
	2026-11-02T01:30:00-05:00
	EOF
	check_next "@hourly" America/New_York 2026-11-01T00:30-04:00 <<-\EOF
	2026-11-01T01:00:00-04:00
	2026-11-01T01:00:00-05:00
	2026-11-01T02:00:00-05:00
	EOF
'

test_expect_success 'the 31st skips short months; leap days' '
	check_next "0 0 31 * *" UTC 2026-01-31T00:00Z <<-\EOF &&
	2026-03-31T00:00:00+00:00
	2026-05-31T00:00:00+00:00
	2026-07-31T00:00:00+00:00
	2026-08-31T00:00:00+00:00
	EOF
	check_next "0 0 29 2 *" UTC 2026-01-01T00:00Z <<-\EOF
	2028-02-29T00:00:00+00:00
	2032-02-29T00:00:00+00:00
	EOF
'

test_expect_success 'day-of-month OR day-of-week; a star field makes it AND' '
	check_next "0 0 13 * FRI" UTC 2026-04-01T00:00Z <<-\EOF &&
	2026-04-03T00:00:00+00:00
	2026-04-10T00:00:00+00:00
	2026-04-13T00:00:00+00:00
	2026-04-17T00:00:00+00:00
	EOF
	check_next "0 0 */2 * mon" UTC 2026-01-01T00:00Z <<-\EOF
	2026-01-05T00:00:00+00:00
	2026-01-19T00:00:00+00:00
	2026-02-09T00:00:00+00:00
	EOF
'

test_expect_success 'macros' '
	for m in @yearly @annually @monthly @weekly @daily @midnight @hourly
	do
		"$CRON_TOOL" next $m Europe/Berlin 2026-03-28T22:30Z 1 ||
			exit 1
	done >actual &&
	cat >expect <<-\EOF &&
	2027-01-01T00:00:00+01:00
	2027-01-01T00:00:00+01:00
	2026-04-01T00:00:00+02:00
	2026-03-29T00:00:00+01:00
	2026-03-29T00:00:00+01:00
	2026-03-29T00:00:00+01:00
	2026-03-29T00:00:00+01:00
	EOF
	test_cmp expect actual
'

test_expect_success 'impossible dates never fire, and say so at once' '
	for e in "0 0 31 2 *" "0 0 30 2 *" "0 0 31 4,6,9,11 *"; do
		test_expect_code 1 "$CRON_TOOL" next "$e" UTC @0 1 2>err &&
		test_grep "never fires" err || exit 1
	done
'

test_expect_success 'time zone names are checked' '
	test_expect_code 1 "$CRON_TOOL" next @daily Mars/Olympus @0 1 2>err &&
	test_grep "unknown time zone .Mars/Olympus." err &&
	test_expect_code 1 "$CRON_TOOL" next @daily ../../etc/passwd @0 1 \
		2>err &&
	test_grep "invalid time zone name" err &&
	TZDIR=/nonexistent "$CRON_TOOL" next @daily UTC @0 1 >out &&
	test_grep "^1970-01-02T00:00:00+00:00$" out
'

# Every 20 minutes across both 2026 Berlin and New York transitions, the
# ISO 8601 formatting must be GNU date's.
test_expect_success 'formatting agrees with GNU date around DST changes' '
	for zone_start in Europe/Berlin:1774738800 Europe/Berlin:1792879200 \
		America/New_York:1772942400 America/New_York:1793502000; do
		zone=${zone_start%%:*} &&
		t=${zone_start#*:} &&
		end=$((t + 4 * 3600)) &&
		while [ $t -lt $end ]; do
			"$CRON_TOOL" format $zone @$t &&
			TZ=$zone date -d @$t +%FT%T%:z >&2 &&
			t=$((t + 1200)) || return 1
		done || return 1
	done >actual 2>expect &&
	test_cmp expect actual
'

test_expect_success ZONEINFO 'random schedules agree with a brute force' '
	cat >ref.py <<-\EOF &&
	import random, subprocess, sys
	from datetime import datetime, timedelta, timezone
	from zoneinfo import ZoneInfo

	def field(s, lo, hi):
	    out = set()
	    for el in s.split(","):
	        step = 1
	        if "/" in el:
	            el, st = el.split("/")
	            step = int(st)
	        if el == "*":
	            a, b = lo, hi
	        elif "-" in el:
	            a, b = map(int, el.split("-"))
	        else:
	            a = b = int(el)
	        out.update(range(a, b + 1, step))
	    return out

	def parse(e):
	    f = e.split()
	    dow = field(f[4], 0, 7)
	    if 7 in dow:
	        dow.add(0)
	    return (field(f[0], 0, 59), field(f[1], 0, 23), field(f[2], 1, 31),
	            field(f[3], 1, 12), dow, f[2][0] == "*" or f[4][0] == "*",
	            f[0][0] == "*" or f[1][0] == "*")

	def match(c, d):
	    mi, hr, dom, mon, dow, star, _ = c
	    if d.minute not in mi or d.hour not in hr or d.month not in mon:
	        return False
	    a, b = d.day in dom, (d.weekday() + 1) % 7 in dow
	    return (a and b) if star else (a or b)

	def nxt(c, tz, after):
	    # Minute by minute; fixed-time schedules fire on the first
	    # occurrence (fold 0) and once at the end of a gap they fell in.
	    wild = c[6]
	    t = (after // 60 + 1) * 60
	    prev = datetime.fromtimestamp(t - 60, tz)
	    for _ in range(60 * 24 * 40):
	        d = datetime.fromtimestamp(t, tz)
	        if not wild and d.utcoffset() > prev.utcoffset():
	            w = (prev + timedelta(minutes=1)).replace(tzinfo=None)
	            while w < d.replace(tzinfo=None):
	                if match(c, w):
	                    return t
	                w += timedelta(minutes=1)
	        if match(c, d.replace(tzinfo=None)) and (wild or d.fold == 0):
	            return t
	        prev = d
	        t += 60
	    return None

	random.seed(8000)
	zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	         "Europe/Dublin", "America/Nuuk", "Pacific/Chatham"]
	bad = n = 0
	for i in range(int(sys.argv[2])):
	    z = random.choice(zones)
	    tz = ZoneInfo(z)
	    y = random.choice([2026, 2027, 2041])
	    t0 = int(datetime(y, 1, 1, tzinfo=timezone.utc).timestamp())
	    def off(t):
	        return datetime.fromtimestamp(t, tz).utcoffset()
	    trans = [t0 + h * 3600 for h in range(366 * 24)
	             if off(t0 + h * 3600) != off(t0 + h * 3600 - 3600)]
	    T = random.choice(trans)
	    after = T + random.randint(-4 * 3600, 2 * 3600)
	    lh = datetime.fromtimestamp(T - 60, tz).hour
	    e = " ".join([
	        random.choice(["0", "30", "*/15", "*", "59", "0,45", "10-20"]),
	        random.choice([str(lh), str((lh + 1) % 24), "*", "*/2",
	                       "%d-%d" % (max(0, lh - 1), min(23, lh + 1))]),
	        random.choice(["*", "*", "*/2", "1-15"]), "*",
	        random.choice(["*", "*", "0", "1-5", "7"])])
	    c = parse(e)
	    want, t = [], after
	    for k in range(4):
	        t = nxt(c, tz, t)
	        if t is None:
	            break
	        want.append(datetime.fromtimestamp(t, tz).isoformat())
	    if len(want) < 4:
	        continue
	    n += 1
	    argv = [sys.argv[1], "next", e, z, "@%d" % after, "4"]
	    got = subprocess.run(argv, capture_output=True,
	                         text=True).stdout.split()
	    if got != want:
	        bad += 1
	        print("%r %s after %d:\n  want %s\n  got  %s" %
	              (e, z, after, want, got))
	print("%d compared, %d differ" % (n, bad))
	sys.exit(1 if bad or n < 10 else 0)
	EOF
	python3 ref.py "$CRON_TOOL" 100
'

# `runner next` on fixture plans.

test_expect_success 'runner next: the plan schedule in its time zone' '
	runner next "$CRON_FIX/berlin.yaml" --from 2026-03-27T00:00Z -n 3 \
		>actual &&
	cat >expect <<-\EOF &&
	2026-03-27T02:30:00+01:00
	2026-03-28T02:30:00+01:00
	2026-03-29T03:00:00+02:00
	EOF
	test_cmp expect actual
'

test_expect_success 'runner next: --from forms and a local --from' '
	for from in 2026-10-25T00:00:00Z 2026-10-25T02:00+02:00 \
		--from=2026-10-25T00:00Z @1792886400 2026-10-25T02:00; do
		case $from in
		--from=*) runner next -n2 "$CRON_FIX/berlin.yaml" "$from" ;;
		*) runner next -n 2 --from "$from" "$CRON_FIX/berlin.yaml" ;;
		esac || exit 1
	done >actual &&
	for i in 1 2 3 4 5; do
		echo 2026-10-25T02:30:00+02:00 &&
		echo 2026-10-26T02:30:00+01:00 || return 1
	done >expect &&
	test_cmp expect actual
'

test_expect_success 'runner next: timezone defaults to UTC, N to 5' '
	runner next "$CRON_FIX/utc.yaml" --from 2026-03-27T09:00Z >actual &&
	cat >expect <<-\EOF &&
	2026-03-30T09:00:00+00:00
	2026-03-31T09:00:00+00:00
	2026-04-01T09:00:00+00:00
	2026-04-02T09:00:00+00:00
	2026-04-03T09:00:00+00:00
	EOF
	test_cmp expect actual
'

test_expect_success 'runner next: from now by default' '
	now=$(date +%s) &&
	runner next "$CRON_FIX/utc.yaml" >actual &&
	test $(wc -l <actual) -eq 5 &&
	prev=$now &&
	while read -r line; do
		t=$(date -d "$line" +%s) &&
		test "$t" -gt "$prev" &&
		prev=$t || exit 1
	done <actual
'

test_expect_success 'runner next: a plan without a schedule exits 2' '
	test_expect_code 2 runner next "$CRON_FIX/none.yaml" 2>err &&
	test_grep "plan .unscheduled. has no schedule" err
'

test_expect_success 'runner next: a schedule that never fires exits 2' '
	test_expect_code 2 runner next "$CRON_FIX/never.yaml" 2>err &&
	test_grep "never fires" err
'

test_expect_success 'runner next: bad cron and timezone are plan errors' '
	test_expect_code 2 runner next "$CRON_FIX/bad-cron.yaml" 2>err &&
	test_grep "bad-cron.yaml:[0-9]*:[0-9]*: .*out of range" err &&
	test_expect_code 2 runner next "$CRON_FIX/bad-tz.yaml" 2>err &&
	test_grep "bad-tz.yaml:[0-9]*:[0-9]*: .*Mars/Olympus" err
'

test_expect_success 'runner next: usage errors exit 2' '
	test_expect_code 2 runner next 2>err &&
	test_grep "no plan given" err &&
	for from in yesterday 2026-03-29T25:00Z 2026-02-30 ""; do
		test_expect_code 2 runner next "$CRON_FIX/utc.yaml" \
			--from "$from" 2>err &&
		test_grep "bad time" err || exit 1
	done &&
	test_expect_code 2 runner next "$CRON_FIX/utc.yaml" -n 0 2>err &&
	test_grep "bad count" err &&
	test_expect_code 2 runner next "$CRON_FIX/utc.yaml" -n 2>err &&
	test_expect_code 2 runner next "$CRON_FIX/utc.yaml" --from 2>err &&
	test_expect_code 2 runner next "$CRON_FIX/utc.yaml" --bogus 2>err &&
	test_grep "unknown option" err &&
	test_expect_code 2 runner next "$CRON_FIX/utc.yaml" x.yaml 2>err &&
	test_grep "one plan only" err
'

test_done
