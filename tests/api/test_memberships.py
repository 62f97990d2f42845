"""Organization memberships through the `workos` SDK (CONTRACT.md §6.4)."""

from __future__ import annotations

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import NotFoundError, UnprocessableEntityError
from workos.organization_membership._resource import RoleMultiple, RoleSingle


def test_membership_lifecycle(workos: WorkOSClient) -> None:
    user = workos.user_management.create_user(email="member@example.com", first_name="Mem")
    org = workos.organizations.create_organization(name="Members Ltd")
    membership = workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id
    )
    assert membership.id.startswith("om_")
    assert membership.status == "active"
    assert membership.role.slug == "member"
    assert [r.slug for r in membership.roles] == ["member"]
    assert membership.user.id == user.id and membership.user.first_name == "Mem"
    assert membership.organization_name == "Members Ltd"

    fetched = workos.organization_membership.get_organization_membership(membership.id)
    assert fetched.id == membership.id

    promoted = workos.organization_membership.update_organization_membership(
        membership.id, role=RoleSingle(role_slug="admin")
    )
    assert promoted.role.slug == "admin"

    inactive = workos.organization_membership.deactivate_organization_membership(membership.id)
    assert inactive.status == "inactive"
    assert (
        workos.organization_membership.list_organization_memberships(organization_id=org.id).data
        == []
    )
    listed = workos.organization_membership.list_organization_memberships(
        organization_id=org.id, statuses=["inactive"]
    )
    assert [m.id for m in listed.data] == [membership.id]

    active = workos.organization_membership.reactivate_organization_membership(membership.id)
    assert active.status == "active" and active.role.slug == "admin"  # roles kept

    workos.organization_membership.delete_organization_membership(membership.id)
    with pytest.raises(NotFoundError):
        workos.organization_membership.get_organization_membership(membership.id)


def test_create_on_inactive_membership_reactivates_it(workos: WorkOSClient) -> None:
    user = workos.user_management.create_user(email="back@example.com")
    org = workos.organizations.create_organization(name="Return")
    first = workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id
    )
    workos.organization_membership.deactivate_organization_membership(first.id)
    again = workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="admin")
    )
    assert again.id == first.id and again.status == "active" and again.role.slug == "admin"


def test_list_memberships_pages(workos: WorkOSClient) -> None:
    org = workos.organizations.create_organization(name="Many")
    ids = []
    for i in range(5):
        user = workos.user_management.create_user(email=f"m{i}@example.com")
        ids.append(
            workos.organization_membership.create_organization_membership(
                user_id=user.id, organization_id=org.id
            ).id
        )
    page = workos.organization_membership.list_organization_memberships(
        organization_id=org.id, limit=2
    )
    assert [m.id for m in page.data] == ids[::-1][:2]
    all_ids = [
        m.id
        for m in workos.organization_membership.list_organization_memberships(
            organization_id=org.id, limit=2
        ).auto_paging_iter()
    ]
    assert all_ids == ids[::-1]
    back = workos.organization_membership.list_organization_memberships(
        organization_id=org.id, limit=2, before=all_ids[2]
    )
    assert [m.id for m in back.data] == all_ids[:2]
    by_user = workos.organization_membership.list_organization_memberships(
        user_id=page.data[0].user_id
    )
    assert [m.id for m in by_user.data] == [page.data[0].id]


def test_unknown_role_and_multiple_roles(workos: WorkOSClient, http: httpx.Client) -> None:
    user = workos.user_management.create_user(email="roles@example.com")
    org = workos.organizations.create_organization(name="Roles Co")
    with pytest.raises(UnprocessableEntityError) as raised:
        workos.organization_membership.create_organization_membership(
            user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="owner")
        )
    assert raised.value.code == "invalid_role"
    with pytest.raises(UnprocessableEntityError) as raised:
        workos.organization_membership.create_organization_membership(
            user_id=user.id,
            organization_id=org.id,
            role=RoleMultiple(role_slugs=["admin", "member"]),
        )
    assert raised.value.code == "multiple_roles_not_enabled"


def test_deleting_a_user_removes_memberships(workos: WorkOSClient) -> None:
    user = workos.user_management.create_user(email="gone@example.com")
    org = workos.organizations.create_organization(name="Cascade")
    membership = workos.organization_membership.create_organization_membership(
        user_id=user.id, organization_id=org.id
    )
    workos.user_management.delete_user(user.id)
    with pytest.raises(NotFoundError):
        workos.organization_membership.get_organization_membership(membership.id)
