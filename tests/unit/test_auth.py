import pytest

from llmops_common.auth import Authenticator, Role, create_key
from llmops_common.errors import InvalidArgument, PermissionDenied, Unauthenticated
from llmops_common.testing.fakes import InMemoryApiKeyStore


@pytest.fixture
def store():
    return InMemoryApiKeyStore()


async def test_created_key_authenticates_with_its_role_and_is_stored_hashed(store):
    record, key = await create_key(store, name="ci", role=Role.DEVELOPER, created_by="admin")
    auth = Authenticator(store, bootstrap_admin_key=None, cache_seconds=0)
    principal = await auth.authenticate(key)
    assert principal.role is Role.DEVELOPER and principal.name == "ci"
    secret = key.split("_", 2)[2]
    assert secret.encode() not in store.records[record.key_id].secret_hash


async def test_missing_malformed_wrong_and_revoked_keys_are_unauthenticated(store):
    record, key = await create_key(store, name="ci", role=Role.VIEWER, created_by="admin")
    auth = Authenticator(store, bootstrap_admin_key=None, cache_seconds=0)
    for bad in (None, "", "garbage", f"llmops_{record.key_id}_wrongsecret", "llmops_unknown_secret"):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(bad)
    await store.revoke(record.key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await auth.authenticate(key)


async def test_bootstrap_admin_key(store):
    auth = Authenticator(store, bootstrap_admin_key="llmops_bootstrap_s3cret", cache_seconds=0)
    assert (await auth.authenticate("llmops_bootstrap_s3cret")).role is Role.ADMIN
    with pytest.raises(Unauthenticated):
        await auth.authenticate("llmops_bootstrap_other")


def test_roles_are_ordered_and_require_names_both_roles():
    assert Role.VIEWER < Role.DEVELOPER < Role.SERVICE < Role.APPROVER < Role.ADMIN
    from llmops_common.auth import Principal

    with pytest.raises(PermissionDenied, match="has role viewer; this needs approver"):
        Principal("k", "bob", Role.VIEWER).require(Role.APPROVER)
    Principal("k", "ann", Role.ADMIN).require(Role.APPROVER)
    Principal("k", "evaluation", Role.SERVICE).require(Role.DEVELOPER)
    for above in (Role.APPROVER, Role.ADMIN):  # a service key cannot approve or administer
        with pytest.raises(PermissionDenied, match="has role service"):
            Principal("k", "evaluation", Role.SERVICE).require(above)
    with pytest.raises(InvalidArgument, match="unknown role"):
        Role.parse("superuser")
