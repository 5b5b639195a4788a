#!/usr/bin/env python3
"""clang-tidy over Chronik's own sources (`make lint`; `make test` runs it).

Reads the Release tree's compile_commands.json and hands clang-tidy-14 each of our
translation units (generated code and anything under build trees is skipped). The
commands are GCC's, so the flags clang does not know (GCC-only warnings, GCC's
precompiled-header include) are dropped first. The checks are in .clang-tidy; every
finding is an error.

  scripts/lint.py [-p build] [-j N] [files...]   # no files: every translation unit
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIDY = "clang-tidy-14"
# GCC accepts these and clang does not; they only silence warnings, so dropping
# them cannot hide a finding.
# Findings that are false positives of clang-14 itself, by where they land and which
# check: the checks stay on for our code. clang-14's static analyzer does not model
# C++20 coroutine frames, so in every `co_await` on an asio::awaitable it takes the
# frame's `attached_thread_` and `resume_context_` (set when the coroutine is
# spawned or resumed) for uninitialised or null.
SUPPRESSED = [
    (re.compile(r"^/usr/include/boost/asio/impl/awaitable\.hpp$"),
     re.compile(r"^clang-analyzer-core\.(CallAndMessage|NullDereference)$")),
]
DIAGNOSTIC = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<kind>warning|error): .*\[(?P<check>[^\],]+)")
GCC_ONLY = {"-Wno-maybe-uninitialized", "-Wno-mismatched-new-delete", "-Wno-stringop-overflow", "-Wno-restrict",
            "-Winvalid-pch"}

PROBE = """
#include "runtime/asio.h"
#include <string>
#include <utility>
namespace {
size_t moved(std::string s) {
    std::string t = std::move(s);
    return s.size() + t.size();
}
chronik::awaitable<int> probe() {
    co_await chronik::asio::post(chronik::asio::use_awaitable);
    co_return int(moved("x"));
}
} // namespace
void lint_probe(chronik::asio::io_context& ctx) { chronik::asio::co_spawn(ctx, probe(), chronik::asio::detached); }
"""


def clang_command(cmd):
    args = shlex.split(cmd)
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in GCC_ONLY:
            i += 1
            continue
        # CMake's precompiled header: `-include <dir>/cmake_pch.hxx` (GCC finds the .gch
        # next to it, which clang cannot read). Each source includes what it uses.
        if a == "-include" and i + 1 < len(args) and args[i + 1].endswith("cmake_pch.hxx"):
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def ours(path):
    rel = os.path.relpath(path, ROOT)
    return not rel.startswith("..") and not rel.startswith("build") and (
        rel.startswith("src/") or rel.startswith("tools/") or rel.startswith("tests/"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", default=os.path.join(ROOT, "build"), help="build tree with compile_commands.json")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()

    db_path = os.path.join(args.p, "compile_commands.json")
    with open(db_path) as f:
        db = json.load(f)
    wanted = {os.path.abspath(x) for x in args.files}
    entries = []
    for e in db:
        path = os.path.abspath(os.path.join(e["directory"], e["file"]))
        if not ours(path) or (wanted and path not in wanted):
            continue
        entries.append(dict(directory=e["directory"], file=path,
                            arguments=clang_command(e.get("command") or shlex.join(e["arguments"]))))
    if not entries:
        print("lint: nothing to check")
        return 0

    tmp = tempfile.mkdtemp(prefix="chronik-lint-")
    # The lint must be able to fail: one translation unit with a known bug (a use
    # after move, and a co_await so the asio suppression is in play) goes first, with
    # the flags of a real one, and must be reported.
    probe = os.path.join(tmp, "lint_probe.cc")
    with open(probe, "w") as f:
        f.write(PROBE)
    probe_entry = dict(entries[0], file=probe,
                       arguments=[a if a != entries[0]["file"] else probe for a in entries[0]["arguments"]])
    if entries[0]["file"] not in entries[0]["arguments"]:
        probe_entry["arguments"] = entries[0]["arguments"] + [probe]
    entries.insert(0, probe_entry)
    with open(os.path.join(tmp, "compile_commands.json"), "w") as f:
        json.dump(entries, f)

    def run(e):
        # Findings are collected here, not by clang-tidy's exit code, so that the
        # suppressions above apply; a compiler error still fails the file.
        p = subprocess.run([TIDY, "-p", tmp, "--quiet", "--warnings-as-errors=-*", e["file"]],
                           capture_output=True, text=True)
        return e["file"], p.returncode, p.stdout + p.stderr

    failed = []
    suppressed = 0
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=args.j) as pool:
        for path, rc, out in pool.map(run, entries):
            report = []
            keep = False
            for line in out.splitlines():
                m = DIAGNOSTIC.match(line)
                if m:
                    # A finding starts here; its notes follow until the next one.
                    keep = not any(pf.search(m["path"]) and cf.search(m["check"]) for pf, cf in SUPPRESSED)
                    suppressed += 0 if keep else 1
                elif "warnings generated" in line or "Suppressed" in line or "Use -header-filter" in line:
                    continue
                if keep:
                    report.append(line)
            if rc != 0 and "Found compiler error" in out:
                report.append(out)
            if path == probe:
                if not any("use-after-move" in l or "cplusplus.Move" in l for l in report):
                    print("lint: the probe's use after move was not reported; the lint cannot fail:\n" + out)
                    return 1
                continue
            if report:
                failed.append(path)
                sys.stdout.write(f"--- {os.path.relpath(path, ROOT)}\n" + "\n".join(report) + "\n")
    print(f"lint: {len(entries) - 1} files, {len(failed)} with findings ({suppressed} known clang-14 false positives "
          f"dropped), {time.time() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
