# SPDX-License-Identifier: MIT
"""A tiny TAP producer for unittest: one `ok N - name` line per test method, the plan last.

Usage: /usr/bin/python3 tests/tap.py [test_module ...]   (default: every tests/test_*.py)
Exit status 0 when every test passed (skips included), 1 otherwise.
"""

import os
import sys
import traceback
import unittest


class TAPResult(unittest.TestResult):
    def __init__(self, stream=sys.stdout):
        unittest.TestResult.__init__(self)
        self.stream = stream
        self.count = 0
        self.failed_count = 0

    def _line(self, ok, test, directive="", diag=None):
        self.count += 1
        name = test.id() if hasattr(test, "id") else str(test)   # module.Class.method
        text = "%s %d - %s" % ("ok" if ok else "not ok", self.count, name)
        if directive:
            text += " # " + directive
        self.stream.write(text + "\n")
        if diag:
            for line in diag.rstrip().splitlines():
                self.stream.write("# " + line + "\n")
        self.stream.flush()

    def addSuccess(self, test):
        unittest.TestResult.addSuccess(self, test)
        self._line(True, test)

    def addFailure(self, test, err):
        unittest.TestResult.addFailure(self, test, err)
        self.failed_count += 1
        self._line(False, test, diag="".join(traceback.format_exception(*err)))

    def addError(self, test, err):
        unittest.TestResult.addError(self, test, err)
        self.failed_count += 1
        self._line(False, test, diag="".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        unittest.TestResult.addSkip(self, test, reason)
        self._line(True, test, directive="SKIP " + reason.replace("\n", " "))

    def addExpectedFailure(self, test, err):
        unittest.TestResult.addExpectedFailure(self, test, err)
        self._line(True, test, directive="TODO expected failure")

    def addUnexpectedSuccess(self, test):
        unittest.TestResult.addUnexpectedSuccess(self, test)
        self.failed_count += 1
        self._line(False, test, directive="unexpected success")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    loader = unittest.TestLoader()
    if argv:
        suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in argv)
    else:
        suite = loader.discover(here, pattern="test_*.py", top_level_dir=here)
    result = TAPResult()
    try:
        suite.run(result)
    except BaseException:                       # import errors etc.: report, never hide
        result._line(False, suite, diag=traceback.format_exc())
    # Module import failures show up as errors of unittest.loader._FailedTest (counted above).
    sys.stdout.write("1..%d\n" % result.count)
    sys.stdout.flush()
    return 1 if result.failed_count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
