"""Redirect URIs and CORS origins through the `workos` SDK (CONTRACT.md §6.17)."""

from __future__ import annotations

import pytest
from workos import WorkOSClient
from workos._errors import ConflictError, NotFoundError


def test_redirect_uris(workos: WorkOSClient) -> None:
    initial = workos.user_management.list_redirect_uris()
    assert initial.data == []
    first = workos.user_management.create_redirect_uri(uri="https://app.example.com/callback")
    assert first.id.startswith("redir_") and first.default is True
    second = workos.user_management.create_redirect_uri(uri="http://localhost:3000/callback")
    assert second.default is False
    again = workos.user_management.create_redirect_uri(uri="https://app.example.com/callback")
    assert again.id == first.id  # adding an existing URI changes nothing

    page = workos.user_management.list_redirect_uris(limit=1)
    assert [r.id for r in page.data] == [second.id] and page.list_metadata.after == second.id
    assert [
        r.uri for r in workos.user_management.list_redirect_uris(limit=1).auto_paging_iter()
    ] == [
        "http://localhost:3000/callback",
        "https://app.example.com/callback",
    ]

    workos.user_management.delete_redirect_uris(first.id)
    remaining = workos.user_management.list_redirect_uris().data
    assert [(r.uri, r.default) for r in remaining] == [("http://localhost:3000/callback", True)]
    with pytest.raises(NotFoundError):
        workos.user_management.delete_redirect_uris(first.id)


def test_cors_origins(workos: WorkOSClient) -> None:
    created = workos.user_management.create_cors_origin(origin="HTTPS://App.Example.com")
    assert created.origin == "https://app.example.com"
    with pytest.raises(ConflictError):
        workos.user_management.create_cors_origin(origin="https://app.example.com/")
    workos.user_management.create_cors_origin(origin="http://localhost:5173")
    origins = [o.origin for o in workos.user_management.list_cors_origins(order="asc").data]
    assert origins == ["https://app.example.com", "http://localhost:5173"]
