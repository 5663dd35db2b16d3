"""Rewrites grpcio-tools' absolute imports so generated stubs live under one package.

Usage: pb_imports.py DIR PACKAGE TOP [TOP ...]
Every `from TOP.x import y` / `import TOP.x` in DIR's generated modules becomes
`from PACKAGE.TOP.x import y`, and every folder gets an __init__.py.
"""
import os
import re
import sys


def main() -> None:
    root, package, tops = sys.argv[1], sys.argv[2], sys.argv[3:]
    alternatives = "|".join(re.escape(t) for t in tops)
    from_re = re.compile(rf"^from ({alternatives})((?:\.\w+)*) import ", re.M)
    for folder, _dirs, files in os.walk(root):
        init = os.path.join(folder, "__init__.py")
        if not os.path.exists(init):
            open(init, "w").close()
        for name in files:
            if not name.endswith((".py", ".pyi")) or name == "__init__.py":
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                text = f.read()
            text = from_re.sub(lambda m: f"from {package}.{m.group(1)}{m.group(2)} import ", text)
            with open(path, "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
