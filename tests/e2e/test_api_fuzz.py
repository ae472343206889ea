"""The API fuzzed from its own OpenAPI document (schemathesis): whatever a client sends, valid or
not, the answer is never a server error. Runs as an authenticated customer and as an agent.

(schemathesis's pytest fixture integration does not run under pytest 9, so each operation's
hypothesis strategy is driven directly.)"""
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import as_user

# Operations that would end the fuzzing session itself, or change the seeded accounts' secrets.
SESSION_ENDING = r"^/api/v1/(auth/logout|me/password|me/email)$"


@pytest.fixture(scope="module")
def operations(system):
    spec = requests.get(system.url("/api/v1/openapi.json"), timeout=10).json()
    api = schemathesis.openapi.from_dict(spec).exclude(path_regex=SESSION_ENDING)
    return [result.ok() for result in api.get_all_operations()]


@pytest.fixture(scope="module")
def callers(system):
    """A customer and an agent of their own: the fuzzer changes profiles (PATCH /me), and the
    seeded accounts other tests rely on must keep theirs."""
    import uuid

    from .test_authorization import staff_made

    admin = as_user(system, "admin@helpdesk.example")
    run = uuid.uuid4().hex[:6]
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Fuzz Co {run}"}).json()["company_id"]
    return [staff_made(system, admin, f"fuzz-customer-{run}@example.com", role="customer", company_id=company),
            staff_made(system, admin, f"fuzz-agent-{run}@example.com", role="agent", departments=["networks"])]


def test_no_input_makes_the_api_fail_on_its_side(system, operations, callers):
    assert len(operations) > 25
    failures = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            for caller in callers:
                response = case.call(base_url=system.base_url, timeout=20, headers={
                    "Authorization": f"Bearer {caller.token}", "X-Forwarded-For": caller.ip})
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{response.text[:200]}")

        fuzz()
    assert failures == []
