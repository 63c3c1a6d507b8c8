#!/usr/bin/env python3
"""Compiles every C++ code block of README.md and docs/**/*.md, so the docs
cannot drift from the code.

Each ```cpp block is compiled on its own (-fsyntax-only) against the build's
headers. By default a block must be a complete translation unit. A block that
is not says so in an HTML comment (invisible when rendered) on the line right
above its opening fence:

  <!-- doc-code: declarations -->     namespace-scope code (types, functions)
  <!-- doc-code: statements -->       the body of a function
  <!-- doc-code: statements(respool::Pool<MyAdapter>& pool) -->
                                      ... of a function with these parameters
  <!-- doc-code: needs(kv_connection my_adapter) -->
                                      placeholders from tests/docs/prelude.hpp
  <!-- doc-code: file(name.hpp) -->   also saved as name.hpp, for other blocks
                                      to #include "name.hpp"
  <!-- doc-code: fails "text" -->     must NOT compile, and the compiler's
                                      message must contain "text"
  <!-- doc-code: skip: why -->        not C++ to compile (a signature list,
                                      pseudo-code); the reason is required

Parts combine with ';': `<!-- doc-code: declarations; needs(my_adapter) -->`.
`declarations` and `statements` blocks are compiled after
tests/docs/prelude.hpp: the core's public headers, doctest and
`using namespace std::chrono_literals`. The placeholder names the docs use for
the reader's own code (`MyAdapter`, `KvConnection`, `handle_request`, ...) are
sections of the prelude that a block asks for with `needs(...)`, so a block
that defines its own `MyAdapter` does not clash with the placeholder.
`#include` lines of a wrapped block are moved above the wrapper.

Usage: check_doc_code.py --root SRC [--jobs N] -- COMPILER ARGS...
Prints one line per block and a summary; exits 1 if any block fails.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r'^\s*<!--\s*doc-code:\s*(.*?)\s*(-->)?\s*$')


class Block:
    def __init__(self, path, line, code, marker):
        self.path, self.line, self.code, self.marker = path, line, code, marker
        self.kind, self.params, self.fails, self.skip = 'unit', '', None, None
        self.needs, self.file = [], None
        self.error = None
        self.parse_marker()

    def where(self):
        return f'{self.path}:{self.line}'

    def parse_marker(self):
        m = self.marker
        if m is None:
            return
        if m.startswith('skip'):
            reason = m[len('skip'):].lstrip(':').strip()
            if not reason:
                self.error = 'a skipped block must say why: <!-- doc-code: skip: reason -->'
            self.skip = reason
            return
        for part in [p.strip() for p in m.split(';') if p.strip()]:
            fm = re.fullmatch(r'fails\s+"(.+)"', part)
            sm = re.fullmatch(r'statements(?:\((.*)\))?', part)
            nm = re.fullmatch(r'needs\(([\w\s]*)\)', part)
            hm = re.fullmatch(r'file\(([\w.-]+)\)', part)
            if fm:
                self.fails = fm.group(1)
            elif nm:
                self.needs = nm.group(1).split()
            elif hm:
                self.file = hm.group(1)
            elif part == 'declarations':
                self.kind = 'declarations'
            elif sm:
                self.kind, self.params = 'statements', sm.group(1) or ''
            elif part == 'unit':
                self.kind = 'unit'
            else:
                self.error = f'unknown doc-code marker "{part}"'

    def source(self, prelude):
        line = f'#line {self.line} "{self.path}"\n'
        if self.kind == 'unit':
            return line + self.code + '\n'
        needs = ''.join(f'#define DOC_NEEDS_{n.upper()} 1\n' for n in self.needs)
        includes = [l for l in self.code.split('\n') if l.lstrip().startswith('#include')]
        body = '\n'.join('' if l.lstrip().startswith('#include') else l for l in self.code.split('\n'))
        head = '\n'.join(includes)
        text = f'{needs}#include "{prelude}"\n{head}\n'
        if self.kind == 'declarations':
            return text + line + body + '\n'
        return (text + f'[[maybe_unused]] static void doc_code_block({self.params})\n{{\n'
                + line + body + '\n}\n')


def blocks_of(root, rel):
    lines = open(os.path.join(root, rel), encoding='utf-8').read().split('\n')
    out, i = [], 0
    while i < len(lines):
        fence = re.match(r'^(\s*)```\s*(c\+\+|cpp)\s*$', lines[i])
        if not fence:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith('```'):
            j += 1
        marker = None
        k = i - 1
        # The marker is the nearest non-blank line above the fence, if it is one
        # (a multi-line comment is read from its first line).
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and lines[k].strip().endswith('-->'):
            start = k
            while start >= 0 and '<!--' not in lines[start]:
                start -= 1
            m = MARKER.match(' '.join(l.strip() for l in lines[start:k + 1]))
            if m:
                marker = m.group(1).removesuffix('-->').strip()
        indent = len(fence.group(1))
        code = '\n'.join(l[indent:] if l[:indent].isspace() else l for l in lines[i + 1:j])
        out.append(Block(rel, i + 2, code, marker))
        i = j + 1
    return out


def compile_block(block, compiler, prelude, tmp):
    if block.error:
        return False, block.error
    if block.skip is not None:
        return True, f'skipped: {block.skip}'
    src = os.path.join(tmp, re.sub(r'[^A-Za-z0-9]', '_', block.where()) + '.cpp')
    with open(src, 'w', encoding='utf-8') as f:
        f.write(block.source(prelude))
    r = subprocess.run(compiler + ['-fsyntax-only', '-I', tmp, src], capture_output=True, text=True)
    diagnostics = (r.stdout + r.stderr).strip()
    if block.fails is not None:
        if r.returncode == 0:
            return False, f'expected a compile error containing "{block.fails}", but it compiled'
        if block.fails not in diagnostics:
            return False, f'failed, but without "{block.fails}":\n{diagnostics}'
        return True, 'fails as documented'
    if r.returncode != 0:
        return False, diagnostics
    return True, 'compiles'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--only', default='', help='compile only blocks whose file:line contains this')
    ap.add_argument('compiler', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    compiler = [c for c in a.compiler if c != '--']
    docs = ['README.md'] + sorted(
        os.path.relpath(os.path.join(d, f), a.root)
        for d, _, fs in os.walk(os.path.join(a.root, 'docs')) for f in fs if f.endswith('.md'))
    blocks = [b for rel in docs for b in blocks_of(a.root, rel)]
    named = [b for b in blocks if b.file]
    blocks = [b for b in blocks if a.only in b.where()]
    prelude = os.path.abspath(os.path.join(a.root, 'tests', 'docs', 'prelude.hpp'))
    start = time.monotonic()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        for b in named:
            with open(os.path.join(tmp, b.file), 'w', encoding='utf-8') as f:
                f.write(f'#line {b.line} "{b.path}"\n{b.code}\n')
        results = list(pool.map(lambda b: compile_block(b, compiler, prelude, tmp), blocks))
    skipped = 0
    for b, (ok, text) in zip(blocks, results):
        if ok:
            skipped += b.skip is not None
            print(f'ok   {b.where()} ({b.kind}): {text}')
        else:
            failed += 1
            print(f'FAIL {b.where()} ({b.kind}): {text}')
    print(f'doc code blocks: {len(blocks) - failed - skipped} of {len(blocks)} compiled as documented, '
          f'{skipped} marked not-code, {failed} failed ({time.monotonic() - start:.1f} s)')
    return 1 if failed or not blocks else 0


if __name__ == '__main__':
    sys.exit(main())
