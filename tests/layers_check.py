#!/usr/bin/env python3
"""ctest build.layers: the layer graph holds in the build (docs/architecture.md, "Layers").

usage: layers_check.py SOURCE_DIR BUILD_DIR

1. The graph in docs/architecture.md (the block after "<!-- layer graph -->") is the graph the
   build links (BUILD_DIR/layers/graph.txt, written by src/CMakeLists.txt from the same
   HESP_USES_<part> lists that link the hesp_<part> libraries), and it is exact: each part
   lists the parts its files include.
2. With the exact compile command of one of its own files (compile_commands.json), a part
   sees a header of another part exactly when that part is below it in the graph (the
   transitive closure: libraries link PUBLIC): every pair of parts, by __has_include.
3. A real upward include fails the build: one of report/'s own files, compiled with its
   own command plus `#include "train/trainer.h"`, stops with "No such file or directory";
   the same file without it compiles (the control).
Exit 0 when all hold, 1 naming every difference.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

src, build = sys.argv[1], sys.argv[2]
failures = []


def parse_graph(text):
    graph = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_]+):\s*(.*)", line)
        if not m:
            raise SystemExit(f"layers: cannot read graph line {line!r}")
        graph[m.group(1)] = sorted(m.group(2).split())
    return graph


# 1. The documented graph is the built one.
built = parse_graph(open(os.path.join(build, "layers", "graph.txt")).read())
doc = open(os.path.join(src, "docs", "architecture.md")).read()
m = re.search(r"<!-- layer graph -->\s*```[a-z]*\n(.*?)```", doc, re.S)
if not m:
    raise SystemExit("layers: docs/architecture.md has no block after <!-- layer graph -->")
documented = parse_graph(m.group(1))
for part in sorted(set(built) | set(documented)):
    if built.get(part) != documented.get(part):
        failures.append(f"graph: {part}: the build links {built.get(part)}, "
                        f"docs/architecture.md says {documented.get(part)}")


# The graph is exact: a part lists the parts its files include, no more, no fewer.
direct = {part: set() for part in built}
for part in built:
    for root, _, files in os.walk(os.path.join(src, "src", part)):
        for f in files:
            if not f.endswith((".h", ".cc")):
                continue
            for line in open(os.path.join(root, f), errors="replace"):
                m = re.match(r'#include "([a-z_]+)/', line)
                if m and m.group(1) != part and m.group(1) in built:
                    direct[part].add(m.group(1))
for part in sorted(built):
    if direct[part] != set(built[part]):
        failures.append(f"graph: {part} lists {built[part]} but its files include "
                        f"{sorted(direct[part])}")


def closure(part):
    seen, todo = set(), [part]
    while todo:
        for used in built.get(todo.pop(), []):
            if used not in seen:
                seen.add(used)
                todo.append(used)
    return seen


# One compile command per part (a file of src/<part>/), and one header per part.
entries = json.load(open(os.path.join(build, "compile_commands.json")))
command = {}
for e in entries:
    rel = os.path.relpath(os.path.realpath(e["file"]), os.path.realpath(src))
    parts = rel.split(os.sep)
    if parts[0] == "src" and len(parts) > 2 and parts[1] in built and parts[1] not in command:
        command[parts[1]] = (e, rel)
header = {}
for part in built:
    hs = sorted(f for f in os.listdir(os.path.join(src, "src", part)) if f.endswith(".h"))
    if not hs:
        sub = sorted(d for d in os.listdir(os.path.join(src, "src", part))
                     if os.path.isdir(os.path.join(src, "src", part, d)))
        for d in sub:
            hs = [f"{d}/{f}" for f in sorted(os.listdir(os.path.join(src, "src", part, d)))
                  if f.endswith(".h")]
            if hs:
                break
    header[part] = f"{part}/{hs[0]}"


def args_of(entry, drop_pch=True):
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-MD", "-MMD") or a == entry["file"] or a.endswith(entry["file"]):
            continue
        if drop_pch and (a.startswith("-include") or "cmake_pch" in a or a == "-Winvalid-pch"):
            if a == "-include":
                skip = True
            continue
        out.append(a)
    return out


def compile_source(entry, text, suffix=".cc", preprocess=False):
    """Exit code and stderr of compiling `text` with `entry`'s command (-fsyntax-only)."""
    # Outside the source tree: a quoted include then resolves through the include roots only.
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as f:
        f.write(text)
        name = f.name
    try:
        args = args_of(entry, drop_pch=preprocess)
        cmd = args + (["-E", "-o", os.devnull] if preprocess else ["-fsyntax-only"]) + [name]
        p = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
        return p.returncode, p.stderr
    finally:
        os.unlink(name)


# 2. Who sees whom: every pair, by __has_include with each part's own flags.
for part in sorted(built):
    if part not in command:
        failures.append(f"{part}: no file of src/{part}/ in compile_commands.json")
        continue
    entry, _ = command[part]
    below = closure(part) | {part}
    probe = "".join(
        f'#if __has_include("{header[q]}")\nSEES {q}\n#else\nHIDDEN {q}\n#endif\n'
        for q in sorted(built))
    with tempfile.NamedTemporaryFile("w", suffix=".cc", delete=False) as f:
        f.write(probe)
        name = f.name
    try:
        p = subprocess.run(args_of(entry) + ["-E", "-P", name], cwd=entry["directory"],
                           capture_output=True, text=True)
    finally:
        os.unlink(name)
    if p.returncode != 0:
        failures.append(f"{part}: the probe did not preprocess: {p.stderr[:500]}")
        continue
    seen = {l.split()[1] for l in p.stdout.splitlines() if l.startswith("SEES ")}
    if seen != below:
        extra, missing = sorted(seen - below), sorted(below - seen)
        if extra:
            failures.append(f"{part} sees {extra}, which the graph puts above or beside it")
        if missing:
            failures.append(f"{part} does not see {missing}, which the graph lets it use")
    print(f"[layers] {part}: sees {' '.join(sorted(seen))}")

# 3. A real upward include fails; the same file without it compiles.
entry, rel = command["report"]
original = open(os.path.join(src, rel)).read()
rc, err = compile_source(entry, original)
if rc != 0:
    failures.append(f"control: {rel} does not compile with its own command: {err[:800]}")
rc, err = compile_source(entry, '#include "train/trainer.h"\n' + original)
if rc == 0 or "train/trainer.h" not in err or "No such file" not in err:
    failures.append(f"{rel} + #include \"train/trainer.h\" (report -> train, upward) "
                    f"did not fail as a missing file (exit {rc}): {err[:800]}")
else:
    print(f"[layers] {rel} + #include \"train/trainer.h\": {err.strip().splitlines()[0]}")

for f in failures:
    print("FAIL " + f)
print(f"[layers] {len(built)} parts, {'OK' if not failures else str(len(failures)) + ' failure(s)'}")
sys.exit(1 if failures else 0)
