"""WorkOS's OpenAPI spec (`../shared/workos-openapi/`) as reference data: operations, path
matching and response schemas. Used by the conformance tests and the compatibility page."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = (
    Path(os.environ.get("AUTHKEEP_SHARED_DIR", ROOT.parent / "shared"))
    / "workos-openapi"
    / "open-api-spec.yaml"
)
METHODS = ("get", "post", "put", "patch", "delete")
SPEC_URI = "urn:workos-openapi"


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the spec's template, e.g. /user_management/users/{id}
    operation_id: str
    summary: str
    tag: str
    pattern: re.Pattern[str]


def spec_available() -> bool:
    return SPEC_PATH.exists()


@functools.cache
def load_spec() -> dict[str, Any]:
    import yaml

    with SPEC_PATH.open() as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


@functools.cache
def operations() -> tuple[Operation, ...]:
    found = []
    for path, item in load_spec()["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=operation.get("operationId", ""),
                    summary=operation.get("summary", ""),
                    tag=(operation.get("tags") or ["other"])[0],
                    pattern=_pattern(path),
                )
            )
    # Literal segments win over parameters: /users/external_id/{x} before /users/{id}.
    return tuple(sorted(found, key=lambda o: (o.path.count("{"), -len(o.path))))


def match(method: str, path: str) -> Operation | None:
    for operation in operations():
        if operation.method == method.upper() and operation.pattern.match(path):
            return operation
    return None


def match_template(method: str, template: str) -> Operation | None:
    """The spec operation for one of our route templates (parameter names may differ)."""
    probe = re.sub(r"\{[^}]+\}", "x_probe_value", template)
    return match(method, probe)


def response_schema_pointer(operation: Operation, status: int) -> str | None:
    """A JSON pointer (under SPEC_URI) to the JSON schema of this status, if the spec has one."""
    responses = load_spec()["paths"][operation.path][operation.method.lower()]["responses"]
    key = str(status) if str(status) in responses else None
    if key is None:
        return None
    content = responses[key].get("content", {})
    if "application/json" not in content or "schema" not in content["application/json"]:
        return None

    def escape(segment: str) -> str:
        return segment.replace("~", "~0").replace("/", "~1")

    return "/" + "/".join(
        escape(s)
        for s in (
            "paths",
            operation.path,
            operation.method.lower(),
            "responses",
            key,
            "content",
            "application/json",
            "schema",
        )
    )


@functools.cache
def registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def validate(pointer: str, body: Any) -> list[str]:
    """Schema errors of `body` against the schema at `pointer`; empty when it validates."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=registry())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message[:300]}"
        for error in validator.iter_errors(body)
    ]
