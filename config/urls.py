from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from notifications import urls as notification_urls

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    # Before messaging's API: its last pattern answers every other /api/ path.
    path("api/push/", include(notification_urls.api_urlpatterns)),
    path("api/", include("messaging.api.urls")),
    path("", include("notifications.urls")),
    path("", include("messaging.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
