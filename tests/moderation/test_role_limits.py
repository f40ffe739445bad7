"""Limits per role (RoleLimits, edited in the admin): a role's row overrides
the deployment's settings field by field, every process sees a save at once
(the cached rows' version is replaced, and a reader racing the save cannot
bring the old rows back), the send bucket, the socket count and the group
size each hold people to their role's figures, and no figure, saved or
stored, can break or lock out a role's sends."""

import math
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role, User
from messaging import limits, services
from messaging.errors import AccessDenied, InvalidInput, RateLimited
from messaging.models import AuditAction, AuditLog, RoleLimits
from messaging.moderation.services.limits import set_role_limits
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401 (socket fixtures)
from tests.realtime.test_backends import make_limiter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_rows():
    """The cache outlives a test's rolled-back rows: start and end without them."""
    limits.forget_role_limits()
    yield
    limits.forget_role_limits()


@pytest.fixture
def platform_admin(db):
    return User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )


def set_limits(actor, role, **values):
    return set_role_limits(
        actor=actor,
        role=role,
        values={field: values.get(field) for field in limits.ROLE_LIMIT_FIELDS},
    )


def test_a_role_row_overrides_the_settings_field_by_field(
    platform_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.STUDENT, send_burst=2, send_rate_per_second=0.5)
    assert limits.send_burst(Role.STUDENT) == 2
    assert limits.send_rate_per_second(Role.STUDENT) == 0.5
    # Blank fields and roles without a row keep the deployment's setting.
    assert limits.max_group_members(Role.STUDENT) == settings.PARLEY["MAX_GROUP_MEMBERS"]
    assert limits.send_burst(Role.MENTOR) == settings.PARLEY["SEND_BURST"]
    assert limits.send_burst() == settings.PARLEY["SEND_BURST"]


def test_a_save_drops_the_cached_rows_for_every_process(
    platform_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.STUDENT, send_burst=2)
    assert limits.send_burst(Role.STUDENT) == 2  # now cached
    # A change behind the service's back is not seen: the rows come from the cache…
    RoleLimits.objects.filter(role=Role.STUDENT).update(send_burst=9)
    assert limits.send_burst(Role.STUDENT) == 2
    # …and a save through the service drops them once it commits.
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.STUDENT, send_burst=3)
    assert limits.send_burst(Role.STUDENT) == 3


def test_saving_limits_is_audited_and_for_platform_admins_only(
    platform_admin, mentor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.MENTOR, max_group_members=40)
        set_limits(platform_admin, Role.MENTOR, max_group_members=30)
    rows = list(AuditLog.objects.filter(action=AuditAction.LIMITS_CHANGE).order_by("id"))
    assert [(r.actor_id, r.details["role"]) for r in rows] == [(platform_admin.pk, "mentor")] * 2
    assert rows[1].details["old"]["max_group_members"] == 40
    assert rows[1].details["new"]["max_group_members"] == 30
    with pytest.raises(AccessDenied):
        set_limits(mentor, Role.MENTOR, max_group_members=500)
    assert limits.max_group_members(Role.MENTOR) == 30
    assert AuditLog.objects.filter(
        actor=mentor,
        action=AuditAction.ACCESS_DENIED,
        details__attempted=AuditAction.LIMITS_CHANGE,
    ).exists()


def test_the_admin_form_saves_through_the_service(client, platform_admin):
    client.force_login(platform_admin)
    response = client.post(
        reverse("admin:messaging_rolelimits_add"),
        {"role": Role.STUDENT, "send_burst": "4", "send_rate_per_second": ""},
    )
    assert response.status_code == 302
    assert RoleLimits.objects.get(role=Role.STUDENT).send_burst == 4
    row = AuditLog.objects.get(action=AuditAction.LIMITS_CHANGE)
    assert row.details["new"]["send_burst"] == 4 and row.details["old"]["send_burst"] is None


def test_a_stricter_student_is_rate_limited_sooner_than_a_mentor(
    platform_admin, group_of_two, django_capture_on_commit_callbacks
):
    mentor, student, group = group_of_two
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.STUDENT, send_burst=2, send_rate_per_second=0.01)

    def codes(user):
        client = APIClient()
        client.force_login(user)
        return [
            client.post(
                f"/api/conversations/{group.pk}/messages/",
                {"client_id": str(uuid.uuid4()), "content": f"n{n}"},
                format="json",
            ).status_code
            for n in range(3)
        ]

    assert settings.PARLEY["SEND_BURST"] >= 3
    assert codes(student) == [201, 201, 429]
    assert codes(mentor) == [201, 201, 201]


@pytest.fixture
def group_of_two(assigned):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Limits"
    )
    return mentor, student, group


def test_the_group_size_is_the_role_of_whoever_grows_the_group(
    platform_admin, make_user, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.MENTOR, max_group_members=3)
    colleagues = [make_user(Role.MENTOR) for _ in range(3)]
    with pytest.raises(InvalidInput, match="at most 3 members"):
        services.create_conversation(
            creator=mentor, kind="group", participants=colleagues, title="Too big"
        )
    group = services.create_conversation(
        creator=mentor, kind="group", participants=colleagues[:2], title="Just right"
    )
    with pytest.raises(InvalidInput, match="at most 3 members"):
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[student])
    # An admin's role has no such row: the deployment's limit applies.
    services.add_participants(actor=platform_admin, conversation_id=group.pk, users=[student])
    assert group.participants.active().count() == 4


@pytest.mark.django_db(transaction=True)
async def test_sockets_per_person_follow_the_role(open_socket, make_user):  # noqa: F811
    root = await sync_to_async(User.objects.create_superuser)(
        email="root2@example.test", password="root-password-1", display_name="Root"
    )
    student = await sync_to_async(make_user)(Role.STUDENT)
    mentor = await sync_to_async(make_user)(Role.MENTOR)
    await sync_to_async(set_limits)(root, Role.STUDENT, max_sockets_per_user=1, send_burst=3)
    first = await open_socket(student)
    # The hello tells the client its own bucket: the role's burst, the setting's rate.
    assert first.hello["limits"]["send_burst"] == 3
    assert first.hello["limits"]["send_rate_per_second"] == settings.PARLEY["SEND_RATE_PER_SECOND"]
    second = await open_socket(student, expect_hello=False)
    error = await second.recv()
    assert error["type"] == "error" and error["code"] == "too_many_connections"
    assert (await second.communicator.receive_output(timeout=3))["code"] == 4429
    mentors = [await open_socket(mentor), await open_socket(mentor)]
    assert mentors[0].hello["limits"]["send_burst"] == settings.PARLEY["SEND_BURST"]
    assert (await mentors[1].request({"type": "ping"}))["type"] == "pong"
    assert (await first.request({"type": "ping"}))["type"] == "pong"
    for socket in [first, *mentors]:
        await socket.close()


# --- Safe figures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("send_rate_per_second", 0),
        ("send_rate_per_second", -1.5),
        ("send_rate_per_second", 0.001),
        ("send_rate_per_second", math.nan),
        ("send_rate_per_second", math.inf),
        ("send_burst", 0),
        ("send_burst", -2),
        ("max_sockets_per_user", 0),
        ("max_group_members", 1),
        ("max_group_members", 2.5),
    ],
)
def test_the_service_refuses_a_figure_that_would_break_or_lock_out_sends(
    platform_admin, field, value
):
    with pytest.raises(InvalidInput, match=field):
        set_limits(platform_admin, Role.STUDENT, **{field: value})
    assert not RoleLimits.objects.exists()
    assert not AuditLog.objects.filter(action=AuditAction.LIMITS_CHANGE).exists()


def test_the_least_figures_are_accepted(platform_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(
            platform_admin,
            Role.STUDENT,
            send_rate_per_second=0.01,
            send_burst=1,
            max_sockets_per_user=1,
            max_group_members=2,
        )
    assert limits.send_allowance(Role.STUDENT) == limits.SendAllowance(rate=0.01, burst=1)
    assert limits.max_sockets_per_user(Role.STUDENT) == 1
    assert limits.max_group_members(Role.STUDENT) == 2


def test_the_admin_form_refuses_them_beside_the_fields(client, platform_admin):
    client.force_login(platform_admin)
    response = client.post(
        reverse("admin:messaging_rolelimits_add"),
        {
            "role": Role.STUDENT,
            "send_rate_per_second": "0",
            "send_burst": "0",
            "max_sockets_per_user": "0",
            "max_group_members": "1",
        },
    )
    assert response.status_code == 200  # the form again, not a redirect
    errors = response.context["adminform"].form.errors
    assert set(errors) == {
        "send_rate_per_second",
        "send_burst",
        "max_sockets_per_user",
        "max_group_members",
    }
    assert not RoleLimits.objects.exists()
    assert not AuditLog.objects.filter(action=AuditAction.LIMITS_CHANGE).exists()


def test_the_model_validates_the_minimums():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        RoleLimits(
            role=Role.STUDENT,
            send_rate_per_second=0,
            send_burst=0,
            max_sockets_per_user=0,
            max_group_members=1,
        ).full_clean()
    assert set(raised.value.message_dict) == set(limits.ROLE_LIMIT_FIELDS)


def test_a_bad_stored_row_is_made_safe_when_read():
    """A row written behind the service's back (raw SQL, a queryset update)
    is raised to the minimums, or ignored when not a number at all."""
    RoleLimits.objects.create(role=Role.STUDENT)
    RoleLimits.objects.filter(role=Role.STUDENT).update(
        send_rate_per_second=-1, send_burst=0, max_sockets_per_user=0, max_group_members=0
    )
    RoleLimits.objects.create(role=Role.MENTOR)
    RoleLimits.objects.filter(role=Role.MENTOR).update(send_rate_per_second=math.nan)
    assert limits.send_allowance(Role.STUDENT) == limits.SendAllowance(rate=0.01, burst=1)
    assert limits.max_sockets_per_user(Role.STUDENT) == 1
    assert limits.max_group_members(Role.STUDENT) == 2
    assert limits.send_rate_per_second(Role.MENTOR) == settings.PARLEY["SEND_RATE_PER_SECOND"]


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_bad_stored_row_cannot_break_a_bucket(kind):
    """A zero rate once divided by zero in the memory bucket and made Redis's
    EXPIRE fail; a zero burst refused every send."""
    RoleLimits.objects.create(role=Role.STUDENT)
    RoleLimits.objects.filter(role=Role.STUDENT).update(send_rate_per_second=0, send_burst=0)
    limiter = make_limiter(kind)
    user = str(uuid.uuid4())
    allowance = limits.send_allowance(Role.STUDENT)
    limiter.take_sync(user, allowance=allowance)  # the one token of a burst of 1
    with pytest.raises(RateLimited) as refused:
        limiter.take_sync(user, allowance=allowance)
    assert refused.value.retry_after > 0


def test_a_bad_stored_row_cannot_break_a_send(group_of_two):
    mentor, student, group = group_of_two
    RoleLimits.objects.create(role=Role.STUDENT)
    RoleLimits.objects.filter(role=Role.STUDENT).update(send_rate_per_second=0, send_burst=0)
    limits.forget_role_limits()  # making the group cached the rows before the update
    client = APIClient()
    client.force_login(student)
    codes = [
        client.post(
            f"/api/conversations/{group.pk}/messages/",
            {"client_id": str(uuid.uuid4()), "content": f"n{n}"},
            format="json",
        ).status_code
        for n in range(2)
    ]
    assert codes == [201, 429]


# --- A reader racing a save --------------------------------------------------------


def test_a_reader_racing_a_save_cannot_cache_the_old_rows(
    platform_admin, monkeypatch, django_capture_on_commit_callbacks
):
    """The reader misses the cache and reads the rows; the save commits and
    drops the cached rows; only then does the reader store what it read.
    The next lookup must see the save, not the reader's old rows."""
    with django_capture_on_commit_callbacks(execute=True):
        set_limits(platform_admin, Role.STUDENT, send_burst=2)
    real_cache = limits.cache
    raced = []

    class SaveBeforeTheReaderStores:
        """The Django cache, except that the first store of the rows waits
        for a save to commit (the interleaving, made deterministic)."""

        def __getattr__(self, name):
            return getattr(real_cache, name)

        def set(self, key, value, *args, **kwargs):
            if isinstance(value, dict) and not raced:
                raced.append(value)
                with django_capture_on_commit_callbacks(execute=True):
                    set_limits(platform_admin, Role.STUDENT, send_burst=3)
            return real_cache.set(key, value, *args, **kwargs)

    monkeypatch.setattr(limits, "cache", SaveBeforeTheReaderStores())
    assert limits.send_burst(Role.STUDENT) == 2  # the reader: rows read before the save
    assert raced and raced[0][Role.STUDENT]["send_burst"] == 2
    assert limits.send_burst(Role.STUDENT) == 3  # every later lookup: the save
    monkeypatch.setattr(limits, "cache", real_cache)
    assert limits.send_burst(Role.STUDENT) == 3
