# SPDX-License-Identifier: MIT
"""Shared helpers for the binding's tests: the source tree, and asyncio with a deadline."""

import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)                         # bindings/python
SOURCE_ROOT = os.environ.get("RTW_SOURCE_ROOT") or os.path.dirname(os.path.dirname(BINDING))
INCLUDE = os.path.join(SOURCE_ROOT, "include", "rtweb")
EXAMPLES = os.path.join(BINDING, "examples")

if BINDING not in sys.path:
    sys.path.insert(0, BINDING)
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)


def run_async(coro, timeout=20):
    """Run a coroutine in a fresh loop, failing (not hanging) after `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def splits(data):
    """Every way to cut `data` in two, plus byte by byte."""
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]
