from django.urls import path

from notifications import api, views

urlpatterns = [
    path("sw.js", views.service_worker, name="service_worker"),
    path("settings/push/", views.push_settings, name="push_settings"),
]

# Under /api/push/ (config/urls.py puts them before messaging's catch-all).
api_urlpatterns = [
    path(
        "subscriptions/",
        api.PushSubscriptionListView.as_view(),
        name="api-push-subscriptions",
    ),
    path(
        "subscriptions/<uuid:subscription_id>/",
        api.PushSubscriptionDetailView.as_view(),
        name="api-push-subscription",
    ),
    path("vapid-public-key/", api.VapidPublicKeyView.as_view(), name="api-push-vapid-key"),
]
