#!/usr/bin/env python3
"""make lint: each module imports only what its layer allows, and Package.swift declares exactly what
each target imports (no dependency left over, none missing).

    python3 .ci/lint-imports.py PACKAGE_JSON      # the output of `swift package dump-package`
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SYSTEM = {"Foundation", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization", "Testing"}

# Layer by layer (README, "Modules and layers"): what each product module may import besides SYSTEM.
PURE = {"NIOCore"}  # ByteBuffer and NIODeadline only: no Channel, EventLoop or NIOPosix (checked below)
ALLOWED = {
    "SluiceSMTP": PURE,
    "SluicePolicy": {"SluiceSMTP", "CPCRE2"},
    "SluiceConfig": {"SluiceSMTP", "SluicePolicy"},
    "SluiceSession": {"SluiceSMTP", "SluicePolicy"} | PURE,
    "SluiceStore": {"SluiceSMTP", "SluicePolicy", "CSQLite3", "CLibPQ", "NIOConcurrencyHelpers"},
    "SluiceTLS": {"COpenSSL", "NIOCore"},
    "SluiceDNS": {"CUnbound", "COpenSSL", "CLibPSL", "SluicePolicy", "NIOConcurrencyHelpers"},
    "SluiceMIME": set(),
    "SluiceAttachments": {"CLibMagic", "CLibArchive"},
    "SluiceServer": {"SluiceSMTP", "SluicePolicy", "SluiceConfig", "SluiceSession", "SluiceStore", "SluiceTLS", "SluiceDNS",
                     "SluiceMIME", "SluiceAttachments",
                     "NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "Logging", "Metrics", "NIOHTTP1", "Prometheus", "ServiceLifecycle"},
    "sluice": {"SluiceServer", "SluiceConfig", "SluicePolicy", "SluiceSMTP", "SluiceStore", "SluiceSession", "SluiceTLS",
               "ArgumentParser", "Logging", "NIOConcurrencyHelpers", "ServiceLifecycle", "UnixSignals"},
}
PURE_MODULES = ["SluiceSMTP", "SluicePolicy", "SluiceConfig", "SluiceSession", "SluiceMIME"]
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_implementationOnly\s+)?import\s+(?:struct\s+|class\s+|enum\s+)?([A-Za-z0-9_]+)", re.M)
IMPURE = re.compile(r"\b(Channel|ChannelHandlerContext|EventLoop|EventLoopFuture|EventLoopPromise|NIOPosix|NIOThreadPool)\b")


def imports(directory: pathlib.Path) -> set[str]:
    """The modules imported by the header of each file (an `import` inside a string, such as a Python
    script a test runs, is not one)."""
    found = set()
    for source in directory.rglob("*.swift"):
        for line in source.read_text().splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("//") or stripped.startswith("#"):
                continue
            match = IMPORT.match(line)
            if not match:
                break
            found.add(match.group(1))
    return found


def main() -> int:
    package = json.load(open(sys.argv[1]))
    errors = []
    for target in package["targets"]:
        name, kind = target["name"], target["type"]
        if kind == "system":
            continue
        default = {"test": "Tests", "executable": "Sources", "regular": "Sources"}[kind]
        directory = ROOT / (target.get("path") or f"{default}/{name}")
        used = imports(directory) - SYSTEM
        declared = set()
        for dependency in target["dependencies"]:
            kind_of, value = next(iter(dependency.items()))
            declared.add(value[0])
        for module in sorted(used - declared):
            errors.append(f"{directory.relative_to(ROOT)}: imports {module}, which Package.swift does not declare for {name}")
        for module in sorted(declared - used):
            errors.append(f"Package.swift: {name} declares {module} but never imports it")
        if name in ALLOWED:
            for module in sorted(used - ALLOWED[name]):
                errors.append(f"{directory.relative_to(ROOT)}: {name} may not import {module} (its layer allows {', '.join(sorted(ALLOWED[name]))})")
    for name in PURE_MODULES:
        for source in sorted((ROOT / "Sources" / name).rglob("*.swift")):
            for number, line in enumerate(source.read_text().splitlines(), 1):
                code = line.split("//", 1)[0]
                if IMPURE.search(code):
                    errors.append(f"{source.relative_to(ROOT)}:{number}: a pure module (layer 1-2) mentions channels, event loops or thread pools")
    for error in errors:
        print(f"lint: {error}", file=sys.stderr)
    if errors:
        return 1
    print("lint: imports follow the layers; Package.swift declares what each target imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
