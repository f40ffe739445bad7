"""The accounts admin writes through ``accounts.services``: mentor assignments
(their own pages and the mentors inline on a person's page) and accounts.
A refused assignment is a form error and nothing is stored."""

import pytest
from django import forms
from django.urls import reverse

from accounts import services
from accounts.models import MentorAssignment, Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    root = User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )
    client.force_login(root)
    return client


@pytest.fixture
def calls(monkeypatch):
    """Records every call to the assignment and account services (which
    still run)."""
    seen = []
    for name in ("assign_mentor", "unassign_mentor", "save_account", "set_active"):
        original = getattr(services, name)

        def spy(*, _name=name, _original=original, **kwargs):
            seen.append((_name, kwargs))
            return _original(**kwargs)

        monkeypatch.setattr(services, name, spy)
    return seen


def root() -> User:
    """The superuser ``admin_client`` signed in as."""
    return User.objects.get(email="root@example.test")


def _url(model, view, *args):
    return reverse(f"admin:accounts_{model._meta.model_name}_{view}", args=args)


def _page_errors(response) -> str:
    """Every error the admin shows on a re-rendered add or change page."""
    errors = [str(e) for e in response.context["errors"]]
    for inline in response.context["inline_admin_formsets"]:
        errors += [str(e) for e in inline.formset.errors if e]
        errors += [str(e) for e in inline.formset.non_form_errors()]
    return " ".join(errors)


# --- The assignment pages -------------------------------------------------------


def test_the_add_page_assigns_through_the_service(admin_client, calls, mentor, student):
    assert admin_client.get(_url(MentorAssignment, "add")).status_code == 200
    response = admin_client.post(
        _url(MentorAssignment, "add"), {"mentor": mentor.pk, "student": student.pk}
    )
    assert response.status_code == 302
    assignment = MentorAssignment.objects.get()
    assert (assignment.mentor, assignment.student) == (mentor, student)
    assert calls == [("assign_mentor", {"mentor": mentor, "student": student, "actor": root()})]
    # The admin's history names the stored row.
    history = admin_client.get(_url(MentorAssignment, "history", assignment.pk))
    assert history.status_code == 200
    assert b"Added." in history.content


@pytest.mark.parametrize(
    ("mentor_role", "student_role", "refusal"),
    [
        (Role.STUDENT, Role.STUDENT, "is not a mentor."),
        (Role.MENTOR, Role.MENTOR, "is not a student."),
        (Role.ADMIN, Role.STUDENT, "is not a mentor."),
        (Role.MENTOR, Role.ADMIN, "is not a student."),
    ],
)
def test_the_add_page_refuses_wrong_roles_with_a_form_error(
    admin_client, calls, make_user, mentor_role, student_role, refusal
):
    mentor, student = make_user(mentor_role), make_user(student_role)
    response = admin_client.post(
        _url(MentorAssignment, "add"), {"mentor": mentor.pk, "student": student.pk}
    )
    assert response.status_code == 200
    assert refusal in _page_errors(response)
    assert refusal in response.content.decode()
    assert not MentorAssignment.objects.exists()
    assert calls == []


def test_the_add_page_refuses_a_duplicate(admin_client, mentor, student):
    services.assign_mentor(mentor=mentor, student=student)
    response = admin_client.post(
        _url(MentorAssignment, "add"), {"mentor": mentor.pk, "student": student.pk}
    )
    assert response.status_code == 200
    assert "already exists" in _page_errors(response)
    assert MentorAssignment.objects.count() == 1


def test_assignments_are_removed_through_the_service(admin_client, calls, make_user):
    mentor = make_user(Role.MENTOR)
    one, two, three = (make_user(Role.STUDENT) for _ in range(3))
    first, second, third = (
        services.assign_mentor(mentor=mentor, student=s) for s in (one, two, three)
    )
    calls.clear()

    response = admin_client.post(_url(MentorAssignment, "delete", first.pk), {"post": "yes"})
    assert response.status_code == 302
    assert calls == [("unassign_mentor", {"mentor": mentor, "student": one, "actor": root()})]

    calls.clear()
    response = admin_client.post(
        _url(MentorAssignment, "changelist"),
        {"action": "delete_selected", "_selected_action": [second.pk, third.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted((c[0], c[1]["student"].email) for c in calls) == sorted(
        [("unassign_mentor", two.email), ("unassign_mentor", three.email)]
    )
    assert not MentorAssignment.objects.exists()


def test_an_assignment_is_not_re_pointed_in_place(admin_client, make_user):
    """Moving a student to another mentor is a removal and an addition, each
    checked by its service; the row itself is read-only."""
    mentor, other, student = make_user(Role.MENTOR), make_user(Role.MENTOR), make_user()
    assignment = services.assign_mentor(mentor=mentor, student=student)
    assert admin_client.get(_url(MentorAssignment, "change", assignment.pk)).status_code == 200
    response = admin_client.post(
        _url(MentorAssignment, "change", assignment.pk), {"mentor": other.pk, "student": student.pk}
    )
    assert response.status_code == 403
    assignment.refresh_from_db()
    assert assignment.mentor == mentor


def test_unassign_mentor_removes_only_that_pair(make_user):
    mentor, other = make_user(Role.MENTOR), make_user(Role.MENTOR)
    student = make_user()
    services.assign_mentor(mentor=mentor, student=student)
    services.assign_mentor(mentor=other, student=student)
    assert services.unassign_mentor(mentor=mentor, student=student) is True
    assert services.unassign_mentor(mentor=mentor, student=student) is False
    assert list(MentorAssignment.objects.values_list("mentor", flat=True)) == [other.pk]


# --- The mentors inline on a person's page --------------------------------------


def _form_data(response) -> dict:
    """What the browser posts back for the page's main form, unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    return data


def _inline_data(response, parent_pk, *, new_mentors=(), delete=()) -> dict:
    """The mentors inline as the browser posts it: the existing (read-only)
    rows, ``delete`` ticked for removal, and one new row per mentor."""
    (inline,) = response.context["inline_admin_formsets"]
    formset = inline.formset
    prefix = formset.prefix
    existing = list(formset.get_queryset()) if parent_pk else []
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(existing) + len(new_mentors)),
        f"{prefix}-INITIAL_FORMS": str(len(existing)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, assignment in enumerate(existing):
        data[f"{prefix}-{i}-id"] = assignment.pk
        data[f"{prefix}-{i}-student"] = parent_pk
        if assignment.mentor in delete:
            data[f"{prefix}-{i}-DELETE"] = "on"
    for j, mentor in enumerate(new_mentors, start=len(existing)):
        data[f"{prefix}-{j}-id"] = ""
        data[f"{prefix}-{j}-student"] = parent_pk or ""
        data[f"{prefix}-{j}-mentor"] = mentor.pk
    return data


def _post_change(client, user, **inline):
    url = _url(User, "change", user.pk)
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**_form_data(page), **_inline_data(page, user.pk, **inline)})


def test_the_inline_assigns_through_the_service(admin_client, calls, make_user):
    student, mentor = make_user(), make_user(Role.MENTOR)
    response = _post_change(admin_client, student, new_mentors=[mentor])
    assert response.status_code == 302, _page_errors(response)
    assert list(MentorAssignment.objects.values_list("mentor", "student")) == [
        (mentor.pk, student.pk)
    ]
    assert ("assign_mentor", {"mentor": mentor, "student": student, "actor": root()}) in calls


@pytest.mark.parametrize(
    ("person_role", "mentor_role", "refusal"),
    [
        (Role.STUDENT, Role.STUDENT, "is not a mentor."),
        (Role.STUDENT, Role.ADMIN, "is not a mentor."),
        (Role.MENTOR, Role.MENTOR, "is not a student."),
    ],
)
def test_the_inline_refuses_wrong_roles_with_a_form_error(
    admin_client, calls, make_user, person_role, mentor_role, refusal
):
    person, mentor = make_user(person_role, name="Before"), make_user(mentor_role)
    url = _url(User, "change", person.pk)
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, person.pk, new_mentors=[mentor])}
    data["display_name"] = "After"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert refusal in _page_errors(response)
    assert refusal in response.content.decode()
    assert not MentorAssignment.objects.exists()
    person.refresh_from_db()
    assert person.display_name == "Before"  # the whole page was refused
    assert calls == []


def test_the_inline_removes_through_the_service(admin_client, calls, make_user):
    student = make_user()
    keep, drop = make_user(Role.MENTOR), make_user(Role.MENTOR)
    services.assign_mentor(mentor=keep, student=student)
    services.assign_mentor(mentor=drop, student=student)
    calls.clear()
    response = _post_change(admin_client, student, delete=[drop])
    assert response.status_code == 302, _page_errors(response)
    assert list(MentorAssignment.objects.values_list("mentor", flat=True)) == [keep.pk]
    assert ("unassign_mentor", {"mentor": drop, "student": student, "actor": root()}) in calls
    assert not [c for c in calls if c[0] == "assign_mentor"]


def test_existing_rows_are_read_only_in_the_inline(admin_client, make_user):
    student, mentor, other = make_user(), make_user(Role.MENTOR), make_user(Role.MENTOR)
    services.assign_mentor(mentor=mentor, student=student)
    url = _url(User, "change", student.pk)
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, student.pk)}
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    data[f"{prefix}-0-mentor"] = other.pk  # a crafted post: not a field on the page
    assert admin_client.post(url, data).status_code == 302
    assert list(MentorAssignment.objects.values_list("mentor", flat=True)) == [mentor.pk]


def _add_user_data(role, email):
    return {
        "email": email,
        "display_name": "New Person",
        "role": role,
        "password1": "a-Long-pass-9876",
        "password2": "a-Long-pass-9876",
    }


def test_the_add_person_page_assigns_mentors_through_the_service(admin_client, calls, make_user):
    mentor = make_user(Role.MENTOR)
    page = admin_client.get(_url(User, "add"))
    assert page.status_code == 200
    data = {
        **_add_user_data(Role.STUDENT, "new.student@example.test"),
        **_inline_data(page, None, new_mentors=[mentor]),
    }
    response = admin_client.post(_url(User, "add"), data)
    assert response.status_code == 302, _page_errors(response)
    student = User.objects.get(email="new.student@example.test")
    assert student.check_password("a-Long-pass-9876")
    assert list(MentorAssignment.objects.values_list("mentor", "student")) == [
        (mentor.pk, student.pk)
    ]
    assert [c[0] for c in calls] == ["save_account", "assign_mentor"]


def test_the_add_person_page_refuses_a_mentor_for_a_mentor(admin_client, calls, make_user):
    mentor = make_user(Role.MENTOR)
    page = admin_client.get(_url(User, "add"))
    data = {
        **_add_user_data(Role.MENTOR, "new.mentor@example.test"),
        **_inline_data(page, None, new_mentors=[mentor]),
    }
    response = admin_client.post(_url(User, "add"), data)
    assert response.status_code == 200
    assert "is not a student." in _page_errors(response)
    assert not User.objects.filter(email="new.mentor@example.test").exists()
    assert not MentorAssignment.objects.exists()
    assert calls == []


# --- Accounts ---------------------------------------------------------------------


def test_deactivating_on_the_change_page_goes_through_set_active(admin_client, calls, student):
    url = _url(User, "change", student.pk)
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, student.pk)}
    del data["is_active"]
    assert admin_client.post(url, data).status_code == 302
    student.refresh_from_db()
    assert not student.is_active
    assert ("set_active", {"user": student, "active": False}) in calls

    calls.clear()
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, student.pk), "display_name": "Renamed"}
    assert admin_client.post(url, data).status_code == 302
    student.refresh_from_db()
    assert student.display_name == "Renamed" and not student.is_active
    assert [c[0] for c in calls] == ["save_account"]


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("Sam\x1b[2J", "a control character (U+001B"),
        ("\u202enmdA", "a bidirectional control (U+202E"),
        ("Sam\nStudent", "a line break or tab (U+000A"),
        ("Sam\ufdd0", "a noncharacter (U+FDD0"),
    ],
)
def test_the_admin_refuses_display_names_the_text_rule_refuses(
    admin_client, calls, student, name, named
):
    """On the change page and the add page alike: a form error naming the
    field, nothing stored."""
    url = _url(User, "change", student.pk)
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, student.pk), "display_name": name}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert f"display_name must not contain {named}" in _page_errors(response)
    student.refresh_from_db()
    assert student.display_name != name

    page = admin_client.get(_url(User, "add"))
    data = {
        **_add_user_data(Role.STUDENT, "new.student@example.test"),
        **_inline_data(page, None),
        "display_name": name,
    }
    response = admin_client.post(_url(User, "add"), data)
    assert response.status_code == 200
    assert f"display_name must not contain {named}" in _page_errors(response)
    assert not User.objects.filter(email="new.student@example.test").exists()
    assert calls == []


# --- Who may change whom, and the audit log ---------------------------------------


@pytest.fixture
def staff_editor(client, make_user):
    """A staff member who may view and change accounts, and is no superuser."""
    from django.contrib.auth.models import Permission

    editor = make_user(Role.MENTOR, is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user"]
        )
    )
    client.force_login(editor)
    return client, editor


def test_a_staff_editor_hands_out_no_privilege_nor_the_admin_role(staff_editor, student):
    client, editor = staff_editor
    url = _url(User, "change", student.pk)
    page = client.get(url)
    # Privileges and the admin role are not offered to them at all...
    assert 'name="is_superuser"' not in page.content.decode()
    assert '<option value="admin"' not in page.content.decode()
    # ...and the same fields posted by hand change nothing.
    data = _form_data(page)  # no mentors inline: they may not change assignments
    response = client.post(url, {**data, "is_superuser": "on", "role": Role.ADMIN})
    assert response.status_code == 200 and "valid choice" in _page_errors(response)
    forged = {**data, "is_superuser": "on", "is_staff": "on", "display_name": "Sam S."}
    assert client.post(url, forged).status_code == 302
    student.refresh_from_db()
    assert (student.display_name, student.role) == ("Sam S.", Role.STUDENT)
    assert not (student.is_superuser or student.is_staff)
    # Their own account holds a privilege (staff): theirs to look at only.
    own = _url(User, "change", editor.pk)
    assert client.get(own).status_code == 200
    assert (
        client.post(own, {**_form_data(client.get(own)), "is_superuser": "on"}).status_code == 403
    )
    editor.refresh_from_db()
    assert not editor.is_superuser


def test_a_staff_editor_leaves_admins_and_staff_alone(staff_editor, make_user, student):
    client, editor = staff_editor
    admin_person = make_user(Role.ADMIN)
    url = _url(User, "change", admin_person.pk)
    assert client.get(url).status_code == 200  # they may look
    data = _form_data(client.get(url))
    assert client.post(url, {**data, "role": Role.STUDENT}).status_code == 403
    changelist = _url(User, "changelist")
    selected = {"action": "deactivate", "_selected_action": [admin_person.pk, student.pk]}
    response = client.post(changelist, selected, follow=True)
    assert "1 left as they were" in response.content.decode()
    admin_person.refresh_from_db()
    student.refresh_from_db()
    assert admin_person.is_active and not student.is_active


def test_account_changes_and_assignments_are_audited(admin_client, student, mentor):
    from messaging.models import AuditAction, AuditLog

    url = _url(User, "change", student.pk)
    page = admin_client.get(url)
    data = {**_form_data(page), **_inline_data(page, student.pk)}
    assert (
        admin_client.post(url, {**data, "role": Role.MENTOR, "is_staff": "on"}).status_code == 302
    )
    row = AuditLog.objects.get(action=AuditAction.ACCOUNT_CHANGE)
    assert (row.actor, row.target_user_id) == (root(), student.pk)
    assert row.details == {
        "changed": ["is_staff", "role"],
        "before": {"role": "student", "is_staff": False},
        "after": {"role": "mentor", "is_staff": True},
    }

    admin_client.post(
        _url(User, "changelist"), {"action": "deactivate", "_selected_action": [mentor.pk]}
    )
    row = AuditLog.objects.filter(action=AuditAction.ACCOUNT_CHANGE, target_user_id=mentor.pk).get()
    assert row.details["after"] == {"is_active": False} and row.actor == root()

    other = User.objects.create_user(email="s2@example.test", password="x" * 12, display_name="S2")
    admin_client.post(_url(MentorAssignment, "add"), {"mentor": mentor.pk, "student": other.pk})
    row = AuditLog.objects.get(action=AuditAction.MENTOR_ASSIGN)
    assert (row.actor, row.target_user_id, row.details) == (
        root(),
        other.pk,
        {"mentor_id": str(mentor.pk)},
    )
