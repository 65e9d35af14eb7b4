# SPDX-License-Identifier: MIT
"""Print the directory `meson install` puts the rtweb package in, for this interpreter.

usage: install_dir.py PREFIX DEFAULT     (DEFAULT: meson's py.get_install_dir(), absolute)

meson's python module installs into DEFAULT. On Debian that comes from the deb_system scheme
(PREFIX/lib/python3/dist-packages), which is right for PREFIX=/usr only: the interpreter
searches /usr/local/lib/python3.X/dist-packages, not /usr/local/lib/python3/dist-packages.
So: DEFAULT if the interpreter searches it; else the directory under PREFIX that it does
search (a site-/dist-packages entry of sys.path); else DEFAULT (a private prefix: the user
sets PYTHONPATH, as for any such prefix).
"""

import os
import sys


def main():
    prefix, default = (os.path.normpath(a) for a in sys.argv[1:3])
    searched = [os.path.normpath(p) for p in sys.path if p]
    if default in searched:
        return default
    for p in searched:
        if (os.path.basename(p) in ("site-packages", "dist-packages")
                and os.path.commonpath([prefix, p]) == prefix):
            return p
    return default


if __name__ == "__main__":
    print(main())
