// Drive the official E2B JavaScript SDK (the npm package `e2b`) against
// tests/e2b-server/server.py, so that the stand-in is checked against the
// client E2B itself ships: if the SDK cannot do something against it, the
// stand-in differs from the real service there.
//
//   E2B_API_URL=http://127.0.0.1:PORT E2B_SANDBOX_URL=http://127.0.0.1:PORT \
//   E2B_API_KEY=e2b_... node sdk-check.mjs [SDK_DIR]
//
// SDK_DIR (or $E2B_SDK_DIR) is the installed package's folder, by default
// /usr/lib/node_modules/e2b (tools/deps.sh puts it there). E2B_API_URL and
// E2B_SANDBOX_URL are the SDK's own overrides (plain http is fine for
// both; E2B_SANDBOX_URL sends every envd request there with the
// E2b-Sandbox-Id header, which is how the server tells sandboxes apart).
//
// Prints one line per call, "ok - NAME" or "not ok - NAME: why", then
// "sdk-check: N passed, N failed"; exits 1 if any failed. Every sandbox it
// made is killed at the end, whatever happened.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2] || process.env.E2B_SDK_DIR ||
	'/usr/lib/node_modules/e2b';
const sdk = await import(pathToFileURL(join(dir, 'dist', 'index.mjs')).href);
const { Sandbox, CommandExitError } = sdk;

let passed = 0, failed = 0;
const made = new Set();

function fail(name, why) {
	failed++;
	console.log(`not ok - ${name}: ${String(why).split('\n')[0]}`);
	return false;
}

async function check(name, fn) {
	try {
		const r = await fn();
		if (r !== undefined && r !== true)
			return fail(name, r);
		passed++;
		console.log(`ok - ${name}`);
		return true;
	} catch (e) {
		return fail(name, `${e && e.name}: ${e && e.message}`);
	}
}

function eq(got, want, what) {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	return g === w ? true : `${what}: got ${g}, want ${w}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Metadata values with the characters that need the API's URL decoding:
// space, &, =, +, %, / and a non-ASCII letter.
const suite = `sdk check ${process.pid} &=+%/ü`;
let sbx;

await check('Sandbox.create with metadata', async () => {
	sbx = await Sandbox.create('base', {
		metadata: { suite, role: 'main' },
		timeoutMs: 120_000,
	});
	made.add(sbx.sandboxId);
	const info = await Sandbox.getInfo(sbx.sandboxId);
	return eq(info.metadata, { suite, role: 'main' }, 'metadata');
});
if (!sbx) {
	console.log(`sdk-check: ${passed} passed, ${failed + 1} failed`);
	process.exit(1);
}

await check('commands.run as root', async () => {
	const r = await sbx.commands.run('echo "$USER $HOME"; pwd; echo err >&2',
		{ user: 'root' });
	return eq([r.exitCode, r.stdout, r.stderr],
		[0, 'root /root\n/root\n', 'err\n'], 'result');
});

await check('commands.run as the default user', async () => {
	const r = await sbx.commands.run('echo "$USER $HOME"; pwd');
	return eq(r.stdout, 'user /home/user\n/home/user\n', 'stdout');
});

await check('commands.run with envs and cwd', async () => {
	const r = await sbx.commands.run('echo "$GREETING from $(pwd)"',
		{ envs: { GREETING: 'hi' }, cwd: '/tmp' });
	return eq(r.stdout, 'hi from /tmp\n', 'stdout');
});

await check('commands.run exit code (CommandExitError)', async () => {
	try {
		await sbx.commands.run('echo out; exit 3');
	} catch (e) {
		if (!(e instanceof CommandExitError))
			throw e;
		return eq([e.exitCode, e.stdout], [3, 'out\n'], 'error');
	}
	return 'a non-zero exit did not throw';
});

await check('files.write text (multipart), files.read', async () => {
	const w = await sbx.files.write('notes/a.txt', 'hello from the sdk\n');
	const got = await sbx.files.read('/home/user/notes/a.txt');
	const r = await sbx.commands.run('cat notes/a.txt');
	return eq([w.path, got, r.stdout], ['/home/user/notes/a.txt',
		'hello from the sdk\n', 'hello from the sdk\n'], 'file');
});

await check('files.write 1 MiB binary (octet-stream), read as bytes', async () => {
	const data = new Uint8Array(1 << 20);
	for (let i = 0; i < data.length; i++)
		data[i] = (i * 7 + (i >> 9)) & 0xff;
	await sbx.files.write('/tmp/blob.bin', data, { useOctetStream: true });
	const got = await sbx.files.read('/tmp/blob.bin', { format: 'bytes' });
	if (got.length !== data.length)
		return `read ${got.length} bytes, wrote ${data.length}`;
	for (let i = 0; i < data.length; i++)
		if (got[i] !== data[i])
			return `byte ${i} differs`;
	return true;
});

await check('files.write several files at once, as root', async () => {
	await sbx.files.write([
		{ path: '/root/one.txt', data: 'one\n' },
		{ path: '/root/two/two.txt', data: 'two\n' },
	], { user: 'root' });
	const r = await sbx.commands.run('cat one.txt two/two.txt',
		{ user: 'root' });
	return eq(r.stdout, 'one\ntwo\n', 'stdout');
});

let bg, seen = '';
await check('commands.run in the background', async () => {
	bg = await sbx.commands.run(
		'echo started; while :; do sleep 0.2; echo tick; done',
		{ background: true, onStdout: (d) => { seen += d; } });
	for (let i = 0; i < 50 && !seen.includes('started'); i++)
		await sleep(100);
	if (typeof bg.pid !== 'number' || !(bg.pid > 0))
		return `pid ${bg.pid}`;
	return seen.startsWith('started\n') ? true : `output ${JSON.stringify(seen)}`;
});

await check('commands.list shows it', async () => {
	const ps = await sbx.commands.list();
	return ps.some((p) => p.pid === bg.pid) ? true :
		`pid ${bg.pid} not in ${JSON.stringify(ps.map((p) => p.pid))}`;
});

let again, seen2 = '';
await check('commands.connect(pid)', async () => {
	await bg.disconnect();
	again = await sbx.commands.connect(bg.pid,
		{ onStdout: (d) => { seen2 += d; } });
	for (let i = 0; i < 50 && !seen2.includes('tick'); i++)
		await sleep(100);
	return eq([again.pid, seen2.includes('tick')], [bg.pid, true],
		'connect');
});

await check('commands.kill(pid), then wait() sees the kill', async () => {
	const killed = await sbx.commands.kill(bg.pid);
	if (killed !== true)
		return `kill answered ${killed}`;
	try {
		await again.wait();
	} catch (e) {
		if (!(e instanceof CommandExitError))
			throw e;
		return eq([e.exitCode, e.error], [-1, 'signal: killed'], 'end');
	}
	return 'wait() did not throw';
});

await check('a process that ended is forgotten (kill and connect: not found)', async () => {
	const r = await sbx.commands.kill(bg.pid);
	if (r !== false)
		return `kill answered ${r}`;
	try {
		await sbx.commands.connect(bg.pid);
	} catch (e) {
		return e.name === 'NotFoundError' || /not.?found/i.test(e.message)
			? true : `${e.name}: ${e.message}`;
	}
	return 'connect to an ended process succeeded';
});

await check('Sandbox.list by metadata, paginated', async () => {
	for (const role of ['extra-1', 'extra-2']) {
		const s = await Sandbox.create('base',
			{ metadata: { suite, role }, timeoutMs: 60_000 });
		made.add(s.sandboxId);
	}
	const other = await Sandbox.create('base',
		{ metadata: { suite: suite + 'x', role: 'other' }, timeoutMs: 60_000 });
	made.add(other.sandboxId);
	const pager = Sandbox.list({ query: { metadata: { suite } }, limit: 2 });
	const pages = [];
	while (pager.hasNext)
		pages.push(await pager.nextItems());
	const roles = pages.flat().map((s) => s.metadata.role).sort();
	return eq([pages.map((p) => p.length), roles],
		[[2, 1], ['extra-1', 'extra-2', 'main']], 'pages');
});

await check('setTimeout moves the end, shorter or longer', async () => {
	const t0 = Date.now();
	await sbx.setTimeout(600_000);
	const a = (await sbx.getInfo()).endAt.getTime() - t0;
	await sbx.setTimeout(90_000);
	const b = (await sbx.getInfo()).endAt.getTime() - t0;
	return Math.abs(a - 600_000) < 5000 && Math.abs(b - 90_000) < 5000
		? true : `end moved by ${a} ms, then ${b} ms`;
});

await check('Sandbox.kill, then it is gone', async () => {
	const first = await Sandbox.kill(sbx.sandboxId);
	const second = await Sandbox.kill(sbx.sandboxId);
	const running = await sbx.isRunning();
	made.delete(sbx.sandboxId);
	return eq([first, second, running], [true, false, false], 'kill');
});

for (const id of made)
	await Sandbox.kill(id).catch(() => {});
console.log(`sdk-check: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
