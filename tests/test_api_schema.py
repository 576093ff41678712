"""Property-based tests of the OpenAPI document against the real server (DESIGN.md A10).

schemathesis loads ``/openapi.json`` from a running ``spotcheck serve`` (on
SQLite), generates valid and invalid requests for every operation (a bounded
number of examples each) and checks that no answer is a 5xx and that every
answer's status code, content type and body conform to the document —
problems included (``application/problem+json``, the ``Problem`` schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.actions import ACTION_DOCS, action_command_schema
from api.app import create_app
from api.settings import ApiSettings
from ledger.domain.roles import ACTIONS
from tests.api_helpers import Server, running_server

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("schema")
    with running_server(f"sqlite:///{folder / 'ledger.db'}", folder) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(api_server: Server) -> Any:
    loaded = schemathesis.openapi.from_url(api_server.url + "/openapi.json")
    loaded.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True,
                                    database="none")
    return loaded


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every operation: valid inputs, and invalid ones where it has any.

    The document comes from the factory, which opens nothing (STYLE.md point 14).
    """
    document = create_app(ApiSettings.from_env({})).openapi()
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            cases.append((method, path, GenerationMode.POSITIVE))
            constrained = [p for p in operation.get("parameters", [])
                           if p["schema"].get("type") != "string" or len(p["schema"]) > 2]
            if constrained or operation.get("requestBody"):  # else nothing is invalid
                cases.append((method, path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize("method, path, mode", _cases(),
                         ids=lambda v: v.value if isinstance(v, GenerationMode) else str(v))
def test_every_operation_conforms_and_never_fails(api_schema: Any, method: str, path: str,
                                                  mode: GenerationMode) -> None:
    strategy = api_schema[path][method.upper()].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


def test_document_lists_every_action_with_args_schema_and_example(api_server: Server) -> None:
    document = httpx.get(api_server.url + "/openapi.json").json()
    components = document["components"]["schemas"]
    examples = document["paths"]["/v1/commands"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    assert set(examples) == set(ACTIONS)
    for action in ACTIONS:
        operation = document["paths"][f"/v1/actions/{action}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]
        assert body["example"]["action"] == action
        assert body["example"] == examples[action]["value"]
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert components[name] == action_command_schema(action)
        assert set(components[name]["properties"]["args"].get("required", [])) <= \
            set(ACTION_DOCS[action].example), action
        assert ACTION_DOCS[action].example, f"{action} has no documented example"
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert list(response["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in components


def test_app_factory_builds_without_side_effects(tmp_path: Path) -> None:
    """``create_app`` opens nothing: the store is opened by the lifespan (STYLE.md point 14)."""
    settings_ = ApiSettings.from_env({"SPOTCHECK_HOME": str(tmp_path / "nowhere")})
    app = create_app(settings_)
    assert not (tmp_path / "nowhere").exists()
    assert app.openapi()["info"]["title"] == "spotcheck-ledger"
