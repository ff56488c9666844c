"""``make build``: one deployable folder and zip per function, for SCF's Python 3.10 on Linux x86_64.

    python tools/build.py [--storage tcb|cos] [--only NAME] [--out build]

For each function in shared/ops/deployment.py: ``build/<fn>/`` holds ``index.py`` (its entry, at the root),
``shared/`` (the modules of the wings it uses that its entry can import, statically or lazily: ``shipped_modules``)
and exactly the third-party packages it needs, vendored from
manylinux wheels for CPython 3.10 with the versions pinned in requirements.txt (anything unpinned is an
error), byte-compiled by a Python 3.10 with ``--invalidation-mode unchecked-hash`` (deploy zips reset file
times, so timestamp-checked .pyc files would be ignored and every cold start would recompile).
``build/<fn>.zip`` is the same tree, deterministic, entry at the zip root: serverless.yml ships it.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared.ops.deployment import FUNCTIONS, Function

ROOT = pathlib.Path(__file__).resolve().parents[1]

TARGET_ENVIRONMENT = {
    "python_version": "3.10",
    "python_full_version": "3.10.13",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
PIP_TARGET = [
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.10",
    "--implementation",
    "cp",
    "--abi",
    "cp310",
    "--only-binary=:all:",
]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Parts of vendored packages no function uses, removed after install: Pillow's AVIF codec (its own libavif is 7.7 MB,
# 3.4 MB zipped; posters read JPEG, PNG and WebP and write JPEG or PNG, and Pillow treats a missing codec as
# unsupported) and its Tk and Qt bridges (no screen in SCF).
UNUSED_FILES = ("PIL/_avif.*", "pillow.libs/libavif-*", "PIL/_imagingtk.*", "PIL/ImageTk.py", "PIL/ImageQt.py")
SCF_CODE_DIR = "/var/user"  # where SCF unpacks a function's code


def probe_environment(function_name: str) -> dict[str, str]:
    """A minimal SCF-like environment in which a built entry passes its cold-start configuration check
    without touching the network (nothing connects at import), for import checks and benchmarks."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TENCENTCLOUD_RUNENV": "SCF",
        "MONGODB_URI": "mongodb://127.0.0.1:9/x",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "PYTHONDONTWRITEBYTECODE": "x",
        "LOG_LEVEL": "ERROR",
    }
    if function_name == "rewards":
        env["REWARD_FIXED"] = "5"
    if function_name == "genWxacode":
        env.update({"WECHAT_APPID": "wx3c5e7a9b1d2f4a6c", "WECHAT_APPSECRET": "probe", "TCB_ENV": "prod-1"})
    return env


def canonical(name: str) -> str:
    return str(canonicalize_name(name))  # PEP 503 names, as pip compares them


def runtime_pins(path: pathlib.Path = ROOT / "requirements.txt") -> dict[str, str]:
    """name → version from requirements.txt, with environment markers evaluated for SCF's Python 3.10."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET_ENVIRONMENT):
            continue
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise SystemExit(f"requirements.txt must pin exact versions: {line}")
        pins[canonical(requirement.name)] = specifiers[0].version
    return pins


# Run by the target Python (3.10) without site: unchecked-hash .pyc files next to each source, as compileall writes
# them, but marshalled without back-references (format 2). A file that does not compile stays source-only.
COMPILE_PYC = """
import importlib.util, marshal, os, sys
root, prefix = sys.argv[1], sys.argv[2]
for folder, subfolders, files in os.walk(root):
    subfolders.sort()
    for name in sorted(files):
        if not name.endswith('.py'):
            continue
        path = os.path.join(folder, name)
        with open(path, 'rb') as handle:
            source = handle.read()
        try:
            code = compile(source, os.path.join(prefix, os.path.relpath(path, root)), 'exec', dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        data = bytearray(importlib.util.MAGIC_NUMBER)
        data += (1).to_bytes(4, 'little')  # hash-based, unchecked
        data += importlib.util.source_hash(source)
        data += marshal.dumps(code, 2)
        cache = importlib.util.cache_from_source(path)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache, 'wb') as handle:
            handle.write(data)
"""


def python310() -> str | None:
    candidates = [os.environ.get("PYTHON310"), shutil.which("python3.10")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python")), reverse=True)
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            version = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 10))"], capture_output=True, text=True
            )
            if version.stdout.strip() == "True":
                return candidate
    return None


def vendor(target: pathlib.Path, packages: list[str], pins: dict[str, str]) -> list[str]:
    missing = [p for p in packages if canonical(p) not in pins]
    if missing:
        raise SystemExit(f"not pinned in requirements.txt: {', '.join(missing)}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\n".join(f"{name}=={version}" for name, version in sorted(pins.items())) + "\n")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(target),
                *PIP_TARGET,
                "-c",
                constraints.name,
                *[f"{p}=={pins[canonical(p)]}" for p in packages],
            ],
            check=True,
        )
    finally:
        os.unlink(constraints.name)
    installed = []
    for info in sorted(target.glob("*.dist-info")):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        if pins.get(canonical(name)) != version:
            raise SystemExit(f"{name} {version} was vendored but requirements.txt does not pin it")
        installed.append(f"{canonical(name)}=={version}")
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts are useless in SCF
    for pattern in UNUSED_FILES:
        for unused in target.glob(pattern):
            unused.unlink()
    for tests in [p for p in target.rglob("tests") if p.is_dir() and p.parent != target]:
        shutil.rmtree(tests)  # packages' own test suites (certifi ships one) never run in a function
    return installed


def write_zip(source: pathlib.Path, destination: pathlib.Path) -> None:
    destination.unlink(missing_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def _module_file(module: str) -> pathlib.Path | None:
    """The source of a ``shared`` module or package, or None when it is not one."""
    path = ROOT.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    file = path.with_suffix(".py")
    return file if file.is_file() else None


def _lazy_names(tree: ast.Module) -> dict[str, str]:
    """A package's PEP 562 names (``_NAMES = {"Name": "module"}``): which submodule each resolves from."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_NAMES" for t in node.targets):
            value = node.value
            if isinstance(value, ast.Dict):
                return {
                    str(k.value): str(v.value)
                    for k, v in zip(value.keys, value.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                }
    return {}


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions too, but not the ``if TYPE_CHECKING:`` ones (never run)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            stack += node.orelse
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack += ast.iter_child_nodes(node)
    return found


def shipped_modules(entry: pathlib.Path) -> set[str]:
    """Every ``shared`` module the entry can import — at the top or inside functions (lazy imports), and through a
    package's lazy names only those it asks for — as the transitive closure of its import statements."""
    seen: set[str] = set()
    lazy: dict[str, dict[str, str]] = {}  # package -> its PEP 562 names

    def visit(module: str) -> None:
        if module in seen or (source := _module_file(module)) is None:
            return
        seen.add(module)
        if "." in module:
            visit(module.rsplit(".", 1)[0])
        tree = ast.parse(source.read_text(encoding="utf-8"))
        lazy[module] = _lazy_names(tree)
        for node in _imports(tree):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if not name.startswith("shared") or (isinstance(node, ast.ImportFrom) and node.level):
                    continue
                visit(name)
                if isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        target = lazy.get(name, {}).get(alias.name)
                        visit(f"{name}.{target}" if target else f"{name}.{alias.name}")

    tree = ast.parse(entry.read_text(encoding="utf-8"))
    visit("shared")
    for node in _imports(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            visit(node.module)
            for alias in node.names:
                target = lazy.get(node.module, {}).get(alias.name)
                visit(f"{node.module}.{target}" if target else f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("shared"):
                    visit(alias.name)
    return seen


def build(function: Function, out: pathlib.Path, storage: str, pins: dict[str, str], compiler: str | None) -> dict:
    target = out / function.name
    shutil.rmtree(target, ignore_errors=True)
    (target / "shared").mkdir(parents=True)
    shutil.copy2(ROOT / "functions" / function.name / "index.py", target / "index.py")
    shutil.copy2(ROOT / "shared" / "__init__.py", target / "shared" / "__init__.py")
    # What the entry can import of its wings (a module of a wing it never imports stays home: the wing test checks the
    # wings, this keeps a package free of what a function never loads, e.g. continuations in recordShare).
    modules = shipped_modules(ROOT / "functions" / function.name / "index.py")
    for wing in function.wings:
        for source in sorted((ROOT / "shared" / wing).rglob("*")):
            relative = source.relative_to(ROOT)
            if source.is_dir() or "__pycache__" in relative.parts or source.suffix == ".pyc":
                continue
            module = relative.with_suffix("").as_posix().replace("/", ".")
            if source.suffix == ".py" and module not in modules and not module.endswith("__init__"):
                continue
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    packages = (
        list(function.packages)
        + list(function.lazy_packages)
        + (list(function.cos_packages) if storage == "cos" else [])
    )
    vendored = vendor(target, packages, pins)
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache)
    if compiler:
        # Reproducible bytecode, so an unchanged rebuild is byte-identical and a deploy uploads nothing: a fixed
        # hash seed (frozenset constants are marshalled in hash order), source paths as SCF sees them (/var/user,
        # where it unpacks the code) instead of this machine's build folder, a fixed file order, and marshal format 2:
        # format 4 (compileall's) flags an object as back-referenced by its reference count at that instant, which
        # varies between runs (seen: one string of pymongo's pool_options flagged in 1 compile of 6).
        subprocess.run(
            [compiler, "-s", "-S", "-c", COMPILE_PYC, str(target), SCF_CODE_DIR],
            check=True,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"},
        )
    write_zip(target, out / f"{function.name}.zip")
    manifest = {
        "function": function.name,
        "storage": storage if function.cos_packages else None,
        "packages": vendored,
        "bytecode": "cpython-310 unchecked-hash" if compiler else None,
        "zip_bytes": (out / f"{function.name}.zip").stat().st_size,
    }
    (out / f"{function.name}.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--storage",
        choices=("tcb", "cos", "local"),
        default=os.environ.get("STORAGE_BACKEND") or "tcb",
        help="genWxacode's storage backend: boto3 is vendored only for cos",
    )
    parser.add_argument("--only", action="append", help="build only this function (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "build"))
    parser.add_argument(
        "--require-py310",
        action="store_true",
        help="fail instead of shipping without bytecode when no Python 3.10 is found",
    )
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    compiler = python310()
    if compiler is None:
        message = "no Python 3.10 found (set PYTHON310): the packages ship without bytecode"
        if args.require_py310:
            raise SystemExit(message)
        print("warning: " + message, file=sys.stderr)
    pins = runtime_pins()
    for function in FUNCTIONS:
        if args.only and function.name not in args.only:
            continue
        manifest = build(function, out, args.storage, pins, compiler)
        print(f"{function.name:<12} {manifest['zip_bytes'] / 1e6:5.2f} MB  {', '.join(manifest['packages'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
