"""The support pages (docs/api.md, "Pages outside the API")."""

from django.urls import path

from messaging.support import views

urlpatterns = [
    path("support/", views.support_home, name="support"),
    path("support/new/", views.new_request, name="support_new"),
    path("support/bulk/", views.bulk, name="support_bulk"),
    path("support/<uuid:request_id>/status/", views.change_status, name="support_status"),
    path("support/<uuid:request_id>/assign/", views.assign, name="support_assign"),
    path("support/<uuid:request_id>/priority/", views.set_priority, name="support_priority"),
    path("support/<uuid:request_id>/rating/", views.rate, name="support_rating"),
]
