"""`authkeep token mint` against `authkeep dev`: a token the verifier accepts with the membership's
claims, a refresh token the token endpoint rotates, a sealed cookie that unseals; production
environments refuse."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from workos import WorkOSClient
from workos.organization_membership._resource import RoleSingle

from authkeep.integrations.sealing import unseal_data
from authkeep.integrations.verifier import TokenVerifier
from tests.cli.test_dev import DevServer, authkeep
from tests.support import free_port


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = DevServer(tmp_path_factory.mktemp("devmint"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def credentials(dev: DevServer) -> dict[str, str]:
    return json.loads(authkeep("env", "--json", cwd=dev.workdir).stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def workos(credentials: dict[str, str]) -> WorkOSClient:
    return WorkOSClient(
        api_key=credentials["api_key"],
        client_id=credentials["client_id"],
        base_url=credentials["base_url"],
    )


def test_minted_token_verifies_with_membership_claims_and_refreshes(
    dev: DevServer, credentials: dict[str, str], workos: WorkOSClient
) -> None:
    user = workos.user_management.create_user(email="cli-mint@example.com")
    org = workos.organizations.create_organization(name="Mint Co")
    workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="admin")
    )
    token = authkeep(
        "token", "mint", "--user", "cli-mint@example.com", "--org", org.id, cwd=dev.workdir
    ).stdout.strip()
    verifier = TokenVerifier(base_url=credentials["base_url"], client_id=credentials["client_id"])
    claims = verifier.verify(token)
    assert claims.user_id == user.id and claims.organization_id == org.id
    assert claims.role == "admin" and claims.roles == ("admin",)

    minted = json.loads(
        authkeep(
            "token", "mint", "--user", user.id, "--org", org.id, "--role", "member",
            "--ttl", "90", "--json", cwd=dev.workdir,
        ).stdout
    )  # fmt: skip
    claims = verifier.verify(minted["access_token"])
    assert claims.role == "member" and claims.raw["exp"] - claims.raw["iat"] == 90
    assert minted["claims"]["role"] == "member" and minted["session_id"] == claims.session_id

    refreshed = httpx.post(
        f"{credentials['base_url']}/user_management/authenticate",
        json={
            "grant_type": "refresh_token",
            "client_id": credentials["client_id"],
            "client_secret": credentials["api_key"],
            "refresh_token": minted["refresh_token"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    again = verifier.verify(refreshed.json()["access_token"])
    assert again.session_id == claims.session_id and again.role == "admin"  # the membership's


def test_sealed_cookie_unseals_with_the_dev_cookie_password(
    dev: DevServer, workos: WorkOSClient
) -> None:
    user = workos.user_management.create_user(email="sealed@example.com", first_name="Seal")
    sealed = authkeep(
        "token", "mint", "--user", user.id, "--sealed", cwd=dev.workdir
    ).stdout.strip()
    password = json.loads((dev.workdir / ".authkeep" / "dev.json").read_text())["cookie_password"]
    session = unseal_data(sealed, password)
    assert set(session) == {"accessToken", "refreshToken", "user", "authenticationMethod"}
    assert session["user"]["id"] == user.id and session["user"]["firstName"] == "Seal"


def test_refusals_explain_themselves(dev: DevServer, workos: WorkOSClient) -> None:
    authkeep("environments", "create", "live", cwd=dev.workdir)
    refused = authkeep(
        "token", "mint", "--user", "x@example.com", "--env", "live", cwd=dev.workdir, check=False
    )
    assert refused.returncode == 2
    assert "Refusing to mint a token for 'live': it is a production environment" in (refused.stderr)
    unknown = authkeep("token", "mint", "--user", "ghost@example.com", cwd=dev.workdir, check=False)
    assert unknown.returncode == 2 and "No user with the e-mail address" in unknown.stderr
    user = workos.user_management.create_user(email="lonely@example.com")
    org = workos.organizations.create_organization(name="Elsewhere")
    stranger = authkeep(
        "token", "mint", "--user", user.id, "--org", org.id, cwd=dev.workdir, check=False
    )
    assert stranger.returncode == 2 and "minting creates no membership" in stranger.stderr
    roleless = authkeep(
        "token", "mint", "--user", user.id, "--role", "admin", cwd=dev.workdir, check=False
    )
    assert roleless.returncode == 2 and "A role applies in an organization" in roleless.stderr
