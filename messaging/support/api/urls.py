"""The support API, mounted at ``api/`` before messaging's (whose last route
answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.support.api import views

urlpatterns = [
    path(
        "support/categories/",
        views.SupportCategoryListView.as_view(),
        name="api-support-categories",
    ),
    path("support/requests/", views.SupportRequestListView.as_view(), name="api-support-requests"),
    path(
        "support/requests/bulk/", views.SupportBulkView.as_view(), name="api-support-requests-bulk"
    ),
    path(
        "support/requests/<uuid:request_id>/",
        views.SupportRequestDetailView.as_view(),
        name="api-support-request",
    ),
    path(
        "support/requests/<uuid:request_id>/status/",
        views.SupportStatusView.as_view(),
        name="api-support-request-status",
    ),
    path(
        "support/requests/<uuid:request_id>/assign/",
        views.SupportAssignView.as_view(),
        name="api-support-request-assign",
    ),
    path(
        "support/requests/<uuid:request_id>/priority/",
        views.SupportPriorityView.as_view(),
        name="api-support-request-priority",
    ),
    path(
        "support/requests/<uuid:request_id>/rating/",
        views.SupportRatingView.as_view(),
        name="api-support-request-rating",
    ),
]
