"""Organizations and organization domains through the `workos` SDK (CONTRACT.md §6.2, §6.3)."""

from __future__ import annotations

import httpx
import pytest
from workos import WorkOSClient
from workos._errors import ConflictError, NotFoundError
from workos.organizations.models.organization_domain_data import OrganizationDomainData


def test_organization_crud(workos: WorkOSClient) -> None:
    org = workos.organizations.create_organization(
        name="Acme",
        domain_data=[
            OrganizationDomainData(domain="acme.test", state="verified"),
            OrganizationDomainData(domain="acme-corp.test", state="pending"),
        ],
        metadata={"plan": "pro"},
        external_id="acme-1",
    )
    assert org.id.startswith("org_")
    assert sorted(d.domain for d in org.domains) == ["acme-corp.test", "acme.test"]
    assert {d.domain: d.state for d in org.domains}["acme.test"] == "verified"

    assert workos.organizations.get_organization(org.id).name == "Acme"
    assert workos.organizations.get_organization_by_external_id("acme-1").id == org.id

    updated = workos.organizations.update_organization(
        org.id,
        name="Acme Inc",
        domain_data=[OrganizationDomainData(domain="acme.test", state="verified")],
        stripe_customer_id="cus_123",
    )
    assert updated.name == "Acme Inc"
    assert [d.domain for d in updated.domains] == ["acme.test"]
    assert updated.metadata == {"plan": "pro"}

    workos.organizations.delete_organization(org.id)
    with pytest.raises(NotFoundError):
        workos.organizations.get_organization(org.id)


def test_list_organizations_pages_and_filters(workos: WorkOSClient) -> None:
    ids = [workos.organizations.create_organization(name=f"Team {i}").id for i in range(5)]
    workos.organizations.create_organization(
        name="Domain Holder",
        domain_data=[OrganizationDomainData(domain="holder.test", state="pending")],
    )
    page = workos.organizations.list_organizations(limit=2, after=None)
    assert len(page.data) == 2 and page.list_metadata.after is not None
    everything = [o.id for o in workos.organizations.list_organizations(limit=2).auto_paging_iter()]
    assert set(ids) < set(everything) and len(everything) == 6
    backwards = workos.organizations.list_organizations(limit=2, before=everything[2])
    assert [o.id for o in backwards.data] == everything[:2]
    by_domain = workos.organizations.list_organizations(domains=["holder.test"])
    assert [o.name for o in by_domain.data] == ["Domain Holder"]
    searched = workos.organizations.list_organizations(search="team 3")
    assert [o.id for o in searched.data] == [ids[3]]


def test_domain_taken_by_another_organization_conflicts(workos: WorkOSClient) -> None:
    workos.organizations.create_organization(
        name="First", domain_data=[OrganizationDomainData(domain="shared.test", state="pending")]
    )
    with pytest.raises(ConflictError):
        workos.organizations.create_organization(
            name="Second",
            domain_data=[OrganizationDomainData(domain="shared.test", state="pending")],
        )


def test_organization_domains_endpoints(workos: WorkOSClient) -> None:
    org = workos.organizations.create_organization(name="Domains")
    domain = workos.organization_domains.create_organization_domain(
        domain="Example.Test", organization_id=org.id
    )
    assert domain.domain == "example.test" and domain.state == "pending"
    assert domain.verification_strategy == "dns" and domain.verification_token
    assert workos.organization_domains.get_organization_domain(domain.id).id == domain.id
    assert [d.id for d in workos.organizations.get_organization(org.id).domains] == [domain.id]
    with pytest.raises(ConflictError):
        workos.organization_domains.create_organization_domain(
            domain="example.test", organization_id=org.id
        )
    workos.organization_domains.delete_organization_domain(domain.id)
    assert workos.organizations.get_organization(org.id).domains == []


def test_environment_roles(workos: WorkOSClient, http: httpx.Client) -> None:
    roles = workos.authorization.list_environment_roles()
    assert [r.slug for r in roles.data] == ["admin", "member"]
    org = workos.organizations.create_organization(name="Roles")
    org_roles = workos.authorization.list_organization_roles(org.id)
    assert [r.slug for r in org_roles.data] == ["admin", "member"]
    assert all(r.type == "EnvironmentRole" for r in org_roles.data)
