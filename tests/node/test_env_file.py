"""The `.env` file `authkeep env --framework next|node --write` makes is all the official
`@workos-inc/node` SDK (v11, Node 22) needs: Node loads it with `--env-file`, builds its client as
authkit-nextjs does, lists users of `authkeep dev` and authenticates a session sealed by
`authkeep token mint --sealed` (tests/node/env_file.mjs)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from workos import WorkOSClient
from workos.organization_membership._resource import RoleSingle

from tests.cli.test_dev import DevServer, authkeep
from tests.node.test_node_sdk import HERE, NODE, SDK
from tests.support import free_port

SCRIPT = HERE / "env_file.mjs"


def node_with_env_file(env_file: Path, sealed_session: str) -> dict[str, object]:
    assert NODE.exists() and SDK.exists(), "run `npm ci --prefix tests/node` first"
    # Nothing from the developer's shell: the file is the whole configuration.
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AUTHKEEP_SEALED_SESSION": sealed_session,
    }
    done = subprocess.run(
        [str(NODE), f"--env-file={env_file}", str(SCRIPT)],
        cwd=HERE,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"env_file.mjs failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_node_sdk_runs_from_the_written_env_file(tmp_path: Path) -> None:
    dev = DevServer(tmp_path, free_port()).start()
    try:
        credentials = json.loads(authkeep("env", "--json", cwd=tmp_path).stdout)
        admin = WorkOSClient(
            api_key=credentials["api_key"],
            client_id=credentials["client_id"],
            base_url=credentials["base_url"],
        )
        user = admin.user_management.create_user(email="node-env@example.com")
        org = admin.organizations.create_organization(name="Node Env")
        admin.organization_membership.create_organization_membership(
            user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="admin")
        )
        sealed = authkeep(
            "token", "mint", "--user", user.id, "--org", org.id, "--sealed", cwd=tmp_path
        ).stdout.strip()

        for framework, redirect_name in (
            ("next", "NEXT_PUBLIC_WORKOS_REDIRECT_URI"),
            ("node", "WORKOS_REDIRECT_URI"),
        ):
            env_file = tmp_path / f"{framework}.env.local"
            env_file.write_text("# the app's own settings\nPORT=3000\n")
            authkeep("env", "--framework", framework, "--write", env_file.name, cwd=tmp_path)
            assert f"{redirect_name}=http://localhost:3000/callback" in env_file.read_text()

            out = node_with_env_file(env_file, sealed)
            assert str(out["node"]).startswith("v22."), out
            assert out["baseURL"] == credentials["base_url"]
            assert out["clientId"] == credentials["client_id"]
            assert out["jwksUrl"] == (
                f"{credentials['base_url']}/sso/jwks/{credentials['client_id']}"
            )
            assert out["emails"] == ["node-env@example.com"]
            assert out["redirectUri"] == "http://localhost:3000/callback"
            assert out["authenticated"] is True, out
            assert out["userId"] == user.id and out["organizationId"] == org.id
            assert out["role"] == "admin" and str(out["sessionId"]).startswith("session_")
    finally:
        dev.stop()
