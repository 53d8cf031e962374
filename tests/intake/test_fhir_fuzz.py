"""Thousands of mutated, truncated and random bodies to the FHIR endpoints: every answer is a 2xx or a 4xx
OperationOutcome, never a 5xx."""

import copy
import json
import random

import pytest

from tests.api.conftest import client_for
from tests.api.factories import AgentUserFactory
from tests.intake.fhir_examples import bundle, encounter

pytestmark = pytest.mark.django_db

ODD_VALUES = [None, "", "\x00", "x" * 5000, -1, 1e308, True, [], {}, [None], {"a": {"b": {"c": []}}}, "2026-13-45"]
ODD_VALUES += ["9999-12-31T23:59:59Z", "Patient/../../etc", "\ud7ff\ue000", "NOWHERE", "finished", "urn:uuid:x"]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _mutate(rng: random.Random, document):
    document = copy.deepcopy(document)
    for _ in range(rng.randrange(1, 4)):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if rng.random() < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(ODD_VALUES)
    return document


def _body(rng: random.Random) -> str:
    choice = rng.randrange(5)
    document = rng.choice([encounter(), bundle(), encounter(status="in-progress", end=None)])
    if choice <= 2:
        return json.dumps(_mutate(rng, document))
    text = json.dumps(document)
    if choice == 3:
        return text[: rng.randrange(len(text))]
    return "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(1, 200)))


def test_thousands_of_fuzzed_fhir_bodies_never_reach_a_5xx(settings):
    settings.API_RATE_LIMIT = "100000/minute"
    settings.AGENT_ESCALATION_RATE_LIMIT = "100000/minute"
    client = client_for(AgentUserFactory())
    rng = random.Random(11)
    statuses: dict[int, int] = {}
    for _ in range(2000):
        path = rng.choice(["/fhir/Encounter", "/fhir/"])
        response = client.post(path, _body(rng), content_type="application/fhir+json")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.content[:500]
        if response.status_code >= 400:
            assert response.json()["resourceType"] == "OperationOutcome"
    assert statuses.get(400, 0) > 100 and statuses.get(422, 0) > 10, statuses
