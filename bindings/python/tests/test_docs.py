# SPDX-License-Identifier: MIT
"""The examples in the package's docstrings run as written (doctest)."""

import doctest

import support  # noqa: F401 (sys.path)
import rtweb
from rtweb import sse, ws, handshake, errors


def load_tests(loader, tests, ignore):
    for module in (rtweb, sse, ws, handshake, errors):
        tests.addTests(doctest.DocTestSuite(module))
    return tests
