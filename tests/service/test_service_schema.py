"""schemathesis against the OpenAPI description of a live server: generated and malformed
requests never get a 5xx, and every response matches what the description documents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.helpers import Server

ST = Path(sys.executable).parent / "st"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(tmp_path):
    srv = Server(tmp_path).start()
    try:
        with srv.client(srv.admin_key) as c:
            c.post("/v1/collections", json={"name": "alpha"})
            job = c.post("/v1/collections/alpha/documents", json={"documents": [{"text": "The secret code is ST-1."}]})
            srv.wait_job(c, job.json()["id"])
        out = subprocess.run(
            [str(ST), "run", srv.url + "/openapi.json",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
             "-H", f"Authorization: Bearer {srv.admin_key}",
             # the coverage phase is left out: on CPython 3.11.7 it can hit an interpreter bug in
             # hypothesis' lambda descriptions (SystemError: AST constructor recursion depth
             # mismatch) that aborts the run; fuzzing still sends malformed (negative) data
             "--phases", "examples,fuzzing,stateful",
             "--max-examples", "8", "--max-time", "100", "--seed", "7", "--workers", "2",
             "--request-timeout", "30", "--no-color", "--warnings", "off",
             # hypothesis' generator health checks judge the data generation, not the server:
             # a path parameter with a tight pattern can trip filter_too_much on some runs
             "--suppress-health-check", "filter_too_much,too_slow"],
            capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
        assert "passed" in out.stdout
        # the server survived it all and still answers
        with srv.client(srv.admin_key) as c:
            assert c.get("/healthz").json()["status"] == "ok"
            assert c.get("/v1/collections/alpha").status_code in (200, 404)  # fuzzing may delete it
    finally:
        srv.stop()
