"""Issue 19 row 10: production's JSON log lines of a 4xx held the full query string (`?mrn=…&dob=…&phone=…`) and
`request_id: null`. A request with PHI in its query, through production's own logging configuration, in a process of
its own: no line holds the query, and the 4xx line carries the request's id."""

import json
import os
import subprocess
import sys

from tests.config.test_production import REAL_BACKENDS, REQUIRED, ROOT

QUERY = "mrn=MRN4471&dob=1950-02-03&phone=%2B15557654321"
REQUEST = f"""
import django
django.setup()
from django.test import Client
response = Client().get("/no-such-page/?{QUERY}", HTTP_HOST="care.example.org", HTTP_X_REQUEST_ID="req-42",
                        secure=True)
print("status", response.status_code)
"""


def test_a_4xx_line_has_the_path_and_request_id_and_no_query_string():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFICATION_", "DJANGO_"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", REQUEST],
        cwd=ROOT,
        env={**clean, **REQUIRED, **REAL_BACKENDS},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "status 404" in result.stdout, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found, result.stderr
    assert not_found[0]["message"] == "Not Found: /no-such-page/"
    assert not_found[0]["request_id"] == "req-42"
    assert not_found[0]["request"] == "GET /no-such-page/"
    for phi in ("MRN4471", "1950-02-03", "5557654321", "mrn="):
        assert phi not in result.stderr
