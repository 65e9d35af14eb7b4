# SPDX-License-Identifier: MIT
"""Throwaway certificates for the TLS tests, made at test time with Debian's `openssl` CLI.

make_ca_and_leaf(d) writes into the directory d (a temporary one: nothing here is ever
committed or trusted beyond the test) a CA (ca.pem, ca.key) and a leaf it signs for
DNS:localhost and IP:127.0.0.1 (leaf.pem, leaf.key), EC P-256, valid two days, and returns
their paths: {"ca": ..., "leaf": ..., "key": ...}. Used by examples/tls_server_test.py,
examples/chat/tls_test.py and tests/interop/tls_python.py (each puts this directory on
sys.path); tests/tools/tls_test.py makes its own set (several CAs and names).
"""
import os
import subprocess


def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)


def make_ca_and_leaf(d, ca_name="rtweb test CA"):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(d, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=" + ca_name,
             "-keyout", "ca.key", "-out", "ca.pem")
    _openssl(d, "req", *ec, "-subj", "/CN=localhost", "-keyout", "leaf.key", "-out", "leaf.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl(d, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "leaf.pem")
    return {"ca": os.path.join(d, "ca.pem"), "leaf": os.path.join(d, "leaf.pem"),
            "key": os.path.join(d, "leaf.key")}
