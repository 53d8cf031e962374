"""The demo as the interaction agent (or one of its nurses) over HTTP: POSTs to the server's REST API."""

import itertools
import uuid
from typing import Any

import requests

from demo.story.hints import SAME_DB_HINT, server_command
from demo.story.timeline import StepFailedError

HTTP_TIMEOUT_SECONDS = 15


class AgentClient:
    """The REST API of the server at `base_url`, called with the agent's token unless a nurse's is given."""

    def __init__(self, *, base_url: str, agent_token: str, checkin_delay: float) -> None:
        self.api = base_url.rstrip("/") + "/api/v1/"
        self.base_url = base_url
        self.agent_token = agent_token
        self.checkin_delay = checkin_delay  # for the hint when no server answers
        self.http = requests.Session()
        self.run_id = uuid.uuid4().hex[:12]
        self.keys = itertools.count(1)

    def post(
        self, step: str, path: str, body: dict[str, Any], *, expect: int = 0, token: str | None = None
    ) -> dict[str, Any]:
        """POST as the agent (or a nurse, with her token), with an Idempotency-Key as a careful client sends."""
        headers = {
            "Authorization": f"Token {token or self.agent_token}",
            "Idempotency-Key": f"demo-{self.run_id}-{next(self.keys)}",
        }
        try:
            response = self.http.post(self.api + path, json=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise StepFailedError(
                step,
                f"no answer from {self.base_url} ({type(exc).__name__})",
                f"start the product with {server_command(self.checkin_delay)}, or give its address with --url",
            ) from None
        if response.status_code == 401:
            raise StepFailedError(step, "the server refused the API key this command just made", SAME_DB_HINT)
        if (expect and response.status_code != expect) or response.status_code >= 400:
            raise StepFailedError(
                step,
                f"POST {path} answered {response.status_code} {_error_summary(response)}",
                "see the server's log; the API's errors are described in docs/api.md",
            )
        answer = response.json()
        return answer if isinstance(answer, dict) else {}


def _error_summary(response: requests.Response) -> str:
    """The API's error code and the names of the bad fields (docs/api.md#errors-one-format); its messages never
    quote values, but field names are all a person needs here."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "(not JSON)"
    fields = ", ".join(error.get("fields", {}))
    return f"{error.get('code', '')}" + (f" (fields: {fields})" if fields else "")
