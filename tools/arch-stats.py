#!/usr/bin/env python3
"""Architecture figures for runner/ (reported in HACKING.md and notes):
include circles among the modules, the longest functions, lines per file.
  python3 tools/arch-stats.py [runner-dir] [--top N]
Reads the source only; a module is a .c/.h pair named alike."""
import os
import re
import sys


def module(f):
    return re.sub(r'\.(c|h)$', '', f)


def read(path):
    with open(path, errors='replace') as fh:
        return fh.read()


PRELUDE = ('runner', 'banned')


def graph(src, files):
    g = {}
    for f in files:
        m = module(f)
        for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', read(
                os.path.join(src, f)), re.M):
            t = module(os.path.basename(inc))
            # runner.h is the prelude every .c includes first (git's
            # git-compat-util.h), not a module of its own.
            if t in PRELUDE:
                continue
            if t != m and os.path.exists(os.path.join(src, inc)):
                g.setdefault(m, set()).add(t)
    return g


def cycles(g):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def functions(src, files):
    """(lines, file, name) of every top-level function definition: a line
    starting in column 0 with name( ... and a body from { in column 0 to
    } in column 0 (the house style, checked by clang-format)."""
    out = []
    for f in files:
        if not f.endswith('.c'):
            continue
        lines = read(os.path.join(src, f)).split('\n')
        i = 0
        while i < len(lines):
            m = re.match(r'^[A-Za-z_][\w \t\*]*?\b(\w+)\(', lines[i])
            if m and not lines[i].rstrip().endswith(';'):
                j = i
                while j < len(lines) and lines[j] != '{' and \
                        not lines[j].rstrip().endswith(';'):
                    j += 1
                if j < len(lines) and lines[j] == '{':
                    k = j + 1
                    while k < len(lines) and lines[k] != '}':
                        k += 1
                    out.append((k - i + 1, f, m.group(1)))
                    i = k
            i += 1
    return sorted(out, reverse=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    top = 12
    if '--top' in sys.argv:
        top = int(sys.argv[sys.argv.index('--top') + 1])
        args = [a for a in args if a != str(top)]
    src = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'runner')
    files = sorted(f for f in os.listdir(src) if f.endswith(('.c', '.h')))
    cyc = cycles(graph(src, files))
    print('include circles among modules: %d' % len(cyc))
    for c in cyc:
        print('  ' + ' <-> '.join(c))
    print('longest functions:')
    for n, f, name in functions(src, files)[:top]:
        print('  %4d  %s:%s' % (n, f, name))
    sizes = sorted(((len(read(os.path.join(src, f)).split('\n')) - 1, f)
                    for f in files), reverse=True)
    total = sum(n for n, _ in sizes)
    print('lines: %d in %d files (largest: %s)' % (total, len(files), ', '.join(
        '%s %d' % (f, n) for n, f in sizes[:6])))


main()
